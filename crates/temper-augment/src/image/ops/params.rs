//! [`OpParams`]: one op with all its random choices made. Sampling ([`Op::sample`]) draws
//! these from a seeded stream; [`apply`](crate::image::apply) is a deterministic function of the image and the
//! parameters. A batched (device) path replays the same parameters on a tensor.
//!
//! [`Op::sample`]: super::Op::sample

use crate::image::cpu::raster::{Interpolation, PaddingMode};

/// A transform with fixed parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum OpParams {
    /// No change (an op whose coin came up tails, or RandAugment's `Identity`).
    Identity,
    /// Mirror left-right.
    HFlip,
    /// Mirror top-bottom.
    VFlip,
    /// Affine warp keeping the size.
    Affine(AffineParams),
    /// Crop box, possibly reaching into padding.
    Crop(CropParams),
    /// Resize to a size.
    Resize(ResizeParams),
    /// Brightness factor.
    Brightness(f32),
    /// Contrast factor.
    Contrast(f32),
    /// Saturation factor.
    Saturation(f32),
    /// Hue shift in turns, `[-0.5, 0.5]`.
    Hue(f32),
    /// `gain (v/255)^gamma`.
    Gamma {
        /// Exponent.
        gamma: f32,
        /// Gain.
        gain: f32,
    },
    /// Sharpness factor.
    Sharpness(f32),
    /// Gaussian blur.
    GaussianBlur {
        /// Odd kernel size.
        kernel_size: u32,
        /// Standard deviation in pixels.
        sigma: f32,
    },
    /// Additive Gaussian noise on the `[0, 1]` scale.
    GaussianNoise {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        sigma: f32,
        /// Seed of the noise field.
        seed: u64,
    },
    /// Impulse noise.
    SaltAndPepper {
        /// Fraction of pixels replaced.
        amount: f32,
        /// Fraction of those that become white.
        salt: f32,
        /// Seed of the mask.
        seed: u64,
    },
    /// Luma in every channel.
    Grayscale,
    /// `255 - v`.
    Invert,
    /// Invert values `>= threshold`.
    Solarize(f32),
    /// Keep this many high bits.
    Posterize(u8),
    /// Histogram equalization.
    Equalize,
    /// Per-channel stretch to `0..255`.
    Autocontrast,
    /// Erase boxes.
    Erase(Vec<EraseBox>),
    /// Several transforms in order (Compose, RandAugment, ColorJitter, resized crop).
    Sequence(Vec<OpParams>),
}

impl OpParams {
    /// `(width, height)` of the output for an input of `(width, height)`.
    pub fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        match self {
            OpParams::Crop(c) => (c.width, c.height),
            OpParams::Resize(r) => (r.width.max(1), r.height.max(1)),
            OpParams::Sequence(s) => s
                .iter()
                .fold((width, height), |(w, h), p| p.output_size(w, h)),
            _ => (width, height),
        }
    }

    /// Number of leaf transforms (a [`OpParams::Sequence`] counts its members, recursively;
    /// [`OpParams::Identity`] counts as one).
    pub fn leaf_count(&self) -> usize {
        match self {
            OpParams::Sequence(s) => s.iter().map(OpParams::leaf_count).sum(),
            _ => 1,
        }
    }
}

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
    /// Value of pixels mapped from outside the input, torchvision's `fill`: `None` reads
    /// zeros outside (`fill=None`); a value applies torchvision's mask rule, under which a
    /// bilinear border pixel is `(S - fill) m + fill` with `S` the zero-padded sample and `m`
    /// the weight of its neighbours inside (`_apply_grid_transform`,
    /// `torchvision/transforms/v2/functional/_geometry.py`).
    pub fill: Option<[u8; 3]>,
}

impl AffineParams {
    /// The identity warp, with `F.affine`'s defaults: bilinear, no fill.
    pub fn identity() -> Self {
        AffineParams {
            angle: 0.0,
            translate: [0.0, 0.0],
            scale: 1.0,
            shear: [0.0, 0.0],
            center: None,
            interpolation: Interpolation::Bilinear,
            fill: None,
        }
    }

    /// A counter-clockwise rotation by `degrees` around the centre with the explicit `fill`
    /// (torchvision `F.rotate(img, degrees, interpolation, fill=fill)`, which calls the
    /// affine matrix with `-angle`).
    pub fn rotation(degrees: f32, interpolation: Interpolation, fill: [u8; 3]) -> Self {
        AffineParams {
            angle: -degrees,
            interpolation,
            fill: Some(fill),
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

/// Target size of a resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeParams {
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Widen the filter when shrinking (torchvision `antialias=True`); without, plain
    /// bilinear interpolation of the 2x2 nearest pixels (OpenCV `INTER_LINEAR`).
    pub antialias: bool,
}

/// What an erased box is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseFill {
    /// A value per channel.
    Constant([u8; 3]),
    /// Independent uniform values in `0..=255`, drawn in memory order from ChaCha8 seeded
    /// with the given seed.
    Random(u64),
}

/// One erased box: rows `top..top + height`, columns `left..left + width` (inside the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EraseBox {
    /// First row.
    pub top: u32,
    /// First column.
    pub left: u32,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// Fill.
    pub fill: EraseFill,
}
