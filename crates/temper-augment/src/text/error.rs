use std::path::PathBuf;

/// Everything that can go wrong in text augmentation. Each variant names the file or the
/// configuration field at fault, in one line.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a WordNet file or of a compact synonym table does not parse.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("eda config: `{field}` {message}")]
    Config {
        /// The [`EdaConfig`](super::EdaConfig) field at fault.
        field: &'static str,
        /// What is wrong with its value.
        message: String,
    },
}

/// Result type of text augmentation.
pub type Result<T> = std::result::Result<T, TextError>;
