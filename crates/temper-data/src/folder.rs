//! Image folders in the layout of torchvision's `ImageFolder`: one sub-folder per class, its
//! images inside.
//!
//! ```text
//! DIR/cat/001.png  DIR/cat/002.jpg  DIR/dog/a.bmp ...            (split here, seeded)
//! DIR/train/cat/...  DIR/train/dog/...  DIR/test/cat/...          (split given)
//! ```
//!
//! As in torchvision (`torchvision/datasets/folder.py`: `find_classes`, `make_dataset`),
//! classes are the sub-folder names sorted, labels their positions, and each class folder is
//! walked recursively with files sorted per folder. Differences: only png, jpg, jpeg and bmp
//! are read (case-insensitive; any other file is skipped), names starting with `.` are
//! skipped (no `.ipynb_checkpoints` class), symlinked folders inside a class are not followed,
//! EXIF orientation is not applied (PIL's `Image.open` does not apply it either), and the alpha
//! channel is dropped without compositing.
//!
//! Every image is converted to 1 (L8) or 3 (RGB8) channels and resized to one size with
//! [`RESIZE_FILTER`]. By default a dataset is RGB when some image has a pixel whose R, G, B
//! differ, else gray (so gray scans saved as RGB load as one channel); gray images in an RGB
//! dataset get their plane repeated, as PIL's `convert("RGB")`. Colour becomes gray with
//! Pillow's ITU-R 601-2 luma ([`luma_601`], what `transforms.Grayscale` gives), not the
//! `image` crate's Rec. 709 weights.
//!
//! # Bounds
//!
//! - Every image, not only the first, has its dimensions read from its header and checked
//!   against [`MAX_IMAGE_SIDE`] and [`MAX_IMAGE_PIXELS`](crate::MAX_IMAGE_PIXELS) before it is
//!   decoded, and the decoder carries the `image` crate's `Limits` (see [`image_dimensions`]).
//!   Image files above [`MAX_IMAGE_FILE_BYTES`](crate::MAX_IMAGE_FILE_BYTES) are not read.
//! - Before any image is decoded, `image_size` × channels (3 when not given) × the number of
//!   images must fit [`MAX_FOLDER_BYTES`], the ceiling on the pixels held in memory.
//! - Links: a `train/`, `test/` or class folder, or an image, that is a symbolic link leading
//!   outside the dataset folder (compared by `std::fs::canonicalize`) is refused, unless
//!   [`FolderOptions::follow_links`] is set (`[data] follow_links = true` in an experiment):
//!   a dataset folder should not be a way to make the trainer read arbitrary files. Links
//!   that stay inside the folder are read either way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageDecoder, RgbImage};
use rayon::prelude::*;

use crate::dataset::{DataSplits, ImageDataset};
use crate::error::{DataError, Result};
use crate::image_limits::{check_resize, checked_decoder, image_dimensions, read_image_file};
use crate::layout::{SourceImage, to_planar};

mod listing;
pub(crate) use listing::{Listing, io_error, list};

/// File extensions read as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// The filter images are resized with: the `image` crate's `Triangle`, a separable linear
/// (bilinear) filter whose support widens when shrinking, so downscaling averages instead of
/// aliasing, like PIL's `BILINEAR` with antialiasing that torchvision's `Resize` uses.
pub const RESIZE_FILTER: FilterType = FilterType::Triangle;

/// The largest height or width [`FolderOptions::image_size`] accepts, and the largest side of
/// an image file read.
pub const MAX_IMAGE_SIDE: usize = 16_384;

/// The most pixel bytes a folder may load, both splits together: 8 GiB (for example 100,000
/// RGB images of 160x160). The images are decoded, then copied into one buffer per split, so
/// loading briefly needs about twice this; anything larger belongs in a streaming loader,
/// not in memory.
pub const MAX_FOLDER_BYTES: u64 = 8 << 30;

/// How [`read_image_folder`] shapes and splits the images.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderOptions {
    /// `[height, width]` every image is resized to; `None`: the size of the first image in
    /// sorted order (first class, first file).
    pub image_size: Option<[usize; 2]>,
    /// 1 (gray) or 3 (RGB); `None`: 3 if any image is colour (has a pixel whose R, G, B are
    /// not all equal), else 1.
    pub channels: Option<usize>,
    /// Share of each class held out as the test split when the folder has no `train/` and
    /// `test/` of its own; in `[0, 1)`.
    pub test_fraction: f64,
    /// Seed of that held-out draw.
    pub seed: u64,
    /// Read folders and images that are symbolic links leading outside the dataset folder;
    /// off by default, when such a link is an error naming it.
    pub follow_links: bool,
}

impl Default for FolderOptions {
    fn default() -> Self {
        Self {
            image_size: None,
            channels: None,
            test_fraction: 0.2,
            seed: 0,
            follow_links: false,
        }
    }
}

/// One decoded image, `[channels, height, width]` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedImage {
    /// 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Channel-major, row-major pixels: `channels * height * width` bytes.
    pub pixels: Vec<u8>,
}

/// Pillow's RGB → L conversion, ITU-R 601-2 luma in 16-bit fixed point with rounding:
/// `L24(rgb) = R * 19595 + G * 38470 + B * 7471 + 0x8000`, then `>> 16`
/// (`libImaging/Convert.c`). The weights sum to 65536, so gray stays exactly gray.
pub fn luma_601(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
}

pub(crate) fn check_channels(channels: Option<usize>) -> Result<()> {
    match channels {
        None | Some(1) | Some(3) => Ok(()),
        Some(c) => Err(DataError::BadOption {
            option: "channels",
            message: format!("must be 1 or 3, got {c}"),
        }),
    }
}

pub(crate) fn check_size(size: [usize; 2]) -> Result<()> {
    if size.iter().any(|&s| s == 0 || s > MAX_IMAGE_SIDE) {
        return Err(DataError::BadOption {
            option: "image_size",
            message: format!(
                "sides must be in 1..={MAX_IMAGE_SIDE}, got {}x{}",
                size[0], size[1]
            ),
        });
    }
    Ok(())
}

/// Decodes one image file's bytes (png, jpeg or bmp, recognised by content), converts it to
/// `channels` (`None`: 3 if some pixel has R, G, B not all equal, else 1) and resizes it to `size`
/// (`[height, width]`; `None`: keep its own) with `RESIZE_FILTER`. `path` only names the
/// file in errors. The header is checked first (see [`image_dimensions`]), and the resize's
/// intermediate buffer is bounded too.
pub fn decode_image(
    path: &Path,
    bytes: &[u8],
    size: Option<[usize; 2]>,
    channels: Option<usize>,
) -> Result<DecodedImage> {
    let image = decode_source(path, bytes, size, channels)?;
    Ok(DecodedImage {
        channels: image.channels,
        height: image.height,
        width: image.width,
        pixels: to_planar(&image.pixels, image.channels),
    })
}

/// [`decode_image`], its pixels left interleaved as the decoder gives them.
pub fn decode_source(
    path: &Path,
    bytes: &[u8],
    size: Option<[usize; 2]>,
    channels: Option<usize>,
) -> Result<SourceImage> {
    check_channels(channels)?;
    if let Some(size) = size {
        check_size(size)?;
    }
    let decoder = checked_decoder(path, bytes)?;
    let (src_w, src_h) = decoder.dimensions();
    let source = [src_h as usize, src_w as usize];
    let [height, width] = size.unwrap_or(source);
    check_resize(path, source, [height, width])?;
    let img = DynamicImage::from_decoder(decoder).map_err(|e| DataError::BadImage {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let (w, h) = (width as u32, height as u32);
    let (pixels, channels) = if !img.color().has_color() && channels != Some(3) {
        let mut gray = img.into_luma8();
        if gray.dimensions() != (w, h) {
            gray = image::imageops::resize(&gray, w, h, RESIZE_FILTER);
        }
        (gray.into_raw(), 1)
    } else {
        // `into_rgb8` keeps an RGB8 decode's buffer rather than copying it.
        let mut rgb = img.into_rgb8();
        // Colour by content: an RGB file whose pixels all have R = G = B (a gray scan saved
        // as RGB, a gray palette) is gray, and storing it as one plane loses nothing.
        let channels = channels.unwrap_or_else(|| {
            let colour = rgb.pixels().any(|p| p[0] != p[1] || p[1] != p[2]);
            if colour { 3 } else { 1 }
        });
        if channels == 3 {
            if rgb.dimensions() != (w, h) {
                rgb = image::imageops::resize(&rgb, w, h, RESIZE_FILTER);
            }
            (rgb.into_raw(), 3)
        } else {
            let mut gray = to_gray(&rgb);
            if gray.dimensions() != (w, h) {
                gray = image::imageops::resize(&gray, w, h, RESIZE_FILTER);
            }
            (gray.into_raw(), 1)
        }
    };
    Ok(SourceImage {
        channels,
        height,
        width,
        pixels,
    })
}

/// Pillow's 601 luma of every pixel (exact for pixels with R = G = B).
fn to_gray(rgb: &RgbImage) -> GrayImage {
    let (w, h) = rgb.dimensions();
    let data = rgb
        .as_raw()
        .chunks_exact(3)
        .map(|p| luma_601(p[0], p[1], p[2]))
        .collect();
    GrayImage::from_raw(w, h, data).expect("one byte per pixel")
}

/// Reads a torchvision-style image folder (see the module doc). When `dir/train` and
/// `dir/test` both exist they are the splits (classes from `train/`); otherwise the class
/// folders are `dir/*` and each class gives `round(n * test_fraction)` of its images, drawn
/// with `seed`, to the test split. Images are decoded in parallel on the current rayon pool
/// and stored in sorted order whatever the thread count; `progress(done, total)` is called
/// once per image as it finishes, from the worker threads.
pub fn read_image_folder(
    dir: &Path,
    options: &FolderOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DataSplits> {
    check_options(dir, options)?;
    let listing = list(dir, options)?;
    let size = match options.image_size {
        Some(size) => {
            check_size(size)?;
            size
        }
        None => first_size(&listing.first)?,
    };
    check_folder_bytes(
        dir,
        size,
        options.channels,
        listing.train.len() + listing.test.len(),
    )?;

    let mut decoded = decode_all(&listing, size, options.channels, progress)?.into_iter();
    // Default: 3 when any image is colour, else 1.
    let channels = options.channels.unwrap_or_else(|| {
        decoded
            .as_slice()
            .iter()
            .map(|d| d.channels)
            .max()
            .unwrap_or(1)
    });

    let mut assemble = |files: &[(PathBuf, u8)]| {
        let mut pixels = Vec::with_capacity(files.len() * channels * size[0] * size[1]);
        for image in decoded.by_ref().take(files.len()) {
            // Gray images in a colour dataset: the gray plane repeated, as PIL's L → RGB.
            for _ in 0..channels / image.channels {
                pixels.extend_from_slice(&image.pixels);
            }
        }
        let labels = files.iter().map(|&(_, l)| l).collect();
        ImageDataset::new(
            pixels,
            labels,
            [channels, size[0], size[1]],
            listing.classes.clone(),
        )
    };
    let train = assemble(&listing.train);
    let test = assemble(&listing.test);
    Ok(DataSplits { train, test })
}

/// Refuses a bad `channels` or `test_fraction`, or a `dir` that is not a folder.
pub(crate) fn check_options(dir: &Path, options: &FolderOptions) -> Result<()> {
    check_channels(options.channels)?;
    let f = options.test_fraction;
    if !(0.0..1.0).contains(&f) {
        return Err(DataError::BadOption {
            option: "test_fraction",
            message: format!("must be in [0, 1), got {f}"),
        });
    }
    if !dir.is_dir() {
        return Err(DataError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    Ok(())
}

/// Every image of both splits (train first), read and decoded in parallel to `size` and
/// `channels`, in listing order; `progress(done, total)` after each.
fn decode_all(
    listing: &Listing,
    size: [usize; 2],
    channels: Option<usize>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<DecodedImage>> {
    let all: Vec<&PathBuf> = listing
        .train
        .iter()
        .chain(&listing.test)
        .map(|(p, _)| p)
        .collect();
    let (done, total) = (AtomicUsize::new(0), all.len());
    let decoded: Vec<Result<DecodedImage>> = all
        .par_iter()
        .map(|path| {
            let image = read_image_file(path)
                .and_then(|bytes| decode_image(path, &bytes, Some(size), channels));
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            image
        })
        .collect();
    // The first failure in sorted order, so the error does not depend on thread timing.
    decoded.into_iter().collect()
}

/// Refuses a folder whose images, once resized, would not fit [`MAX_FOLDER_BYTES`]; the
/// channel count is taken as 3 when it is not given, the most it can be.
fn check_folder_bytes(
    dir: &Path,
    size: [usize; 2],
    channels: Option<usize>,
    images: usize,
) -> Result<()> {
    let c = channels.unwrap_or(3);
    let bytes = [size[0], size[1], c, images]
        .iter()
        .try_fold(1u64, |acc, &x| acc.checked_mul(x as u64));
    match bytes {
        Some(b) if b <= MAX_FOLDER_BYTES => Ok(()),
        _ => Err(DataError::TooLarge {
            path: dir.to_path_buf(),
            message: format!(
                "{images} images of {c}x{}x{} need {} bytes in memory, more than the limit of \
                 {MAX_FOLDER_BYTES}; choose a smaller image_size",
                size[0],
                size[1],
                bytes.map_or("more than u64::MAX".into(), |b| b.to_string())
            ),
        }),
    }
}

/// `[height, width]` of the image at `path`, from its header.
pub(crate) fn first_size(path: &Path) -> Result<[usize; 2]> {
    image_dimensions(path, &read_image_file(path)?)
}

#[cfg(test)]
mod tests;
