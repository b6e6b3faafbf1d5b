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
    /// A file of fixed-size records (CIFAR-10) whose size is not a positive multiple of the
    /// record size.
    #[error("{path}: {size} bytes is not a positive multiple of the {record}-byte record")]
    BadRecordSize {
        path: PathBuf,
        size: usize,
        record: usize,
    },
    /// A class-names file (CIFAR-10 `batches.meta.txt`) that cannot be used.
    #[error("{path}: {message}")]
    BadClassNames { path: PathBuf, message: String },
    /// An image that does not decode (corrupt, truncated, unsupported) or cannot be used.
    #[error("{path}: cannot decode image: {message}")]
    BadImage { path: PathBuf, message: String },
    /// An image folder without any class sub-folder.
    #[error("{dir}: no class folders (expected one sub-folder of images per class)")]
    NoClasses { dir: PathBuf },
    /// A class folder without any image file.
    #[error("{dir}: holds no images (png, jpg, jpeg or bmp)")]
    EmptyClass { dir: PathBuf },
    /// An image folder with a single class.
    #[error("{dir}: needs at least 2 classes, found only {class:?}")]
    TooFewClasses { dir: PathBuf, class: String },
    /// An image folder with more classes than an 8-bit label can index.
    #[error("{dir}: {found} classes, at most 256 are supported")]
    TooManyClasses { dir: PathBuf, found: usize },
    /// A `test/` class folder that has no counterpart in `train/`.
    #[error("{path}: class {class:?} is not among the classes of {train}")]
    UnknownTestClass {
        path: PathBuf,
        class: String,
        train: PathBuf,
    },
    /// The held-out test split took every image, leaving nothing to train on.
    #[error("{dir}: test_fraction {test_fraction} leaves no training image")]
    EmptyTrainSet { dir: PathBuf, test_fraction: f64 },
    /// A reader option outside its range.
    #[error("{option} {message}")]
    BadOption {
        option: &'static str,
        message: String,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DataError>;
