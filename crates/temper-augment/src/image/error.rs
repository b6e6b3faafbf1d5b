use std::path::PathBuf;

/// Everything that can go wrong in image augmentation, in one line naming the file, the op or
/// the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ImageAugError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not an image the enabled codecs (PNG, JPEG, BMP) can decode or encode.
    #[error("{path}: not a readable PNG/JPEG/BMP image: {message}")]
    Codec { path: PathBuf, message: String },
    /// An op's parameters are out of range (`op` is its TOML name, e.g. `rotate`).
    #[error("op {op:?}: {message}")]
    Op { op: String, message: String },
    /// A batch-level argument (buffer shape, labels, mix settings) that does not fit.
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

pub type Result<T> = std::result::Result<T, ImageAugError>;

pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> ImageAugError {
    ImageAugError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}
