use std::path::PathBuf;

/// Everything that can go wrong while reading a dataset. Each variant names the file (or
/// folder) at fault so the binary can print one line the user can act on.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{path}: not a valid gzip stream: {source}")]
    Gzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The first four bytes are not the IDX magic number expected for this file.
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        path: PathBuf,
        found: u32,
        expected: u32,
        what: &'static str,
    },
    /// The file ends before the header or the data the header announces.
    #[error("{path}: truncated: header announces {expected} bytes, file has {actual}")]
    Truncated {
        path: PathBuf,
        expected: usize,
        actual: usize,
    },
    /// The file holds more bytes than its header announces.
    #[error("{path}: {extra} unexpected bytes after the {expected} bytes the header announces")]
    TrailingBytes {
        path: PathBuf,
        expected: usize,
        extra: usize,
    },
    /// A dimension has a value the format or the model cannot use.
    #[error("{path}: {message}")]
    BadDimensions { path: PathBuf, message: String },
    /// The images file and the labels file disagree on the number of samples.
    #[error(
        "{images} holds {n_images} images but {labels} holds {n_labels} labels; they must match"
    )]
    CountMismatch {
        images: PathBuf,
        labels: PathBuf,
        n_images: usize,
        n_labels: usize,
    },
    /// A label is not a valid class index.
    #[error("{path}: label {label} at index {index} is out of range 0..{num_classes}")]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        label: u8,
        num_classes: usize,
    },
    /// A dataset folder lacks one of the files it must hold.
    #[error("{dir}: missing {name} (also looked for {name}.gz)")]
    MissingFile { dir: PathBuf, name: &'static str },
    /// A split was asked for with a fraction outside its range.
    #[error("valid_fraction must be in [0, 1), got {0}")]
    BadFraction(f64),
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DataError>;
