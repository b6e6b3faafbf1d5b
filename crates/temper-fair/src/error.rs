//! The one error type of temper-fair.

use std::path::PathBuf;

/// What went wrong, in one line naming the file, row or argument at fault.
#[derive(Debug, thiserror::Error)]
pub enum FairError {
    /// A groups file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A groups file is malformed or out of bounds.
    #[error("{path}:{line}: {message}")]
    BadGroupsFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0: the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An argument does not fit the others (lengths, indices, ranges).
    #[error("{0}")]
    BadInput(String),
}
