use std::path::PathBuf;

/// Why a chart or a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A chart could not be drawn or written.
    #[error("{}: cannot draw the chart: {message}", path.display())]
    Chart {
        /// The file the chart was for.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input file is not what a report can show (too large, not a PNG, not UTF-8, ...).
    #[error("{}: {message}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}
