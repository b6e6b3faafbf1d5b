//! Image folders too large for memory: listed once, each image decoded when a batch asks for
//! it, optionally from a one-time decoded cache.
//!
//! [`open_image_folder`] lists a folder exactly as [`read_image_folder`](crate::read_image_folder)
//! does (the same classes, split, sorted order, link rules and errors: both call the listing of
//! `folder::listing`) but decodes nothing except, when needed, the first image, whose size is
//! the default `image_size` and whose channels the default `channels`. A [`StreamingFolder`]
//! holds the file paths, the labels and (with a cache) a memory map; no pixel is kept between
//! calls, so opening a million files allocates their paths and nothing else.
//!
//! # Same images as in memory
//!
//! Without a cache, image `i` is `decode_image(path, bytes, Some(image_size), Some(channels))`,
//! the call `read_image_folder` makes, so the two readers give the same bytes. One default
//! differs: in memory, `channels` unset means "3 if any image has colour", which needs every
//! image decoded; streaming takes the channels of the first image by content
//! (`decode_image(first, .., None, None).channels`). Set `channels` and the two are identical.
//!
//! # Failure is per image
//!
//! A file that is corrupt, truncated, empty or gone after the listing fails alone:
//! [`ImageData::try_image`] and [`ImageData::source_image`] return its `BadImage` or `Io`
//! error naming the file, and [`ImageData::image`] returns a zero image of `image_shape` (the
//! trainer calls `try_image` and skips). Reads are bounded as in memory (the file size, the
//! header's dimensions and the resize's intermediate buffer, see `image_limits`).
//!
//! # The decoded cache
//!
//! Decoding a JPEG costs far more than reading its pixels, so a data set read for many epochs
//! can be decoded once into [`CacheOptions::dir`], as FFCV's `.beton` files do
//! (`ffcv/fields/rgb_image.py`, whose `max_resolution` caps the stored side). Each image is
//! stored resized with [`RESIZE_FILTER`], keeping its aspect ratio and never upscaled, so that
//! its short side is [`CacheOptions::short_side`]: a `h × w` image with `h ≤ w` and
//! `h > short_side` becomes `short_side × ⌊w · short_side / h⌋`, the rule of torchvision's
//! `Resize(int)` (`_compute_resized_output_size` in `torchvision/transforms/functional.py`),
//! so a short side of 256 keeps what ImageNet's `Resize(256)` + `CenterCrop(224)` evaluation
//! and a `RandomResizedCrop(224)` of the stored image need.
//! See the `cache` module for the format, how a cache is matched to the folder and rebuilt.
//! From the cache, [`image`](ImageData::image) is the cached image resized to `image_shape`
//! with the same filter, which differs slightly from a direct decode (two resizes instead of
//! one), and [`source_image`](ImageData::source_image) the cached image itself.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::{GrayImage, RgbImage};

use crate::dataset::ImageData;
use crate::error::{DataError, Result};
use crate::folder::{
    FolderOptions, MAX_IMAGE_SIDE, RESIZE_FILTER, check_options, check_size, decode_image,
    decode_source, first_size, list,
};
use crate::image_limits::{check_resize, read_image_file};
use crate::layout::{SourceImage, to_interleaved, to_planar};

mod cache;
#[cfg(test)]
mod tests;

use cache::Cache;
pub use cache::{CACHE_FORMAT_VERSION, MAX_CACHE_MANIFEST_BYTES};

/// How a streamed folder is read: the folder options plus an optional decoded cache.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamOptions {
    /// Classes, split, size, channels and links, as for `read_image_folder`.
    pub folder: FolderOptions,
    /// Where to keep decoded images; `None`: decode every image from its file each time.
    pub cache: Option<CacheOptions>,
}

/// `[data] cache`: where the decoded cache lives and the short side its images are stored at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// The cache folder, created if missing; it must hold nothing but the cache's own files.
    pub dir: PathBuf,
    /// The short side images are stored at (never upscaled), in `1..=MAX_IMAGE_SIDE`.
    pub short_side: usize,
}

/// What happened to the cache when a stream opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// The cache matched the folder and was used as it is; no image was decoded.
    Reused,
    /// There was no cache; it was built.
    Built,
    /// The cache did not match the folder (or was damaged) and was built again.
    Rebuilt {
        /// The first difference found, such as `"cat/3.png changed (size or mtime)"`.
        reason: String,
    },
}

/// Both splits of a streamed folder.
#[derive(Debug)]
pub struct StreamSplits {
    /// The training split.
    pub train: StreamingFolder,
    /// The test split.
    pub test: StreamingFolder,
    /// What happened to the cache; `None` without one.
    pub cache: Option<CacheStatus>,
}

/// One split of an image folder whose images are decoded on demand (see the module doc).
#[derive(Debug)]
pub struct StreamingFolder {
    files: Vec<PathBuf>,
    labels: Vec<u8>,
    shape: [usize; 3],
    classes: Vec<String>,
    /// The cache of both splits and where this split's images start in it.
    cache: Option<(Arc<Cache>, usize)>,
}

/// Lists `dir` like [`read_image_folder`](crate::read_image_folder) (same classes, same split,
/// same sorted order, same link rules, same errors) without decoding it, except the first image
/// (which gives the default size and channels). With a cache, opens it when it matches the
/// listing or (re)builds it, calling `progress(done, total)` from worker threads (rayon) while
/// building.
///
/// # Errors
/// The listing's errors; a bad option (`channels`, `test_fraction`, `image_size`,
/// `cache_short_side`); the first image's when it is needed for a default and cannot be read;
/// [`DataError::CacheDir`] for a cache folder that holds other files or cannot be written.
pub fn open_image_folder(
    dir: &Path,
    options: &StreamOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<StreamSplits> {
    let folder = &options.folder;
    check_options(dir, folder)?;
    if let Some(size) = folder.image_size {
        check_size(size)?;
    }
    if let Some(cache) = &options.cache {
        check_short_side(cache.short_side)?;
    }
    let listing = list(dir, folder)?;
    let (cache, status, channels, size) = match &options.cache {
        None => {
            let (channels, size) = first_image(&listing.first, folder.channels, folder.image_size)?;
            (None, None, channels, size)
        }
        Some(cache_options) => {
            let (cache, status) = cache::open(dir, &listing, cache_options, folder, progress)?;
            let size = folder.image_size.unwrap_or(cache.first_size);
            let channels = cache.channels;
            (Some(Arc::new(cache)), Some(status), channels, size)
        }
    };
    let shape = [channels, size[0], size[1]];
    let split = |files: Vec<(PathBuf, u8)>, start: usize| {
        let (files, labels) = files.into_iter().unzip();
        StreamingFolder {
            files,
            labels,
            shape,
            classes: listing.classes.clone(),
            cache: cache.as_ref().map(|c| (Arc::clone(c), start)),
        }
    };
    let n_train = listing.train.len();
    Ok(StreamSplits {
        train: split(listing.train, 0),
        test: split(listing.test, n_train),
        cache: status,
    })
}

/// Refuses a short side outside `1..=MAX_IMAGE_SIDE`.
fn check_short_side(short_side: usize) -> Result<()> {
    if short_side == 0 || short_side > MAX_IMAGE_SIDE {
        return Err(DataError::BadOption {
            option: "cache_short_side",
            message: format!("must be in 1..={MAX_IMAGE_SIDE}, got {short_side}"),
        });
    }
    Ok(())
}

/// The data set's channels and image size: the given ones, else the first image's (its
/// channels by content, its size from its header); the first image is read only when needed.
pub(crate) fn first_image(
    first: &Path,
    channels: Option<usize>,
    size: Option<[usize; 2]>,
) -> Result<(usize, [usize; 2])> {
    match (channels, size) {
        (Some(c), Some(size)) => Ok((c, size)),
        (Some(c), None) => Ok((c, first_size(first)?)),
        (None, size) => {
            let bytes = read_image_file(first)?;
            let image = decode_image(first, &bytes, None, None)?;
            Ok((image.channels, size.unwrap_or([image.height, image.width])))
        }
    }
}

/// `[height, width]` of a `size` image whose short side is brought down to `short_side`,
/// keeping the aspect ratio as torchvision's `Resize(int)` does (the long side truncated);
/// an image whose short side is already at most `short_side` keeps its size.
pub(crate) fn short_side_size(size: [usize; 2], short_side: usize) -> [usize; 2] {
    let [h, w] = size;
    let scale =
        |long: usize, short: usize| (long as u64 * short_side as u64 / short as u64) as usize;
    if h.min(w) <= short_side {
        size
    } else if h <= w {
        [short_side, scale(w, h)]
    } else {
        [scale(h, w), short_side]
    }
}

/// `pixels`, planar `[channels, from]`, resized to `to` with [`RESIZE_FILTER`] (the bounds of
/// `check_resize` first); `path` names the image in errors.
fn resize_planar(
    path: &Path,
    pixels: &[u8],
    channels: usize,
    from: [usize; 2],
    to: [usize; 2],
) -> Result<Vec<u8>> {
    check_resize(path, from, to)?;
    let (w, h) = (from[1] as u32, from[0] as u32);
    let (tw, th) = (to[1] as u32, to[0] as u32);
    let bad = || DataError::BadImage {
        path: path.to_path_buf(),
        message: "cached image of the wrong length".into(),
    };
    if channels == 1 {
        let gray = GrayImage::from_raw(w, h, pixels.to_vec()).ok_or_else(bad)?;
        return Ok(image::imageops::resize(&gray, tw, th, RESIZE_FILTER).into_raw());
    }
    if pixels.len() != 3 * from[0] * from[1] {
        return Err(bad());
    }
    let rgb = RgbImage::from_raw(w, h, to_interleaved(pixels, 3)).ok_or_else(bad)?;
    let resized = image::imageops::resize(&rgb, tw, th, RESIZE_FILTER);
    Ok(to_planar(resized.as_raw(), 3))
}

// The trainer's loader threads share a split.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<StreamingFolder>();
};

impl StreamingFolder {
    /// The file behind image `index`, for warnings.
    pub fn path(&self, index: usize) -> &Path {
        &self.files[index]
    }

    /// `len × C × H × W`: what loading this split in memory would take (saturating).
    pub fn decoded_bytes(&self) -> u64 {
        let [c, h, w] = self.shape;
        [self.files.len(), c, h, w]
            .iter()
            .fold(1u64, |acc, &x| acc.saturating_mul(x as u64))
    }

    /// Whether images come from the decoded cache.
    pub fn is_cached(&self) -> bool {
        self.cache.is_some()
    }

    fn size(&self) -> [usize; 2] {
        [self.shape[1], self.shape[2]]
    }
}

impl ImageData for StreamingFolder {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    fn num_classes(&self) -> usize {
        self.classes.len()
    }

    fn class_names(&self) -> Vec<String> {
        self.classes.clone()
    }

    /// The image as [`try_image`](ImageData::try_image) gives it, or zeros of `image_shape`
    /// when it cannot be read: call `try_image` to learn which images to skip.
    fn image(&self, index: usize) -> Cow<'_, [u8]> {
        self.try_image(index)
            .unwrap_or_else(|_| Cow::Owned(vec![0; self.shape.iter().product()]))
    }

    fn label(&self, index: usize) -> usize {
        self.labels[index] as usize
    }

    fn try_image(&self, index: usize) -> Result<Cow<'_, [u8]>> {
        let path = &self.files[index];
        let Some((cache, start)) = &self.cache else {
            let bytes = read_image_file(path)?;
            let image = decode_image(path, &bytes, Some(self.size()), Some(self.shape[0]))?;
            return Ok(Cow::Owned(image.pixels));
        };
        let (pixels, stored) = cache.image(start + index, path)?;
        if stored == self.size() {
            return Ok(Cow::Borrowed(pixels));
        }
        resize_planar(path, pixels, self.shape[0], stored, self.size()).map(Cow::Owned)
    }

    fn source_image(&self, index: usize) -> Result<Option<SourceImage>> {
        let path = &self.files[index];
        let channels = self.shape[0];
        let image = match &self.cache {
            None => decode_source(path, &read_image_file(path)?, None, Some(channels))?,
            Some((cache, start)) => {
                let (pixels, [height, width]) = cache.image(start + index, path)?;
                SourceImage {
                    channels,
                    height,
                    width,
                    pixels: to_interleaved(pixels, channels),
                }
            }
        };
        Ok(Some(image))
    }
}
