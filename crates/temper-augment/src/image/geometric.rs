//! Geometric transforms with fixed parameters: flips, the affine family (rotation,
//! translation, scale, shear), crops with padding and resizing.
//!
//! Coordinates follow torchvision's tensor path (`torchvision/transforms/_functional_tensor.py`,
//! `_gen_affine_grid` + `grid_sample(align_corners=False)`): output pixel `(row i, col j)` has
//! centred coordinates `x = j + 0.5 - W/2`, `y = i + 0.5 - H/2`; the inverse affine matrix maps
//! it to the input position `(x', y')`, read at pixel index `u = x' + W/2 - 0.5`,
//! `v = y' + H/2 - 0.5` with bilinear or nearest interpolation.

use image::imageops::{self, FilterType};

use super::raster::{AugImage, Dims, Interpolation, PaddingMode, pad_index, q8, sample_at};

/// Parameters of one affine warp, torchvision `F.affine(img, angle, translate, scale, shear,
/// interpolation, fill, center)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineParams {
    /// Rotation in degrees, clockwise on screen (`F.affine`'s convention; `F.rotate(a)` is
    /// `F.affine(-a)`).
    pub angle: f32,
    /// Translation `[tx, ty]` in pixels (right, down).
    pub translate: [f32; 2],
    /// Zoom factor (> 0; above 1 enlarges the content).
    pub scale: f32,
    /// Shear angles `[sx, sy]` in degrees (x parallel to the x axis).
    pub shear: [f32; 2],
    /// Centre of the warp in pixel coordinates (origin at the top-left corner of the
    /// top-left pixel); `None` is the image centre.
    pub center: Option<[f32; 2]>,
    /// Interpolation.
    pub interpolation: Interpolation,
    /// Value of pixels mapped from outside the input.
    pub fill: [u8; 3],
}

impl AffineParams {
    /// The identity warp.
    pub fn identity() -> Self {
        AffineParams {
            angle: 0.0,
            translate: [0.0, 0.0],
            scale: 1.0,
            shear: [0.0, 0.0],
            center: None,
            interpolation: Interpolation::Bilinear,
            fill: [0; 3],
        }
    }

    /// A counter-clockwise rotation by `degrees` around the centre (torchvision `F.rotate`,
    /// which calls the affine matrix with `-angle`).
    pub fn rotation(degrees: f32, interpolation: Interpolation, fill: [u8; 3]) -> Self {
        AffineParams {
            angle: -degrees,
            interpolation,
            fill,
            ..Self::identity()
        }
    }

    /// The inverse matrix `[a, b, c, d, e, f]` mapping centred output coordinates to centred
    /// input ones, `x' = a x + b y + c`, `y' = d x + e y + f`: torchvision
    /// `_get_inverse_affine_matrix` (`torchvision/transforms/functional.py`), i.e.
    /// `M^-1 = C RSS^-1 C^-1 T^-1` with `RSS = R(angle) S(scale) SHy(sy) SHx(sx)`.
    pub fn inverse_matrix(&self, width: u32, height: u32) -> [f64; 6] {
        let rot = (self.angle as f64).to_radians();
        let sx = (self.shear[0] as f64).to_radians();
        let sy = (self.shear[1] as f64).to_radians();
        let (cx, cy) = match self.center {
            None => (0.0, 0.0),
            Some([x, y]) => (
                x as f64 - width as f64 * 0.5,
                y as f64 - height as f64 * 0.5,
            ),
        };
        let (tx, ty) = (self.translate[0] as f64, self.translate[1] as f64);
        let a = (rot - sy).cos() / sy.cos();
        let b = -(rot - sy).cos() * sx.tan() / sy.cos() - rot.sin();
        let c = (rot - sy).sin() / sy.cos();
        let d = -(rot - sy).sin() * sx.tan() / sy.cos() + rot.cos();
        let s = self.scale as f64;
        let mut m = [d / s, -b / s, 0.0, -c / s, a / s, 0.0];
        m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
        m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
        m[2] += cx;
        m[5] += cy;
        m
    }
}

/// Mirrors left-right. Works on whole rows of the raw buffer (`imageops::flip_horizontal`
/// goes pixel by pixel through bounds-checked accessors, 2x slower on 224x224 RGB).
pub fn hflip(img: &AugImage) -> AugImage {
    img.map_raw(|src, d| {
        // Reversing a row's bytes reverses its pixels and, within each pixel, its channels;
        // a second reverse per pixel puts the channels back (a no-op for gray).
        let mut out = src.to_vec();
        for row in out.chunks_exact_mut(d.w * d.c) {
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
/// output value is the interpolated input at the inverse-mapped position, rounded to 8 bits;
/// positions outside the input blend into `p.fill` (see [`sample_at`]).
pub fn affine(img: &AugImage, p: &AffineParams) -> AugImage {
    let m = p.inverse_matrix(img.width(), img.height());
    img.map_raw(|src, d| {
        let mut out = vec![0u8; d.len()];
        let fill = p.fill.map(|v| v as f32);
        let (hw, hh) = (d.w as f64 * 0.5, d.h as f64 * 0.5);
        let mut px = [0f32; 3];
        for i in 0..d.h {
            let y = i as f64 + 0.5 - hh;
            for j in 0..d.w {
                let x = j as f64 + 0.5 - hw;
                let u = m[0] * x + m[1] * y + m[2] + hw - 0.5;
                let v = m[3] * x + m[4] * y + m[5] + hh - 0.5;
                sample_at(src, d, u as f32, v as f32, p.interpolation, &fill, &mut px);
                let base = (i * d.w + j) * d.c;
                for k in 0..d.c {
                    out[base + k] = q8(px[k]);
                }
            }
        }
        (d, out)
    })
}

/// A crop box on the input extended by padding: rows `top..top + height`, columns
/// `left..left + width`, where coordinates outside the image read as `padding_mode` says.
/// torchvision's `RandomCrop(size, padding=p)` draws a box on the padded image; shifted by
/// `-p` it is this box with negative `top`/`left` allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropParams {
    /// First row (may be negative or past the image: padding).
    pub top: i64,
    /// First column.
    pub left: i64,
    /// Output height.
    pub height: u32,
    /// Output width.
    pub width: u32,
    /// How pixels outside the input are read.
    pub padding_mode: PaddingMode,
    /// Value for [`PaddingMode::Constant`].
    pub fill: [u8; 3],
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
        for (i, out_row) in out.chunks_exact_mut(od.w * d.c).enumerate() {
            let row = pad_index(p.top + i as i64, d.h, p.padding_mode);
            let mut j = 0;
            while j < od.w {
                match (row, cols[j]) {
                    (Some(r), Some(c)) => {
                        // Copy the whole run of consecutive source columns at once (the
                        // interior of a padded crop is one run).
                        let mut run = 1;
                        while j + run < od.w && cols[j + run] == Some(c + run) {
                            run += 1;
                        }
                        let s = (r * d.w + c) * d.c;
                        out_row[j * d.c..(j + run) * d.c].copy_from_slice(&src[s..s + run * d.c]);
                        j += run;
                    }
                    _ => {
                        out_row[j * d.c..(j + 1) * d.c].copy_from_slice(&p.fill[..d.c]);
                        j += 1;
                    }
                }
            }
        }
        (od, out)
    })
}

/// Target size of a resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeParams {
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
}

/// Bilinear resize with PIL's `BILINEAR` filter: a triangle kernel on half-pixel centres,
/// widened by the scale factor when shrinking (antialiasing), which is torchvision's
/// `F.resize(..., BILINEAR, antialias=True)`. Enlarging is plain bilinear interpolation.
/// Implemented by `image::imageops::resize(.., FilterType::Triangle)`. Same size: a copy.
pub fn resize(img: &AugImage, p: &ResizeParams) -> AugImage {
    if p.width == img.width() && p.height == img.height() {
        return img.clone();
    }
    let (w, h) = (p.width.max(1), p.height.max(1));
    match img {
        AugImage::Gray(i) => AugImage::Gray(imageops::resize(i, w, h, FilterType::Triangle)),
        AugImage::Rgb(i) => AugImage::Rgb(imageops::resize(i, w, h, FilterType::Triangle)),
    }
}
