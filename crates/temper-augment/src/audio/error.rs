use std::path::PathBuf;

/// Everything that can go wrong in audio augmentation, in one line naming the file, the op
/// spec or the parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a WAV file hound can read, or writing failed.
    #[error("{path}: not a readable WAV file: {message}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's message.
        message: String,
    },
    /// A WAV file in a sample format this crate does not handle.
    #[error(
        "{path}: unsupported WAV sample format {found}; expected 8/16/24/32-bit integer PCM or \
         32-bit float"
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format found (`"12-bit Int"`, `"0 channels"`, ...).
        found: String,
    },
    /// An `--op` spec that does not parse.
    #[error("bad audio op {spec:?}: {message}")]
    Spec {
        /// The spec as given.
        spec: String,
        /// Why it does not parse.
        message: String,
    },
    /// A parameter out of its range, or a signal the operation cannot use.
    #[error("{what}: {message}")]
    Invalid {
        /// The parameter or signal at fault.
        what: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Result type of audio augmentation.
pub type Result<T> = std::result::Result<T, AudioError>;

pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> AudioError {
    AudioError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}
