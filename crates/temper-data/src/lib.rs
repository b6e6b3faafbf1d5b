//! Datasets for temper: validated readers of MNIST's IDX format (raw or gzip), CIFAR-10's
//! binary batches and torchvision-style image folders, the MNIST copy bundled into the binary,
//! seeded train/validation splits, and (feature `burn`, on by default) a Burn `Batcher`
//! producing normalized `[N, C, H, W]` tensors.
//!
//! - [`idx`]: the IDX container, gzip detection and the bounded whole-file reads shared by
//!   the readers.
//! - `mnist`: [`read_mnist_dir`], [`parse_mnist`], [`bundled_mnist`], [`write_mnist_dir`].
//! - `cifar`: [`read_cifar10_dir`], [`parse_cifar10_batch`].
//! - `folder`: [`read_image_folder`] (one sub-folder per class, decoded in parallel) and
//!   [`decode_image`], the single-image decode/convert/resize step it is built on;
//!   `image_limits`: [`image_dimensions`] and the bounds every image passes before decoding.
//! - `stream`: [`open_image_folder`], the same folders listed once and decoded on demand
//!   ([`StreamingFolder`]), for data sets larger than memory, optionally through a one-time
//!   decoded cache read by memory map ([`CacheOptions`], [`MAX_CACHE_MANIFEST_BYTES`]).
//! - `dataset`: the [`ImageData`] trait the trainer reads; [`ImageDataset`], `[N, C, H, W]`
//!   bytes with labels in memory; and [`DataSplits`].
//! - `split`: [`split_indices`], seeded train/validation splits.
//! - `batcher` (feature `burn`): `ImageBatcher` and `Normalization`.
//! - `bounded` (hidden from the docs): `quote` and `clip`, the one way every temper error
//!   echoes user text (a value, a path, a parser's message), at most a short prefix of it.
//! - `tests` (tests only): every reader's hostile inputs (`tests/hostile.rs`) and a bounded,
//!   seeded mutation fuzzer over every parser (`tests/mutation.rs`); the cargo-fuzz targets
//!   live in `fuzz/` at the repository root.
//!
//! Every reader validates its input and returns a [`DataError`] naming the file at fault; none
//! panics on bad data. None trusts a size it has not checked either: headers are read and
//! checked against the file's length and a documented ceiling before any payload is read
//! ([`idx::MAX_IDX_BYTES`], [`MAX_CIFAR_BATCH_BYTES`], [`MAX_IMAGE_PIXELS`],
//! [`MAX_FOLDER_BYTES`], ...), so a small or sparse hostile file fails fast in little memory.

#[cfg(feature = "burn")]
mod batcher;
#[doc(hidden)]
pub mod bounded;
mod cifar;
mod dataset;
mod error;
mod folder;
pub mod idx;
mod image_limits;
mod layout;
#[doc(hidden)]
pub mod memory_cap;
mod mnist;
#[doc(hidden)]
pub mod mutation;
mod split;
mod stream;

#[cfg(feature = "burn")]
pub use batcher::{ImageBatch, ImageBatcher, Normalization};
pub use cifar::{
    CIFAR10_CLASS_NAMES, CIFAR10_RECORD_BYTES, CIFAR10_SHAPE, MAX_CIFAR_BATCH_BYTES,
    MAX_CLASS_NAMES_BYTES, parse_cifar10_batch, parse_class_names, read_cifar10_dir,
};
pub use dataset::{DataSplits, ImageData, ImageDataset, ImageItem, check_joinable};
pub use error::{DataError, Result};
pub use folder::{
    DecodedImage, FolderOptions, IMAGE_EXTENSIONS, MAX_FOLDER_BYTES, MAX_IMAGE_SIDE, decode_image,
    decode_source, luma_601, read_image_folder,
};
pub use image_limits::{
    DECODE_MAX_ALLOC, MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS, image_dimensions,
};
pub use layout::{SourceImage, to_interleaved, to_planar};
pub use mnist::{
    MNIST_CLASSES, bundled_mnist, parse_mnist, read_mnist_dir, read_mnist_pair, write_mnist_dir,
};
pub use split::{Split, split_indices};
pub use stream::{
    CACHE_FORMAT_VERSION, CacheOptions, CacheStatus, MAX_CACHE_MANIFEST_BYTES, StreamOptions,
    StreamSplits, StreamingFolder, open_image_folder,
};

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
