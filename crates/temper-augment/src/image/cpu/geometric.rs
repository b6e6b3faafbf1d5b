//! Geometric transforms with fixed parameters: flips, the affine family (rotation,
//! translation, scale, shear), crops with padding and resizing.
//!
//! Coordinates follow torchvision's tensor path (`torchvision/transforms/_functional_tensor.py`,
//! `_gen_affine_grid` + `grid_sample(align_corners=False)`): output pixel `(row i, col j)` has
//! centred coordinates `x = j + 0.5 - W/2`, `y = i + 0.5 - H/2`; the inverse affine matrix maps
//! it to the input position `(x', y')`, read at pixel index `u = x' + W/2 - 0.5`,
//! `v = y' + H/2 - 0.5` with bilinear or nearest interpolation.

pub use crate::image::ops::params::{AffineParams, CropParams, ResizeParams};

use crate::image::cpu::raster::{AugImage, Dims, Interpolation, pad_index, q8, sample_at};
use crate::image::kernels::remap;
use crate::image::kernels::resize::{self, Window};

/// Mirrors left-right. Works on whole rows of the raw buffer (`imageops::flip_horizontal`
/// goes pixel by pixel through bounds-checked accessors, 2x slower on 224x224 RGB).
pub fn hflip(img: &AugImage) -> AugImage {
    img.map_raw(|src, d| {
        // Reversing a row's bytes reverses its pixels and, within each pixel, its channels;
        // a second reverse per pixel puts the channels back (a no-op for gray).
        let mut out = src.to_vec();
        for row in out.chunks_exact_mut(d.w * d.c) {
            if d.c == 3 && remap::mirror_rgb_row(row) {
                continue;
            }
            row.reverse();
            if d.c > 1 {
                for px in row.chunks_exact_mut(d.c) {
                    px.reverse();
                }
            }
        }
        (d, out)
    })
}

/// Mirrors top-bottom: the rows copied in reverse order.
pub fn vflip(img: &AugImage) -> AugImage {
    img.map_raw(|src, d| {
        let mut out = Vec::with_capacity(src.len());
        for row in src.chunks_exact(d.w * d.c).rev() {
            out.extend_from_slice(row);
        }
        (d, out)
    })
}

/// Warps by `p` keeping the size (torchvision `F.affine` / `F.rotate(expand=False)`). Each
/// output value is the interpolated input at the inverse-mapped position, rounded to 8 bits.
/// Outside the input: zeros without a fill; with `p.fill`, torchvision's mask rule (bilinear
/// border pixels `(S - fill) m + fill`, `S` the zero-padded sample and `m` the inside weight;
/// see `sample_at`).
pub fn affine(img: &AugImage, p: &AffineParams) -> AugImage {
    let m = p.inverse_matrix(img.width(), img.height());
    img.map_raw(|src, d| {
        if p.interpolation == Interpolation::Bilinear
            && let Some(out) = remap::affine_bilinear(src, d, &m, p.fill)
        {
            return (d, out);
        }
        (d, affine_per_pixel(src, d, &m, p))
    })
}

/// [`affine`] one output pixel at a time through [`sample_at`]: nearest-neighbour warps, and
/// bilinear ones that `remap::affine_bilinear` declines (its tests' reference).
pub(crate) fn affine_per_pixel(src: &[u8], d: Dims, m: &[f64; 6], p: &AffineParams) -> Vec<u8> {
    let mut out = vec![0u8; d.len()];
    let fill = p.fill.map(|f| f.map(f32::from));
    let (hw, hh) = (d.w as f64 * 0.5, d.h as f64 * 0.5);
    let mut px = [0f32; 3];
    for i in 0..d.h {
        let y = i as f64 + 0.5 - hh;
        for j in 0..d.w {
            let x = j as f64 + 0.5 - hw;
            let u = m[0] * x + m[1] * y + m[2] + hw - 0.5;
            let v = m[3] * x + m[4] * y + m[5] + hh - 0.5;
            sample_at(src, d, u as f32, v as f32, p.interpolation, fill, &mut px);
            let base = (i * d.w + j) * d.c;
            for k in 0..d.c {
                out[base + k] = q8(px[k]);
            }
        }
    }
    out
}

/// Copies the box `p` (exact: no interpolation).
pub fn crop(img: &AugImage, p: &CropParams) -> AugImage {
    img.map_raw(|src, d| {
        let od = Dims {
            w: p.width as usize,
            h: p.height as usize,
            c: d.c,
        };
        let mut out = vec![0u8; od.len()];
        let cols: Vec<Option<usize>> = (0..od.w)
            .map(|j| pad_index(p.left + j as i64, d.w, p.padding_mode))
            .collect();
        // Runs of consecutive source columns (copied at once; the interior of a padded crop
        // is one run) and of padding columns, found once for all rows.
        let mut runs: Vec<(usize, Option<usize>, usize)> = Vec::new();
        for (j, &col) in cols.iter().enumerate() {
            match (runs.last_mut(), col) {
                (Some((_, Some(c0), n)), Some(c)) if c == *c0 + *n => *n += 1,
                (Some((_, None, n)), None) => *n += 1,
                _ => runs.push((j, col, 1)),
            }
        }
        let fill = &p.fill[..d.c];
        for (i, out_row) in out.chunks_exact_mut(od.w * d.c).enumerate() {
            let Some(r) = pad_index(p.top + i as i64, d.h, p.padding_mode) else {
                for px in out_row.chunks_exact_mut(d.c) {
                    px.copy_from_slice(fill);
                }
                continue;
            };
            for &(j, col, n) in &runs {
                let out_run = &mut out_row[j * d.c..(j + n) * d.c];
                match col {
                    Some(c) => {
                        let s = (r * d.w + c) * d.c;
                        out_run.copy_from_slice(&src[s..s + n * d.c]);
                    }
                    None => {
                        for px in out_run.chunks_exact_mut(d.c) {
                            px.copy_from_slice(fill);
                        }
                    }
                }
            }
        }
        (od, out)
    })
}

/// Bilinear resize with PIL's `BILINEAR` filter: a triangle kernel on half-pixel centres,
/// widened by the scale factor when shrinking (antialiasing), which is torchvision's
/// `F.resize(..., BILINEAR, antialias=True)` and what `image::imageops::resize(..,
/// FilterType::Triangle)` computes, byte for byte (see `crate::image::kernels::resize`). Without
/// `antialias`, or when enlarging, plain bilinear interpolation: each output pixel blends
/// the 2x2 input pixels around `(o + 0.5) r - 0.5`, edges replicated (OpenCV
/// `INTER_LINEAR`, torchvision `antialias=False`). Same size: a copy.
pub fn resize(img: &AugImage, p: &ResizeParams) -> AugImage {
    if p.width == img.width() && p.height == img.height() {
        return img.clone();
    }
    let (w, h) = (p.width.max(1) as usize, p.height.max(1) as usize);
    img.map_raw(|src, d| {
        let od = Dims { w, h, c: d.c };
        if d.len() == 0 {
            return (od, vec![0; od.len()]);
        }
        let win = Window {
            data: src,
            offset: 0,
            stride: d.w * d.c,
            w: d.w,
            h: d.h,
            c: d.c,
        };
        (od, resize::resize(win, w, h, p.antialias))
    })
}

/// `resize(crop(img, c), r)` without the intermediate copy when the box lies inside the image
/// (`random-resized-crop`'s always does); `None` otherwise.
pub(crate) fn crop_resize(img: &AugImage, c: &CropParams, r: &ResizeParams) -> Option<AugImage> {
    let inside = c.top >= 0
        && c.left >= 0
        && c.width > 0
        && c.height > 0
        && c.left as u64 + c.width as u64 <= img.width() as u64
        && c.top as u64 + c.height as u64 <= img.height() as u64;
    if !inside {
        return None;
    }
    if (r.width.max(1), r.height.max(1)) == (c.width, c.height) {
        return Some(crop(img, c));
    }
    let (w, h) = (r.width.max(1) as usize, r.height.max(1) as usize);
    Some(img.map_raw(|src, d| {
        let win = Window {
            data: src,
            offset: (c.top as usize * d.w + c.left as usize) * d.c,
            stride: d.w * d.c,
            w: c.width as usize,
            h: c.height as usize,
            c: d.c,
        };
        (
            Dims { w, h, c: d.c },
            resize::resize(win, w, h, r.antialias),
        )
    }))
}
