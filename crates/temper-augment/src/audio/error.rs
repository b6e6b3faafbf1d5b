use std::path::PathBuf;

/// Everything that can go wrong in audio augmentation, in one line naming the file, the op
/// spec or the parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a WAV file hound can read, or writing failed.
    #[error("{path}: not a readable WAV file: {message}")]
    Wav { path: PathBuf, message: String },
    /// A WAV file in a sample format this crate does not handle.
    #[error(
        "{path}: unsupported WAV sample format {found}; expected 8/16/24/32-bit integer PCM or \
         32-bit float"
    )]
    Unsupported { path: PathBuf, found: String },
    /// An `--op` spec that does not parse.
    #[error("bad audio op {spec:?}: {message}")]
    Spec { spec: String, message: String },
    /// A parameter out of its range, or a signal the operation cannot use.
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

pub type Result<T> = std::result::Result<T, AudioError>;

pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> AudioError {
    AudioError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}
