//! Datasets for temper: a validated reader of the MNIST IDX format (raw or gzip), the MNIST
//! copy bundled into the binary, seeded train/validation splits, and a Burn
//! [`Batcher`](burn::data::dataloader::batcher::Batcher) producing normalized `[N, C, H, W]`
//! tensors.
//!
//! Every reader validates its input and returns a [`DataError`] naming the file at fault; none
//! panics on bad data.

mod batcher;
mod dataset;
mod error;
pub mod idx;
mod mnist;
mod split;

pub use batcher::{ImageBatch, ImageBatcher, Normalization};
pub use dataset::{ImageDataset, ImageItem};
pub use error::{DataError, Result};
pub use mnist::{
    MNIST_CLASSES, MnistSplits, bundled_mnist, parse_mnist, read_mnist_dir, read_mnist_pair,
};
pub use split::{Split, split_indices};
