//! The one error type of temper-compress.

use std::path::PathBuf;

/// What went wrong, in one line naming the setting, argument or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// A setting is out of range: `key` is the TOML key path, e.g. "prune.sparsity".
    #[error("{key}: {message}")]
    Invalid {
        /// The TOML key path of the setting.
        key: String,
        /// What is wrong with its value.
        message: String,
    },
    /// Arguments that do not fit each other (lengths, shapes).
    #[error("{0}")]
    BadInput(String),
    /// A quantized-weights file could not be written or read: io, too large, malformed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A [`CompressError::Invalid`] for `key`.
pub(crate) fn invalid(key: &str, message: impl Into<String>) -> CompressError {
    CompressError::Invalid {
        key: key.to_owned(),
        message: message.into(),
    }
}
