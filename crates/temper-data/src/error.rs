use std::path::PathBuf;

use crate::bounded::quote;

/// Everything that can go wrong while reading a dataset. Each variant names the file (or
/// folder) at fault so the binary can print one line the user can act on.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{path}: not a valid gzip stream: {source}")]
    Gzip {
        /// The file at fault.
        path: PathBuf,
        /// The decompressor's error.
        #[source]
        source: std::io::Error,
    },
    /// The first four bytes are not the IDX magic number expected for this file.
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        /// The file at fault.
        path: PathBuf,
        /// The magic number read.
        found: u32,
        /// The magic number this file should have.
        expected: u32,
        /// What the file should hold (`"images"`, `"labels"`).
        what: &'static str,
    },
    /// The file ends before the header or the data the header announces.
    #[error("{path}: truncated: header announces {expected} bytes, file has {actual}")]
    Truncated {
        /// The file at fault.
        path: PathBuf,
        /// Bytes the file needs: the header, or the header and the data it announces.
        expected: usize,
        /// Bytes the file holds.
        actual: usize,
    },
    /// The file holds more bytes than its header announces.
    #[error("{path}: {extra} unexpected bytes after the {expected} bytes the header announces")]
    TrailingBytes {
        /// The file at fault.
        path: PathBuf,
        /// Bytes the header announces (header included).
        expected: usize,
        /// Bytes beyond them.
        extra: usize,
    },
    /// A dimension has a value the format or the model cannot use.
    #[error("{path}: {message}")]
    BadDimensions {
        /// The file at fault.
        path: PathBuf,
        /// Which dimension is wrong, and why.
        message: String,
    },
    /// The images file and the labels file disagree on the number of samples.
    #[error(
        "{images} holds {n_images} images but {labels} holds {n_labels} labels; they must match"
    )]
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// The labels file.
        labels: PathBuf,
        /// Number of images.
        n_images: usize,
        /// Number of labels.
        n_labels: usize,
    },
    /// A label is not a valid class index.
    #[error("{path}: label {label} at index {index} is out of range 0..{num_classes}")]
    LabelOutOfRange {
        /// The file at fault.
        path: PathBuf,
        /// Index of the sample.
        index: usize,
        /// The label read.
        label: u8,
        /// Number of classes; valid labels are below it.
        num_classes: usize,
    },
    /// A dataset folder lacks one of the files it must hold.
    #[error("{dir}: missing {name} (also looked for {name}.gz)")]
    MissingFile {
        /// The dataset folder.
        dir: PathBuf,
        /// The file name looked for.
        name: &'static str,
    },
    /// A split was asked for with a fraction outside its range.
    #[error("valid_fraction must be in [0, 1), got {0}")]
    BadFraction(f64),
    /// A file of fixed-size records (CIFAR-10) whose size is not a positive multiple of the
    /// record size.
    #[error("{path}: {size} bytes is not a positive multiple of the {record}-byte record")]
    BadRecordSize {
        /// The file at fault.
        path: PathBuf,
        /// The file's size in bytes.
        size: usize,
        /// The record size in bytes.
        record: usize,
    },
    /// A class-names file (CIFAR-10 `batches.meta.txt`) that cannot be used.
    #[error("{path}: {message}")]
    BadClassNames {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An image that does not decode (corrupt, truncated, unsupported) or cannot be used.
    #[error("{path}: cannot decode image: {message}")]
    BadImage {
        /// The image file.
        path: PathBuf,
        /// The decoder's message, or why the image cannot be used.
        message: String,
    },
    /// An image folder without any class sub-folder.
    #[error("{dir}: no class folders (expected one sub-folder of images per class)")]
    NoClasses {
        /// The image folder.
        dir: PathBuf,
    },
    /// A class folder without any image file.
    #[error("{dir}: holds no images (png, jpg, jpeg or bmp)")]
    EmptyClass {
        /// The class folder.
        dir: PathBuf,
    },
    /// An image folder with a single class.
    #[error("{dir}: needs at least 2 classes, found only {}", quote(.class))]
    TooFewClasses {
        /// The image folder.
        dir: PathBuf,
        /// The only class found.
        class: String,
    },
    /// An image folder with more classes than an 8-bit label can index.
    #[error("{dir}: {found} classes, at most 256 are supported")]
    TooManyClasses {
        /// The image folder.
        dir: PathBuf,
        /// Number of classes found.
        found: usize,
    },
    /// A `test/` class folder that has no counterpart in `train/`.
    #[error("{path}: class {} is not among the classes of {train}", quote(.class))]
    UnknownTestClass {
        /// The `test/` class folder.
        path: PathBuf,
        /// Its class name.
        class: String,
        /// The `train/` folder.
        train: PathBuf,
    },
    /// The held-out test split took every image, leaving nothing to train on.
    #[error("{dir}: test_fraction {test_fraction} leaves no training image")]
    EmptyTrainSet {
        /// The image folder.
        dir: PathBuf,
        /// The fraction held out for testing.
        test_fraction: f64,
    },
    /// A file, or the data it declares, exceeds one of the documented size limits (or cannot
    /// hold what its header claims); refused before the payload is read.
    #[error("{path}: {message}")]
    TooLarge {
        /// The file (or folder) at fault.
        path: PathBuf,
        /// What is too large, its size and the limit.
        message: String,
    },
    /// Two files that must describe images of one shape disagree.
    #[error("{second}: images of {second_shape} do not match the {first_shape} images of {first}")]
    ShapeMismatch {
        /// The file read first, whose shape the other must match.
        first: PathBuf,
        /// Its image shape, `HxW` (or `CxHxW`).
        first_shape: String,
        /// The file that disagrees.
        second: PathBuf,
        /// Its image shape.
        second_shape: String,
    },
    /// A folder entry (class folder, `train/`, `test/` or image) that is a symbolic link to a
    /// place outside the dataset folder, refused unless `FolderOptions::follow_links` is set.
    #[error(
        "{path}: links to {target}, outside {root}; set follow_links to read data outside the folder"
    )]
    LinkOutsideRoot {
        /// The link.
        path: PathBuf,
        /// Where it leads (canonical path).
        target: PathBuf,
        /// The dataset folder (canonical path).
        root: PathBuf,
    },
    /// A decoded-cache folder that cannot be used: it holds files that are not the cache's
    /// (nothing there is touched), or it cannot be created, locked or written.
    #[error("{dir}: cannot use as the decoded cache: {message}")]
    CacheDir {
        /// The cache folder.
        dir: PathBuf,
        /// Why.
        message: String,
    },
    /// A reader option outside its range.
    #[error("{option} {message}")]
    BadOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong with its value.
        message: String,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DataError>;
