//! [`AugImage`], an 8-bit grayscale or RGB image, and the pixel-level helpers the ops share:
//! out-of-bounds policies for crops and padding, bilinear and nearest sampling with a fill
//! value, and the conversion to the `f32` NCHW batches a trainer feeds to a model.

use std::path::Path;

use image::{DynamicImage, GrayImage, RgbImage};

use crate::image::error::{ImageAugError, Result, invalid};

/// Largest image file [`AugImage::open`] reads: 256 MiB, above any PNG, JPEG or BMP of an
/// image within the ops' [`MAX_SIDE`](crate::image::ops::common::MAX_SIDE).
pub const MAX_IMAGE_FILE_BYTES: u64 = 256 << 20;

/// An 8-bit image, one or three interleaved channels, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AugImage {
    /// One channel.
    Gray(GrayImage),
    /// Three channels, R G B.
    Rgb(RgbImage),
}

impl From<GrayImage> for AugImage {
    fn from(img: GrayImage) -> Self {
        AugImage::Gray(img)
    }
}

impl From<RgbImage> for AugImage {
    fn from(img: RgbImage) -> Self {
        AugImage::Rgb(img)
    }
}

impl AugImage {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        match self {
            AugImage::Gray(i) => i.width(),
            AugImage::Rgb(i) => i.width(),
        }
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        match self {
            AugImage::Gray(i) => i.height(),
            AugImage::Rgb(i) => i.height(),
        }
    }

    /// 1 (gray) or 3 (RGB).
    pub fn channels(&self) -> usize {
        match self {
            AugImage::Gray(_) => 1,
            AugImage::Rgb(_) => 3,
        }
    }

    /// The interleaved bytes, `height * width * channels` of them.
    pub fn as_raw(&self) -> &[u8] {
        match self {
            AugImage::Gray(i) => i.as_raw(),
            AugImage::Rgb(i) => i.as_raw(),
        }
    }

    /// An image from interleaved bytes; `None` unless `channels` is 1 or 3 and
    /// `data.len() == width * height * channels`.
    pub fn from_raw(width: u32, height: u32, channels: usize, data: Vec<u8>) -> Option<AugImage> {
        match channels {
            1 => GrayImage::from_raw(width, height, data).map(AugImage::Gray),
            3 => RgbImage::from_raw(width, height, data).map(AugImage::Rgb),
            _ => None,
        }
    }

    /// A copy as RGB (gray replicated into the three channels).
    pub fn to_rgb(&self) -> RgbImage {
        match self {
            AugImage::Gray(i) => DynamicImage::ImageLuma8(i.clone()).to_rgb8(),
            AugImage::Rgb(i) => i.clone(),
        }
    }

    /// Reads a PNG, JPEG or BMP file of at most [`MAX_IMAGE_FILE_BYTES`] (refused from its
    /// length before reading; the decoder keeps the `image` crate's default allocation
    /// limit): single-channel (with or without alpha) images become [`AugImage::Gray`],
    /// everything else [`AugImage::Rgb`] (alpha dropped, 16-bit scaled).
    pub fn open(path: impl AsRef<Path>) -> Result<AugImage> {
        let path = path.as_ref();
        let bytes = crate::fs::read_bounded(path, MAX_IMAGE_FILE_BYTES).map_err(|source| {
            ImageAugError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let img = image::load_from_memory(&bytes).map_err(|e| ImageAugError::Codec {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(if img.color().has_color() {
            AugImage::Rgb(img.to_rgb8())
        } else {
            AugImage::Gray(img.to_luma8())
        })
    }

    /// Writes the image as PNG.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        save_png(&self.to_dynamic(), path.as_ref())
    }

    fn to_dynamic(&self) -> DynamicImage {
        match self {
            AugImage::Gray(i) => DynamicImage::ImageLuma8(i.clone()),
            AugImage::Rgb(i) => DynamicImage::ImageRgb8(i.clone()),
        }
    }

    /// `(width, height, channels)` as `usize`.
    pub(crate) fn dims(&self) -> Dims {
        Dims {
            w: self.width() as usize,
            h: self.height() as usize,
            c: self.channels(),
        }
    }

    /// A new image of the same channel count from a function of the raw bytes.
    pub(crate) fn map_raw(&self, f: impl FnOnce(&[u8], Dims) -> (Dims, Vec<u8>)) -> AugImage {
        let (d, data) = f(self.as_raw(), self.dims());
        AugImage::from_raw(d.w as u32, d.h as u32, d.c, data)
            .expect("an op returned a buffer of the wrong length")
    }
}

/// Writes any RGB/gray image as PNG, naming the file on failure.
pub fn save_png(img: &DynamicImage, path: &Path) -> Result<()> {
    // Encoded in memory, then written through a temporary file and a rename: a crash never
    // leaves half a PNG at `path`.
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| ImageAugError::Codec {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    crate::fs::write_via_temp(path, &bytes.into_inner()).map_err(|source| ImageAugError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Image dimensions: width, height, channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dims {
    pub w: usize,
    pub h: usize,
    pub c: usize,
}

impl Dims {
    pub fn len(&self) -> usize {
        self.w * self.h * self.c
    }
}

/// Rounds a float pixel value to the nearest 8-bit value, clamping to `[0, 255]`. Every op
/// computes its float formula and quantizes once here.
///
/// Written without `f32::round` (a library call on the x86-64 baseline) or a float-to-int
/// cast (saturating, so scalar code) so that loops over it vectorize: adding 2^23 rounds the
/// clamped value half to even into the low mantissa bits, and a tie rounded down is moved up
/// (half away from zero). Same byte as `v.round().clamp(0.0, 255.0) as u8` for every `f32`,
/// NaN (0) included (test `q8_is_round_then_clamp`).
#[inline(always)]
pub(crate) fn q8(v: f32) -> u8 {
    const MAGIC: f32 = 8_388_608.0;
    // Not `clamp`, which keeps NaN (NaN must give 0, as `NaN as u8`).
    #[allow(clippy::manual_clamp)]
    let c = v.max(0.0).min(255.0);
    let b = c + MAGIC;
    let tie_down = c - (b - MAGIC) == 0.5;
    (b.to_bits().wrapping_sub(MAGIC.to_bits()) + u32::from(tie_down)) as u8
}

/// How pixels outside the image are read (torchvision `padding_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaddingMode {
    /// The fill value.
    #[default]
    Constant,
    /// The nearest edge pixel.
    Edge,
    /// Mirror without repeating the edge: `[2 1 | 0 1 2 | 1 0]`.
    Reflect,
    /// Mirror repeating the edge: `[1 0 | 0 1 2 | 2 1]`.
    Symmetric,
}

/// Maps a possibly out-of-range coordinate into `0..n` under `mode`; `None` for
/// [`PaddingMode::Constant`] outside.
#[inline]
pub(crate) fn pad_index(i: i64, n: usize, mode: PaddingMode) -> Option<usize> {
    let n = n as i64;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        PaddingMode::Constant => None,
        PaddingMode::Edge => Some(i.clamp(0, n - 1) as usize),
        PaddingMode::Reflect => {
            if n == 1 {
                return Some(0);
            }
            let period = 2 * (n - 1);
            let m = i.rem_euclid(period);
            Some(if m < n { m } else { period - m } as usize)
        }
        PaddingMode::Symmetric => {
            let period = 2 * n;
            let m = i.rem_euclid(period);
            Some(if m < n { m } else { period - 1 - m } as usize)
        }
    }
}

/// Interpolation of the geometric ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interpolation {
    /// The nearest input pixel (torchvision `InterpolationMode.NEAREST`).
    Nearest,
    /// Bilinear between the four nearest input pixels (`InterpolationMode.BILINEAR`).
    #[default]
    Bilinear,
}

/// Samples channel values at the continuous pixel position `(u, v)` (pixel centres at
/// integers) into `out`, as torchvision's `_apply_grid_transform`
/// (`torchvision/transforms/v2/functional/_geometry.py`): `grid_sample` with zeros padding,
/// and with a fill value a channel of ones sampled alongside as the mask `m`.
///
/// Bilinear: each of the four neighbours weighs `(1-|du|)(1-|dv|)`; `S` is the sum of the
/// weighted neighbours with 0 for those outside the image (in the order top-left, top-right,
/// bottom-left, bottom-right). Without a fill (`None`, torchvision's `fill=None`) the
/// sample is `S`. With a fill `f`, a pixel whose four neighbours all lie inside is `S` (its
/// mask is 1) and any other is `(S - f) m + f`, `m` the sum of the inside neighbours'
/// weights in the same order: torchvision's `mask * (img - fill) + fill`. Nearest: the
/// pixel at the rounded position, or the fill (0 without one) outside.
#[inline]
pub(crate) fn sample_at(
    src: &[u8],
    d: Dims,
    u: f32,
    v: f32,
    interp: Interpolation,
    fill: Option<[f32; 3]>,
    out: &mut [f32],
) {
    match interp {
        Interpolation::Nearest => {
            let (x, y) = (u.round() as i64, v.round() as i64);
            if x >= 0 && y >= 0 && (x as usize) < d.w && (y as usize) < d.h {
                let base = (y as usize * d.w + x as usize) * d.c;
                for k in 0..d.c {
                    out[k] = src[base + k] as f32;
                }
            } else {
                out[..d.c].copy_from_slice(&fill.unwrap_or([0.0; 3])[..d.c]);
            }
        }
        Interpolation::Bilinear => {
            let (x0, y0) = (u.floor(), v.floor());
            let (fx, fy) = (u - x0, v - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            if x0 >= 0 && y0 >= 0 && (x0 as usize) + 1 < d.w && (y0 as usize) + 1 < d.h {
                // Interior: all four neighbours exist (same sum, same order, no branches).
                let b00 = (y0 as usize * d.w + x0 as usize) * d.c;
                let (b01, b10) = (b00 + d.c, b00 + d.w * d.c);
                let b11 = b10 + d.c;
                let (w00, w01) = ((1.0 - fx) * (1.0 - fy), fx * (1.0 - fy));
                let (w10, w11) = ((1.0 - fx) * fy, fx * fy);
                for k in 0..d.c {
                    out[k] = w00 * src[b00 + k] as f32
                        + w01 * src[b01 + k] as f32
                        + w10 * src[b10 + k] as f32
                        + w11 * src[b11 + k] as f32;
                }
                return;
            }
            for o in out[..d.c].iter_mut() {
                *o = 0.0;
            }
            let mut mask = 0f32;
            for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
                for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                    let w = wx * wy;
                    if w == 0.0 {
                        continue;
                    }
                    let (x, y) = (x0 + dx, y0 + dy);
                    if x >= 0 && y >= 0 && (x as usize) < d.w && (y as usize) < d.h {
                        let base = (y as usize * d.w + x as usize) * d.c;
                        for k in 0..d.c {
                            out[k] += w * src[base + k] as f32;
                        }
                        mask += w;
                    } else {
                        // The zero padding, as a product: a NaN weight (an infinite
                        // position) stays NaN, as in the vector warps' sums.
                        for o in out[..d.c].iter_mut() {
                            *o += w * 0.0;
                        }
                    }
                }
            }
            if let Some(f) = fill {
                for k in 0..d.c {
                    out[k] = (out[k] - f[k]) * mask + f[k];
                }
            }
        }
    }
}

/// Converts same-sized images to one `f32` NCHW buffer scaled to `[0, 1]` (`v / 255`, as
/// torchvision's `ToTensor`), returning it with its shape `[n, c, h, w]`.
pub fn to_nchw_f32(images: &[AugImage]) -> Result<(Vec<f32>, [usize; 4])> {
    let Some(first) = images.first() else {
        return Ok((Vec::new(), [0, 0, 0, 0]));
    };
    let d = first.dims();
    let total = images.len().checked_mul(d.len()).ok_or_else(|| {
        invalid(
            "images",
            format!("{} images of {} values overflow", images.len(), d.len()),
        )
    })?;
    let mut out = Vec::with_capacity(total);
    for (i, img) in images.iter().enumerate() {
        if img.dims() != d {
            return Err(invalid(
                format!("image {i}"),
                format!(
                    "is {}x{}x{}, expected {}x{}x{} like image 0",
                    img.width(),
                    img.height(),
                    img.channels(),
                    d.w,
                    d.h,
                    d.c
                ),
            ));
        }
        let raw = img.as_raw();
        for k in 0..d.c {
            out.extend(raw.iter().skip(k).step_by(d.c).map(|&v| v as f32 / 255.0));
        }
    }
    Ok((out, [images.len(), d.c, d.h, d.w]))
}
