use std::path::PathBuf;

/// Everything that can go wrong in image augmentation, in one line naming the file, the op or
/// the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ImageAugError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not an image the enabled codecs (PNG, JPEG, BMP) can decode or encode.
    #[error("{path}: not a readable PNG/JPEG/BMP image: {message}")]
    Codec {
        /// The file.
        path: PathBuf,
        /// The codec's message.
        message: String,
    },
    /// An op's parameters are out of range (`op` is its TOML name, e.g. `rotate`).
    #[error("op {op:?}: {message}")]
    Op {
        /// The op's TOML name.
        op: String,
        /// Which parameter is out of range, and why.
        message: String,
    },
    /// An `[augment]` setting out of range or malformed; the message starts with its TOML key
    /// (`augment.ops[2].size = [0, 32] must be positive ...`).
    #[error("{message}")]
    Setting {
        /// The key, then what is wrong with its value.
        message: String,
    },
    /// A batch-level argument (buffer shape, labels, mix settings) that does not fit.
    #[error("{what}: {message}")]
    Invalid {
        /// The argument at fault.
        what: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Result type of image augmentation.
pub type Result<T> = std::result::Result<T, ImageAugError>;

pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> ImageAugError {
    ImageAugError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}
