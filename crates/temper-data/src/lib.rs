//! Datasets for temper: validated readers of MNIST's IDX format (raw or gzip), CIFAR-10's
//! binary batches and torchvision-style image folders, the MNIST copy bundled into the binary,
//! seeded train/validation splits, and (feature `burn`, on by default) a Burn `Batcher`
//! producing normalized `[N, C, H, W]` tensors.
//!
//! - [`idx`]: the IDX container and gzip detection shared by the readers.
//! - `mnist`: [`read_mnist_dir`], [`parse_mnist`], [`bundled_mnist`], [`write_mnist_dir`].
//! - `cifar`: [`read_cifar10_dir`], [`parse_cifar10_batch`].
//! - `folder`: [`read_image_folder`] (one sub-folder per class, decoded in parallel) and
//!   [`decode_image`], the single-image decode/convert/resize step it is built on.
//! - `dataset`: the [`ImageData`] trait the trainer reads; [`ImageDataset`], `[N, C, H, W]`
//!   bytes with labels in memory; and [`DataSplits`].
//! - `split`: [`split_indices`], seeded train/validation splits.
//! - `batcher` (feature `burn`): `ImageBatcher` and `Normalization`.
//! - `mutation_tests` (tests only): a bounded, seeded mutation fuzzer over every parser; the
//!   cargo-fuzz targets live in `fuzz/` at the repository root.
//!
//! Every reader validates its input and returns a [`DataError`] naming the file at fault; none
//! panics on bad data.

#![warn(missing_docs)]

#[cfg(feature = "burn")]
mod batcher;
mod cifar;
mod dataset;
mod error;
mod folder;
#[cfg(test)]
mod folder_tests;
pub mod idx;
#[doc(hidden)]
pub mod memory_cap;
mod mnist;
#[cfg(test)]
mod mutation_tests;
mod split;

#[cfg(feature = "burn")]
pub use batcher::{ImageBatch, ImageBatcher, Normalization};
pub use cifar::{
    CIFAR10_CLASS_NAMES, CIFAR10_RECORD_BYTES, CIFAR10_SHAPE, parse_cifar10_batch,
    parse_class_names, read_cifar10_dir,
};
pub use dataset::{DataSplits, ImageData, ImageDataset, ImageItem, check_joinable};
pub use error::{DataError, Result};
pub use folder::{
    DecodedImage, FolderOptions, IMAGE_EXTENSIONS, MAX_IMAGE_SIDE, decode_image, luma_601,
    read_image_folder,
};
pub use mnist::{
    MNIST_CLASSES, bundled_mnist, parse_mnist, read_mnist_dir, read_mnist_pair, write_mnist_dir,
};
pub use split::{Split, split_indices};
