//! `[data]`: where a run's images come from and how they are split, and the source it names
//! parsed into a [`DataSource`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use temper_data::bounded::quote;
use temper_data::{FolderOptions, MAX_IMAGE_SIDE};

use crate::config::experiment::MAX_SOURCE_PATH_BYTES;
use crate::error::TrainError;

/// `[data]`: where the images come from and how they are split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// `"bundled"` (MNIST compiled into the binary), `"mnist:DIR"` (IDX files),
    /// `"cifar10:DIR"` (CIFAR-10's binary batches) or `"folder:DIR"` (one sub-folder of
    /// images per class, torchvision's `ImageFolder`).
    pub source: String,
    /// folder: `[height, width]` every image is resized to; default the first image's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<[usize; 2]>,
    /// folder: 1 (gray) or 3 (RGB); default 3 when any image has colour, else 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
    /// folder without `train/` and `test/`: the share of each class held out as the test
    /// split (always drawn with seed 0, so runs of any seed test on the same images).
    pub test_fraction: f64,
    /// Fraction of the training images held out for validation, in `[0, 1)`.
    pub valid_fraction: f64,
    /// Use only this many training images (drawn with the seed) before the validation split;
    /// 0 = all.
    pub limit_train: usize,
    /// folder: read class folders and images that are symbolic links leading outside the
    /// folder (default false: such a link is an error naming it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub follow_links: bool,
    /// How inputs are scaled: `fit` (default) fits each channel's mean and standard deviation
    /// on the training split; `imagenet` uses torchvision's ImageNet statistics, which
    /// networks pretrained there expect (RGB data only).
    #[serde(skip_serializing_if = "NormalizationChoice::is_fit")]
    pub normalization: NormalizationChoice,
    /// folder: `auto` (default: streamed when its images, decoded, would take more than
    /// [`stream_threshold`](crate::config::loading::stream_threshold)), `memory` (decoded
    /// whole before training) or `stream` (decoded as batches need them).
    #[serde(skip_serializing_if = "Loading::is_auto")]
    pub loading: Loading,
    /// Threads that read, decode and augment training images ahead of the step; default the
    /// cores available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Batches prepared ahead of the step (the bounded queue between the workers and the
    /// step); default 2.
    pub prefetch: usize,
    /// folder, streamed: a folder holding a decoded copy of the images (made once, reused by
    /// later runs and trials while the source files are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<PathBuf>,
    /// The short side, in pixels, the cache stores images at; default `8/7` of the larger side
    /// of `image_size` (256 for 224, torchvision's ImageNet ratio).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_short_side: Option<usize>,
    /// A CSV file naming each sample's group (`key,group`: a path under the folder for
    /// `folder:` sources, else a sample index, training set first; see `temper_fair::groups`):
    /// the test report then scores every group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<PathBuf>,
    /// The share of images that may fail to decode (skipped with a warning naming each) before
    /// a streamed run stops with an error; default 0.01.
    pub max_bad_fraction: f64,
}

/// `[data] loading`: whether a folder is decoded whole before training or streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loading {
    /// Streamed above a size threshold, in memory below it.
    #[default]
    Auto,
    /// Decoded whole into memory before the first step.
    Memory,
    /// Decoded by worker threads as batches need them.
    Stream,
}

impl Loading {
    fn is_auto(&self) -> bool {
        *self == Loading::Auto
    }
}

/// The most `[data] workers`: far more threads than cores only adds switching.
pub const MAX_WORKERS: usize = 256;

/// The most `[data] prefetch` batches: each holds a whole batch of images in memory.
pub const MAX_PREFETCH: usize = 64;

/// `[data] normalization`: where the per-channel mean and standard deviation come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormalizationChoice {
    /// Fitted on the training split.
    #[default]
    Fit,
    /// torchvision's ImageNet statistics, [`IMAGENET_MEAN`] and [`IMAGENET_STD`].
    Imagenet,
}

/// The per-channel (RGB) mean of ImageNet's training images in `[0, 1]`, as torchvision's
/// pretrained weights were trained with (`torchvision/transforms/_presets.py`,
/// `ImageClassification.mean`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];

/// The per-channel (RGB) standard deviation that goes with [`IMAGENET_MEAN`]
/// (`ImageClassification.std`).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl NormalizationChoice {
    fn is_fit(&self) -> bool {
        *self == NormalizationChoice::Fit
    }
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            source: "bundled".into(),
            image_size: None,
            channels: None,
            test_fraction: 0.2,
            valid_fraction: 0.1,
            limit_train: 0,
            follow_links: false,
            normalization: NormalizationChoice::Fit,
            loading: Loading::Auto,
            workers: None,
            prefetch: 2,
            cache: None,
            cache_short_side: None,
            max_bad_fraction: 0.01,
            groups: None,
        }
    }
}

/// Where the data of a run comes from, parsed from `[data] source`.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// `bundled`: the MNIST copy compiled into temper-data.
    Bundled,
    /// `mnist:DIR`: MNIST's four IDX files (raw or gzip) in a folder.
    Mnist(PathBuf),
    /// `cifar10:DIR`: CIFAR-10's binary batches.
    Cifar10(PathBuf),
    /// `folder:DIR`: one sub-folder of images per class, with the `[data]` folder options.
    Folder(PathBuf, FolderOptions),
}

impl DataSection {
    /// `[channels, height, width]` the section promises before any image is read: CIFAR-10's,
    /// a folder's `image_size` (gray unless `channels` says otherwise), MNIST's; `None` for a
    /// folder whose images set the size.
    pub(crate) fn declared_shape(&self) -> Option<[usize; 3]> {
        match (self.data_source(), self.image_size) {
            (Ok(DataSource::Cifar10(_)), _) => Some([3, 32, 32]),
            (Ok(DataSource::Folder(..)), Some([h, w])) => Some([self.channels.unwrap_or(1), h, w]),
            (Ok(DataSource::Folder(..)), None) => None,
            _ => Some([1, 28, 28]),
        }
    }

    /// Parses `source` (and, for a folder, its options).
    pub fn data_source(&self) -> Result<DataSource, TrainError> {
        self.check_loading()?;
        let folder_only = [
            ("image_size", self.image_size.is_some()),
            ("channels", self.channels.is_some()),
            ("loading", self.loading == Loading::Stream),
            ("cache", self.cache.is_some()),
            ("cache_short_side", self.cache_short_side.is_some()),
        ];
        if let Some((_, dir)) = self.source.split_once(':')
            && dir.len() > MAX_SOURCE_PATH_BYTES
        {
            return Err(TrainError::Config(format!(
                "data.source: the folder {} is longer than {MAX_SOURCE_PATH_BYTES} bytes (PATH_MAX)",
                quote(dir)
            )));
        }
        let source = match self.source.split_once(':') {
            None if self.source == "bundled" => DataSource::Bundled,
            Some(("mnist", dir)) if !dir.is_empty() => DataSource::Mnist(dir.into()),
            Some(("cifar10", dir)) if !dir.is_empty() => DataSource::Cifar10(dir.into()),
            Some(("folder", dir)) if !dir.is_empty() => {
                if let Some(c) = self.channels.filter(|c| ![1, 3].contains(c)) {
                    return Err(TrainError::Config(format!(
                        "data.channels: must be 1 or 3, got {c}"
                    )));
                }
                if let Some(size) = self
                    .image_size
                    .filter(|s| s.iter().any(|&n| n == 0 || n > MAX_IMAGE_SIDE))
                {
                    return Err(TrainError::Config(format!(
                        "data.image_size: both sides must be in 1..={MAX_IMAGE_SIDE}, got {size:?}"
                    )));
                }
                if !(0.0..1.0).contains(&self.test_fraction) {
                    return Err(TrainError::Config(format!(
                        "data.test_fraction: must be in [0, 1), got {}",
                        self.test_fraction
                    )));
                }
                return Ok(DataSource::Folder(
                    dir.into(),
                    FolderOptions {
                        image_size: self.image_size,
                        channels: self.channels,
                        test_fraction: self.test_fraction,
                        seed: 0,
                        follow_links: self.follow_links,
                    },
                ));
            }
            _ => {
                return Err(TrainError::Config(format!(
                    "data.source: unknown source {}; expected \"bundled\", \"mnist:DIR\", \
                     \"cifar10:DIR\" or \"folder:DIR\"",
                    quote(&self.source)
                )));
            }
        };
        if let Some((key, _)) = folder_only.iter().find(|(_, set)| *set) {
            return Err(TrainError::Config(format!(
                "data.{key}: only applies to source = \"folder:DIR\" (the others are small \
                 and of a fixed size)"
            )));
        }
        Ok(source)
    }
}

impl DataSection {
    /// Checks the loader's keys: `workers`, `prefetch`, `cache`, `cache_short_side`,
    /// `max_bad_fraction`.
    fn check_loading(&self) -> Result<(), TrainError> {
        if let Some(n) = self.workers.filter(|n| !(1..=MAX_WORKERS).contains(n)) {
            return Err(TrainError::Config(format!(
                "data.workers: must be in 1..={MAX_WORKERS}, got {n}"
            )));
        }
        if !(1..=MAX_PREFETCH).contains(&self.prefetch) {
            return Err(TrainError::Config(format!(
                "data.prefetch: must be in 1..={MAX_PREFETCH} batches, got {}",
                self.prefetch
            )));
        }
        if let Some(side) = self
            .cache_short_side
            .filter(|s| !(1..=MAX_IMAGE_SIDE).contains(s))
        {
            return Err(TrainError::Config(format!(
                "data.cache_short_side: must be in 1..={MAX_IMAGE_SIDE}, got {side}"
            )));
        }
        if self.cache_short_side.is_some() && self.cache.is_none() {
            return Err(TrainError::Config(
                "data.cache_short_side: only applies with data.cache = \"DIR\"".into(),
            ));
        }
        if self.cache.is_some() && self.loading == Loading::Memory {
            return Err(TrainError::Config(
                "data.cache: a cache is read by the streaming loader; set data.loading = \
                 \"stream\" (or \"auto\")"
                    .into(),
            ));
        }
        if let Some(dir) = &self.cache
            && dir.as_os_str().len() > MAX_SOURCE_PATH_BYTES
        {
            return Err(TrainError::Config(format!(
                "data.cache: the folder is longer than {MAX_SOURCE_PATH_BYTES} bytes (PATH_MAX)"
            )));
        }
        if let Some(file) = &self.groups
            && file.as_os_str().len() > MAX_SOURCE_PATH_BYTES
        {
            return Err(TrainError::Config(format!(
                "data.groups: the file name is longer than {MAX_SOURCE_PATH_BYTES} bytes (PATH_MAX)"
            )));
        }
        if !(0.0..=1.0).contains(&self.max_bad_fraction) {
            return Err(TrainError::Config(format!(
                "data.max_bad_fraction: must be in [0, 1], got {}",
                self.max_bad_fraction
            )));
        }
        Ok(())
    }
}
