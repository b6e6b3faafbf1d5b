use std::path::PathBuf;

/// Everything that can go wrong in text augmentation. Each variant names the file or the
/// configuration field at fault, in one line.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a WordNet file or of a compact synonym table does not parse.
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A configuration value is out of range.
    #[error("eda config: `{field}` {message}")]
    Config {
        field: &'static str,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, TextError>;
