//! Photometric transforms with fixed parameters, torchvision's
//! `torchvision/transforms/_functional_tensor.py` formulas (which follow PIL's
//! `ImageEnhance`/`ImageOps`), computed in `f32` on the 0..255 scale.
//!
//! `blend(a, b, f) = clamp(f a + (1 - f) b, 0, 255)` truncated to 8 bits: torchvision's
//! `_blend` on a uint8 image, `(ratio * img1 + (1 - ratio) * img2).clamp(0, bound)
//! .to(img1.dtype)`, where the cast truncates. Brightness, contrast and saturation follow
//! torchvision's uint8 rules exactly, so that they give torchvision's bytes (rounding instead
//! differs by one level, and by two for saturation factors above 2): the products and the
//! sum in `f32`, one operation at a time, and the grayscale image they blend with is itself
//! uint8 (`rgb_to_grayscale` casts `0.2989 R + 0.587 G + 0.114 B` to the image's dtype,
//! truncating). The other ops compute their float formula and round it once to the nearest
//! 8-bit value.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::image::cpu::raster::{AugImage, Dims, q8};
use crate::image::kernels::blur;
use crate::image::kernels::color;
use crate::image::kernels::noise;

/// torchvision `rgb_to_grayscale` weights.
pub const LUMA: [f32; 3] = [0.2989, 0.587, 0.114];

/// torchvision `_blend` on uint8: `f a + (1 - f) b` in `f32`, clamped to `0..=255` and
/// truncated toward zero, as `clamp(0, 255).to(uint8)`.
#[inline]
fn blend(a: f32, b: f32, f: f32) -> u8 {
    trunc8(f * a + (1.0 - f) * b)
}

/// `x as u8` (clamped to `0..=255`, truncated toward zero, NaN 0) for every `f32`, computed
/// as `q8(x - 0.5)`: the subtraction is exact for `x` in `[0.5, 2^23)` (`x` and 0.5 are
/// multiples of `x`'s unit in the last place), `q8` rounds the halves `k - 0.5` up to `k`,
/// and below 0.5 or from 255 on both clamp. The form the colour kernels vectorize (no
/// saturating float-to-int cast, no `trunc` library call); test
/// `trunc8_is_the_saturating_cast`.
#[inline(always)]
pub(crate) fn trunc8(x: f32) -> u8 {
    q8(x - 0.5)
}

/// Applies a 256-entry table to every value.
fn lut(img: &AugImage, table: impl Fn(u8) -> u8) -> AugImage {
    let t: [u8; 256] = std::array::from_fn(|v| table(v as u8));
    img.map_raw(|src, d| {
        let mut out = vec![0u8; src.len()];
        crate::image::kernels::lut::apply(src, &t, &mut out);
        (d, out)
    })
}

/// `blend(img, 0, f)` = `f v`, clamped and truncated (torchvision `adjust_brightness` on
/// uint8; PIL `ImageEnhance.Brightness`).
pub fn brightness(img: &AugImage, factor: f32) -> AugImage {
    lut(img, |v| blend(v as f32, 0.0, factor))
}

/// `blend(img, mean, f)` where `mean` is the mean of the uint8 grayscale image (each luma
/// truncated, as torchvision's `rgb_to_grayscale`; the values themselves for a gray image),
/// torchvision `adjust_contrast` on uint8 (PIL `ImageEnhance.Contrast`). The sum is exact
/// and the mean the `f32` nearest to `sum / n`, which is torchvision's `f32` mean whenever
/// its `f32` sum is exact (below 2^24, e.g. any image up to 65,793 pixels).
pub fn contrast(img: &AugImage, factor: f32) -> AugImage {
    let raw = img.as_raw();
    let n = (img.width() as usize * img.height() as usize).max(1) as f64;
    let sum = match img {
        AugImage::Gray(_) => raw.iter().map(|&v| u64::from(v)).sum::<u64>(),
        AugImage::Rgb(_) => color::gray_sum(raw),
    } as f64;
    let mean = (sum / n) as f32;
    lut(img, |v| blend(v as f32, mean, factor))
}

/// `blend(img, gray(img), f)` per pixel with `gray = trunc(luma)` (torchvision
/// `adjust_saturation` on uint8, whose `rgb_to_grayscale` returns uint8; PIL
/// `ImageEnhance.Color`), clamped and truncated; a gray image is unchanged. E.g. `(0, 0, 33)`
/// with factor 3: luma `0.114 * 33 = 3.762`, gray 3, blue `3 * 33 - 2 * 3 = 93` (blending
/// with the unrounded luma and rounding would give 91).
pub fn saturation(img: &AugImage, factor: f32) -> AugImage {
    match img {
        AugImage::Gray(_) => img.clone(),
        AugImage::Rgb(_) => img.map_raw(|src, d| {
            let mut out = vec![0u8; d.len()];
            color::saturation_rgb(src, &mut out, factor);
            (d, out)
        }),
    }
}

/// RGB in `[0, 1]` to HSV, torchvision `_rgb2hsv`.
pub fn rgb_to_hsv([r, g, b]: [f32; 3]) -> [f32; 3] {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let cr = maxc - minc;
    if cr == 0.0 {
        return [0.0, 0.0, maxc];
    }
    let s = cr / maxc;
    let (rc, gc, bc) = ((maxc - r) / cr, (maxc - g) / cr, (maxc - b) / cr);
    let h = if maxc == r {
        bc - gc
    } else if maxc == g {
        2.0 + rc - bc
    } else {
        4.0 + gc - rc
    };
    [(h / 6.0 + 1.0).rem_euclid(1.0), s, maxc]
}

/// HSV to RGB in `[0, 1]`, torchvision `_hsv2rgb`.
pub fn hsv_to_rgb([h, s, v]: [f32; 3]) -> [f32; 3] {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let i = (i as i64).rem_euclid(6);
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
    let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
    match i {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Rotates the hue by `shift` turns (`h' = (h + shift) mod 1`, torchvision `adjust_hue`,
/// `shift` in `[-0.5, 0.5]`); a gray image is unchanged.
pub fn hue(img: &AugImage, shift: f32) -> AugImage {
    match img {
        AugImage::Gray(_) => img.clone(),
        AugImage::Rgb(_) => img.map_raw(|src, d| {
            let mut out = vec![0u8; d.len()];
            color::hue_rgb(src, &mut out, shift);
            (d, out)
        }),
    }
}

/// `255 clamp(gain (v/255)^gamma, 0, 1)` (torchvision `adjust_gamma`).
pub fn gamma(img: &AugImage, gamma: f32, gain: f32) -> AugImage {
    lut(img, |v| {
        q8(255.0 * (gain * (v as f32 / 255.0).powf(gamma)).clamp(0.0, 1.0))
    })
}

/// `blend(img, smooth(img), f)`, `smooth` the 3x3 kernel `[[1,1,1],[1,5,1],[1,1,1]] / 13` on
/// interior pixels and the identity on the one-pixel border (PIL `ImageFilter.SMOOTH` as
/// used by `ImageEnhance.Sharpness`; torchvision `_blurred_degenerate_image`). The kernel is
/// in `crate::image::kernels::blur`.
pub fn sharpness(img: &AugImage, factor: f32) -> AugImage {
    img.map_raw(|src, d| (d, blur::sharpen(src, d.w, d.h, d.c, factor)))
}

/// The normalized 1-D Gaussian kernel of odd size `k` (torchvision `_get_gaussian_kernel1d`:
/// `exp(-x^2 / (2 sigma^2))` at `x = -(k-1)/2 ..= (k-1)/2`, divided by its sum).
pub fn gaussian_kernel(k: usize, sigma: f32) -> Vec<f32> {
    let half = (k as f32 - 1.0) * 0.5;
    let pdf: Vec<f32> = (0..k)
        .map(|i| {
            let x = (i as f32 - half) / sigma;
            (-0.5 * x * x).exp()
        })
        .collect();
    let sum: f32 = pdf.iter().sum();
    pdf.into_iter().map(|p| p / sum).collect()
}

/// Separable Gaussian blur with reflect padding (torchvision `gaussian_blur`); the kernel is
/// in `crate::image::kernels::blur`.
pub fn gaussian_blur(img: &AugImage, kernel_size: u32, sigma: f32) -> AugImage {
    let kernel = gaussian_kernel(kernel_size as usize, sigma);
    img.map_raw(|src, d| (d, blur::blur(src, d.w, d.h, d.c, &kernel)))
}

/// Adds `255 (mean + sigma z)` to every value, `z` standard normal drawn in memory order from
/// ChaCha8 seeded with `seed` (four draws per 64-bit word from a 16-bit normal quantile table,
/// see `crate::image::kernels::noise`), then clamps (torchvision v2 `gaussian_noise(clip=True)`, on the
/// 0..255 scale).
pub fn gaussian_noise(img: &AugImage, mean: f32, sigma: f32, seed: u64) -> AugImage {
    img.map_raw(|src, d| {
        let mut out = vec![0u8; src.len()];
        noise::add_gaussian(src, &mut out, mean, sigma, seed);
        (d, out)
    })
}

/// Impulse noise: each pixel, with one uniform `u` drawn in row-major order from ChaCha8
/// seeded with `seed`, becomes white if `u < amount * salt`, black if
/// `amount * salt <= u < amount`, and is kept otherwise; the same mask for every channel
/// (albumentations `SaltAndPepper`).
pub fn salt_and_pepper(img: &AugImage, amount: f32, salt: f32, seed: u64) -> AugImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    img.map_raw(|src, d| {
        let mut out = src.to_vec();
        for px in out.chunks_exact_mut(d.c) {
            let u: f32 = rng.random();
            if u < amount * salt {
                px.fill(255);
            } else if u < amount {
                px.fill(0);
            }
        }
        (d, out)
    })
}

/// Every channel set to the luma `0.2989 R + 0.587 G + 0.114 B` in `f32` (left to right),
/// truncated: torchvision's `rgb_to_grayscale` on uint8 (`_rgb_to_grayscale_image` in
/// `torchvision/transforms/v2/functional/_color.py`) casts the float luma back with
/// `.to(uint8)`, which truncates, and `RandomGrayscale` keeps an RGB image three-channel
/// (`num_output_channels=3`). E.g. white: `254.9745` (the weights sum to 0.9999) gives 254,
/// where rounding would give 255. The same gray image `saturation` blends with and whose
/// mean `contrast` takes. A gray image is unchanged.
pub fn grayscale(img: &AugImage) -> AugImage {
    match img {
        AugImage::Gray(_) => img.clone(),
        AugImage::Rgb(_) => img.map_raw(|src, d| {
            let mut out = vec![0u8; d.len()];
            color::grayscale_rgb(src, &mut out);
            (d, out)
        }),
    }
}

/// `255 - v` (torchvision `invert`, PIL `ImageOps.invert`).
pub fn invert(img: &AugImage) -> AugImage {
    lut(img, |v| 255 - v)
}

/// `v >= threshold ? 255 - v : v` (torchvision `solarize`, PIL `ImageOps.solarize`).
pub fn solarize(img: &AugImage, threshold: f32) -> AugImage {
    lut(img, |v| if v as f32 >= threshold { 255 - v } else { v })
}

/// Keeps the `bits` high bits: `v & !(2^(8 - bits) - 1)` (torchvision `posterize`, PIL
/// `ImageOps.posterize`); `bits` is clamped to `0..=8`.
pub fn posterize(img: &AugImage, bits: u8) -> AugImage {
    let mask = if bits >= 8 {
        0xff
    } else {
        !((1u16 << (8 - bits)) - 1) as u8
    };
    lut(img, |v| v & mask)
}

/// Applies per channel the table `f` makes from that channel's histogram (`None`: the
/// channel is unchanged). One pass counts all channels (two sets of counters, for even and
/// odd pixels, so that runs of equal values do not wait on their own increments), one pass
/// applies all tables.
fn per_channel(img: &AugImage, f: impl Fn(&[u32; 256]) -> Option<[u8; 256]>) -> AugImage {
    match img {
        AugImage::Gray(_) => per_channel_n::<1>(img, f),
        AugImage::Rgb(_) => per_channel_n::<3>(img, f),
    }
}

fn per_channel_n<const C: usize>(
    img: &AugImage,
    f: impl Fn(&[u32; 256]) -> Option<[u8; 256]>,
) -> AugImage {
    img.map_raw(|src, d: Dims| {
        let (mut even, mut odd) = ([[0u32; 256]; C], [[0u32; 256]; C]);
        let mut pairs = src.chunks_exact(2 * C);
        for px in &mut pairs {
            for k in 0..C {
                even[k][px[k] as usize] += 1;
                odd[k][px[C + k] as usize] += 1;
            }
        }
        for (k, &v) in pairs.remainder().iter().enumerate() {
            even[k][v as usize] += 1;
        }
        let tables: [Option<[u8; 256]>; C] =
            std::array::from_fn(|k| f(&std::array::from_fn(|v| even[k][v] + odd[k][v])));
        if tables.iter().all(Option::is_none) {
            return (d, src.to_vec());
        }
        let identity: [u8; 256] = std::array::from_fn(|v| v as u8);
        let t: [[u8; 256]; C] = tables.map(|t| t.unwrap_or(identity));
        let mut out = src.to_vec();
        for px in out.chunks_exact_mut(C) {
            for k in 0..C {
                px[k] = t[k][px[k] as usize];
            }
        }
        (d, out)
    })
}

/// Histogram equalization per channel, PIL `ImageOps.equalize` as torchvision `_scale_channel`:
/// `step = floor(sum(nonzero histogram bins except the last) / 255)`; if `step == 0` the
/// channel is unchanged; else `lut[v] = min(255, floor((cum[v] + floor(step / 2)) / step))`
/// with `cum[v]` the count of values below `v`.
pub fn equalize(img: &AugImage) -> AugImage {
    per_channel(img, |hist| {
        let nonzero: Vec<u64> = hist
            .iter()
            .filter(|&&c| c != 0)
            .map(|&c| c as u64)
            .collect();
        let step = nonzero[..nonzero.len().saturating_sub(1)]
            .iter()
            .sum::<u64>()
            / 255;
        if step == 0 {
            return None;
        }
        let mut table = [0u8; 256];
        let mut cum = 0u64;
        for (v, &c) in hist.iter().enumerate() {
            table[v] = ((cum + step / 2) / step).min(255) as u8;
            cum += c as u64;
        }
        Some(table)
    })
}

/// Stretches each channel to `0..255`: `(v - min) 255 / (max - min)`; a constant channel is
/// unchanged (torchvision `autocontrast`, PIL `ImageOps.autocontrast(cutoff=0)`).
pub fn autocontrast(img: &AugImage) -> AugImage {
    per_channel(img, |hist| {
        let lo = hist.iter().position(|&c| c != 0)? as f32;
        let hi = hist.iter().rposition(|&c| c != 0)? as f32;
        if hi == lo {
            return None;
        }
        let scale = 255.0 / (hi - lo);
        let mut table = [0u8; 256];
        for (v, t) in table.iter_mut().enumerate() {
            *t = q8((v as f32 - lo) * scale);
        }
        Some(table)
    })
}
