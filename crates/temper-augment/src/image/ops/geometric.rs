//! Config and parameter sampling of the geometric ops (torchvision's `RandomHorizontalFlip`,
//! `RandomVerticalFlip`, `RandomRotation`, `RandomAffine`, `RandomCrop`, `CenterCrop`,
//! `RandomResizedCrop`, `Resize`; `torchvision/transforms/transforms.py`).
//!
//! The fill of the warps (`affine`, `rotate`, `translate`, `scale`, `shear`) is
//! torchvision's rule (`_apply_grid_transform` in
//! `torchvision/transforms/v2/functional/_geometry.py`). With an explicit fill `f` — which
//! `RandomRotation` and `RandomAffine` always pass, their default being `fill=0`, and so do
//! these ops — a channel of ones is sampled along with the image, zeros padded, as the mask
//! `m`; a bilinear pixel is `mask * (img - fill) + fill`, i.e. `(S - f) m + f` rounded, with
//! `S` the weighted sum of its inside neighbours (zeros outside) and `m` their weight. On
//! the one-pixel ring where the image edge crosses the output (`0 < m < 1`) the inside sum
//! is thus weighted twice (`S m`, not `S`): e.g. half a pixel of value 200 beyond the edge
//! with fill 0 gives `100 * 0.5 = 50`, where blending the fill with the outside weight
//! would give 100 (at most `255 m (1 - m) <= 63.75` levels apart). Pixels fully inside are
//! `S` (`m = 1`) and pixels fully outside `f`. Without a fill (`fill=None`, the default of
//! `F.affine` / `F.rotate` and of RandAugment and TrivialAugment) there is no mask: `S`,
//! with zeros outside. Nearest interpolation: the fill (0 without one) where the nearest
//! pixel lies outside (torchvision's `mask < 0.5`).

use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::image::cpu::raster::{Interpolation, PaddingMode};
use crate::image::ops::common::{
    Fill, MAX_PADDING, Sides, Size, Span, check_p, check_range, check_size, coin, flip, randint,
    uniform,
};
use crate::image::ops::params::OpParams;
use crate::image::ops::params::{AffineParams, CropParams, ResizeParams};
use crate::image::ops::{Config, SharedConfig, config_from_inherent};

/// `hflip` / `vflip`: torchvision `RandomHorizontalFlip(p=0.5)` / `RandomVerticalFlip(p=0.5)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlipConfig {
    /// Probability of flipping; default 0.5.
    pub p: f32,
}

impl Default for FlipConfig {
    fn default() -> Self {
        FlipConfig { p: 0.5 }
    }
}

/// Shear range: `s` (x shear in `[-s, s]`), `[a, b]` (x shear) or `[a, b, c, d]` (x in
/// `[a, b]`, y in `[c, d]`), degrees, as torchvision `RandomAffine(shear=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ShearSpan {
    /// `s -> x in [-s, s]`.
    One(f32),
    /// x range.
    Two([f32; 2]),
    /// x range then y range.
    Four([f32; 4]),
}

impl ShearSpan {
    fn ranges(self) -> ([f32; 2], Option<[f32; 2]>) {
        match self {
            ShearSpan::One(s) => ([-s.abs(), s.abs()], None),
            ShearSpan::Two(r) => (r, None),
            ShearSpan::Four([a, b, c, d]) => ([a, b], Some([c, d])),
        }
    }
}

/// `affine`: torchvision `RandomAffine(degrees, translate, scale, shear, interpolation, fill,
/// center)`; also the sampler behind `rotate`, `translate`, `scale` and `shear`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AffineConfig {
    /// Probability of warping; default 1 (torchvision always warps).
    pub p: f32,
    /// Rotation range in degrees (`d` means `[-d, d]`); default 0.
    pub degrees: Span,
    /// Largest translation as fractions `[of width, of height]`; default none.
    pub translate: Option<[f32; 2]>,
    /// Zoom range; default none (1).
    pub scale: Option<[f32; 2]>,
    /// Shear range in degrees; default none.
    pub shear: Option<ShearSpan>,
    /// Interpolation; default `bilinear` (torchvision's default is `nearest`).
    pub interpolation: Interpolation,
    /// Fill of pixels mapped from outside; default 0 (torchvision's). Bilinear border pixels
    /// follow torchvision's mask rule, `(S - fill) m + fill` (module doc).
    pub fill: Fill,
    /// Centre `[x, y]` in pixels; default the image centre.
    pub center: Option<[f32; 2]>,
}

impl Default for AffineConfig {
    fn default() -> Self {
        AffineConfig {
            p: 1.0,
            degrees: Span::One(0.0),
            translate: None,
            scale: None,
            shear: None,
            interpolation: Interpolation::Bilinear,
            fill: Fill::default(),
            center: None,
        }
    }
}

fn fill_u8(f: Fill) -> [u8; 3] {
    f.values().map(|v| v as u8)
}

impl AffineConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("degrees", self.degrees.symmetric(), -360.0, 360.0)?;
        if let Some(t) = self.translate {
            check_range("translate", t, 0.0, 1.0)?;
        }
        if let Some(s) = self.scale {
            check_range("scale", s, f32::MIN_POSITIVE, f32::MAX)?;
        }
        if let Some(s) = self.shear {
            let (x, y) = s.ranges();
            check_range("shear", x, -89.0, 89.0)?;
            if let Some(y) = y {
                check_range("shear", y, -89.0, 89.0)?;
            }
        }
        Ok(())
    }

    /// torchvision `RandomAffine.get_params`, in its order: `angle = U(degrees)`;
    /// `tx = round(U(-dx W, dx W))`, `ty = round(U(-dy H, dy H))`; `scale = U(scale)`;
    /// `shear_x = U(shear_x)`, `shear_y = U(shear_y)`. Unset parts draw nothing.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let angle = uniform(rng, self.degrees.symmetric());
        let translate = match self.translate {
            Some([fx, fy]) => {
                let (mx, my) = (fx * width as f32, fy * height as f32);
                [
                    uniform(rng, [-mx, mx]).round(),
                    uniform(rng, [-my, my]).round(),
                ]
            }
            None => [0.0, 0.0],
        };
        let scale = self.scale.map_or(1.0, |s| uniform(rng, s));
        let shear = match self.shear.map(ShearSpan::ranges) {
            Some((x, y)) => [uniform(rng, x), y.map_or(0.0, |y| uniform(rng, y))],
            None => [0.0, 0.0],
        };
        OpParams::Affine(AffineParams {
            angle,
            translate,
            scale,
            shear,
            center: self.center,
            interpolation: self.interpolation,
            fill: Some(fill_u8(self.fill)),
        })
    }
}

/// `rotate`: torchvision `RandomRotation(degrees)`: a counter-clockwise rotation by
/// `U(degrees)` around the centre, same size.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RotateConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Angle range in degrees (`d` means `[-d, d]`); default 15.
    pub degrees: Span,
    /// Interpolation; default `bilinear` (torchvision's default is `nearest`).
    pub interpolation: Interpolation,
    /// Fill of the uncovered corners; default 0 (torchvision's). Bilinear border pixels
    /// follow torchvision's mask rule, `(S - fill) m + fill` (module doc).
    pub fill: Fill,
}

impl Default for RotateConfig {
    fn default() -> Self {
        RotateConfig {
            p: 1.0,
            degrees: Span::One(15.0),
            interpolation: Interpolation::Bilinear,
            fill: Fill::default(),
        }
    }
}

impl RotateConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("degrees", self.degrees.symmetric(), -360.0, 360.0)
    }

    /// `angle = U(degrees)` (torchvision `RandomRotation.get_params`).
    pub fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let angle = uniform(rng, self.degrees.symmetric());
        OpParams::Affine(AffineParams::rotation(
            angle,
            self.interpolation,
            fill_u8(self.fill),
        ))
    }
}

/// Builds the three one-component affine ops (`translate`, `scale`, `shear`).
macro_rules! affine_part {
    ($(#[$doc:meta])* $name:ident, $field:ident: $ty:ty = $default:expr, $wrap:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Probability; default 1.
            pub p: f32,
            /// The range (see the op's doc).
            pub $field: $ty,
            /// Interpolation; default `bilinear`.
            pub interpolation: Interpolation,
            /// Fill of uncovered pixels; default 0 (torchvision's). Bilinear border pixels
            /// follow torchvision's mask rule, `(S - fill) m + fill` (module doc).
            pub fill: Fill,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    p: 1.0,
                    $field: $default,
                    interpolation: Interpolation::Bilinear,
                    fill: Fill::default(),
                }
            }
        }

        impl Config for $name {
            fn check(&self) -> Result<(), String> {
                self.as_affine().validate()
            }

            fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
                self.as_affine().sample(rng, width, height)
            }
        }

        impl $name {
            /// As [`AffineConfig`] with only this component.
            pub fn as_affine(&self) -> AffineConfig {
                #[allow(clippy::redundant_closure_call)]
                let base = ($wrap)(self.$field);
                AffineConfig {
                    p: self.p,
                    interpolation: self.interpolation,
                    fill: self.fill,
                    ..base
                }
            }
        }
    };
}

affine_part!(
    /// `translate`: `RandomAffine(degrees=0, translate=fraction)`; `fraction` is the largest
    /// shift as `[of width, of height]`, default `[0.1, 0.1]`.
    TranslateConfig, fraction: [f32; 2] = [0.1, 0.1],
    |f| AffineConfig { translate: Some(f), ..AffineConfig::default() }
);
affine_part!(
    /// `scale`: `RandomAffine(degrees=0, scale=range)`, zoom range default `[0.9, 1.1]`.
    ScaleConfig, range: [f32; 2] = [0.9, 1.1],
    |s| AffineConfig { scale: Some(s), ..AffineConfig::default() }
);
affine_part!(
    /// `shear`: `RandomAffine(degrees=0, shear=degrees)`, default 10 (x shear in `[-10, 10]`).
    ShearConfig, degrees: ShearSpan = ShearSpan::One(10.0),
    |s| AffineConfig { shear: Some(s), ..AffineConfig::default() }
);

/// `random-crop`: torchvision `RandomCrop(size, padding, pad_if_needed=True, fill,
/// padding_mode)`: pad, then crop `size` at a uniform position.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomCropConfig {
    /// Output size, each side in `1..=`[`MAX_SIDE`](crate::image::ops::common::MAX_SIDE); default the
    /// input size.
    pub size: Option<Size>,
    /// Padding added before cropping, at most [`MAX_PADDING`] per side; default 0.
    pub padding: Sides,
    /// How the padding is filled; default `constant`.
    pub padding_mode: PaddingMode,
    /// Fill for `constant` padding; default 0.
    pub fill: Fill,
}

impl Default for RandomCropConfig {
    fn default() -> Self {
        RandomCropConfig {
            size: None,
            padding: Sides::default(),
            padding_mode: PaddingMode::Constant,
            fill: Fill::default(),
        }
    }
}

impl RandomCropConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(size) = self.size {
            check_size("size", size.hw())?;
        }
        let ltrb = self.padding.ltrb();
        if ltrb.iter().any(|&p| p > MAX_PADDING) {
            return Err(format!(
                "padding = {ltrb:?} must be at most {MAX_PADDING} per side"
            ));
        }
        Ok(())
    }

    /// torchvision `RandomCrop.forward`: pad by `padding`; if still smaller than `size`, pad
    /// the shortfall on both sides (`pad_if_needed`); `top = randint(0, H' - h + 1)`,
    /// `left = randint(0, W' - w + 1)` on the padded image (no draw when it equals `size`).
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        let (th, tw) = self.size.map_or((height, width), Size::hw);
        let [l, t, r, b] = self.padding.ltrb().map(|v| v as i64);
        let (mut w, mut h) = (width as i64 + l + r, height as i64 + t + b);
        let (mut off_x, mut off_y) = (l, t);
        if w < tw as i64 {
            let d = tw as i64 - w;
            (w, off_x) = (w + 2 * d, off_x + d);
        }
        if h < th as i64 {
            let d = th as i64 - h;
            (h, off_y) = (h + 2 * d, off_y + d);
        }
        let (i, j) = if h == th as i64 && w == tw as i64 {
            (0, 0)
        } else {
            let i = randint(rng, 0, h - th as i64 + 1);
            (i, randint(rng, 0, w - tw as i64 + 1))
        };
        OpParams::Crop(CropParams {
            top: i - off_y,
            left: j - off_x,
            height: th,
            width: tw,
            padding_mode: self.padding_mode,
            fill: fill_u8(self.fill),
        })
    }
}

/// `center-crop`: torchvision `CenterCrop(size)`, padding with 0 when `size` is larger.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CenterCropConfig {
    /// Output size.
    pub size: Size,
}

impl CenterCropConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        RandomCropConfig {
            size: Some(self.size),
            ..RandomCropConfig::default()
        }
        .validate()
    }

    /// torchvision `center_crop`: `top = round((H - h) / 2)` (half to even, Python's `round`),
    /// or `-floor((h - H) / 2)` when padding; likewise `left`.
    pub fn sample(&self, _rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        let (th, tw) = self.size.hw();
        let start = |n: u32, t: u32| -> i64 {
            if t > n {
                -(((t - n) / 2) as i64)
            } else {
                ((n - t) as f64 / 2.0).round_ties_even() as i64
            }
        };
        OpParams::Crop(CropParams {
            top: start(height, th),
            left: start(width, tw),
            height: th,
            width: tw,
            padding_mode: PaddingMode::Constant,
            fill: [0; 3],
        })
    }
}

/// `random-resized-crop`: torchvision `RandomResizedCrop(size, scale=(0.08, 1.0),
/// ratio=(3/4, 4/3), antialias=True)`, bilinear.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomResizedCropConfig {
    /// Output size; default the input size.
    pub size: Option<Size>,
    /// Range of the crop area as a fraction of the image; default `[0.08, 1.0]`.
    pub scale: [f32; 2],
    /// Range of the aspect ratio width/height, sampled log-uniformly; default `[3/4, 4/3]`.
    pub ratio: [f32; 2],
    /// Widen the filter when the crop shrinks (see [`ResizeConfig::antialias`]); default
    /// true.
    pub antialias: bool,
}

impl Default for RandomResizedCropConfig {
    fn default() -> Self {
        RandomResizedCropConfig {
            size: None,
            scale: [0.08, 1.0],
            ratio: [3.0 / 4.0, 4.0 / 3.0],
            antialias: true,
        }
    }
}

impl RandomResizedCropConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_range("scale", self.scale, f32::MIN_POSITIVE, 1.0)?;
        check_range("ratio", self.ratio, f32::MIN_POSITIVE, f32::MAX)?;
        RandomCropConfig {
            size: self.size,
            ..RandomCropConfig::default()
        }
        .validate()
    }

    /// The crop box, torchvision `RandomResizedCrop.get_params`: up to 10 tries of
    /// `area = H W U(scale)`, `r = exp(U(log ratio))`, `w = round(sqrt(area r))`,
    /// `h = round(sqrt(area / r))`, accepted when `0 < w <= W` and `0 < h <= H`, at
    /// `top = randint(0, H - h + 1)`, `left = randint(0, W - w + 1)`. Fallback: a central
    /// crop of the whole image clamped to the ratio range.
    pub fn crop_box(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> [u32; 4] {
        let (wf, hf) = (width as f64, height as f64);
        let area = wf * hf;
        let log_ratio = [self.ratio[0].ln(), self.ratio[1].ln()];
        for _ in 0..10 {
            let target = area * uniform(rng, self.scale) as f64;
            let aspect = (uniform(rng, log_ratio) as f64).exp();
            let w = (target * aspect).sqrt().round() as i64;
            let h = (target / aspect).sqrt().round() as i64;
            if 0 < w && w <= width as i64 && 0 < h && h <= height as i64 {
                let top = randint(rng, 0, height as i64 - h + 1);
                let left = randint(rng, 0, width as i64 - w + 1);
                return [top as u32, left as u32, h as u32, w as u32];
            }
        }
        let in_ratio = wf / hf;
        let (lo, hi) = (self.ratio[0] as f64, self.ratio[1] as f64);
        let (w, h) = if in_ratio < lo {
            (width, (wf / lo).round() as u32)
        } else if in_ratio > hi {
            ((hf * hi).round() as u32, height)
        } else {
            (width, height)
        };
        [(height - h) / 2, (width - w) / 2, h, w]
    }

    /// The crop box then the resize to `size`.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        let [top, left, h, w] = self.crop_box(rng, width, height);
        let (oh, ow) = self.size.map_or((height, width), Size::hw);
        OpParams::Sequence(vec![
            OpParams::Crop(CropParams {
                top: top as i64,
                left: left as i64,
                height: h,
                width: w,
                padding_mode: PaddingMode::Constant,
                fill: [0; 3],
            }),
            OpParams::Resize(ResizeParams {
                width: ow,
                height: oh,
                antialias: self.antialias,
            }),
        ])
    }
}

/// `resize`: torchvision `Resize([h, w], antialias=True)`, bilinear. A single number means a
/// square (torchvision's single number sets the shorter side instead).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResizeConfig {
    /// Output size.
    pub size: Size,
    /// When shrinking, widen the bilinear filter by the scale factor so every input pixel
    /// counts (torchvision `antialias=True`, PIL `BILINEAR`); default true. False reads only
    /// the 2x2 pixels nearest each output (OpenCV `INTER_LINEAR`, albumentations' default):
    /// faster, and aliased when shrinking by more than 2x.
    #[serde(default = "antialias_default")]
    pub antialias: bool,
}

fn antialias_default() -> bool {
    true
}

impl ResizeConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        RandomCropConfig {
            size: Some(self.size),
            ..RandomCropConfig::default()
        }
        .validate()
    }

    /// Draws nothing.
    pub fn sample(&self, _rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        let (height, width) = self.size.hw();
        OpParams::Resize(ResizeParams {
            width,
            height,
            antialias: self.antialias,
        })
    }
}

impl SharedConfig for FlipConfig {
    type Make = OpParams;

    fn check(&self) -> Result<(), String> {
        check_p(self.p)
    }

    fn sample_as(&self, rng: &mut ChaCha8Rng, make: OpParams) -> OpParams {
        flip(self.p, rng, make)
    }
}

config_from_inherent!(
    RotateConfig,
    AffineConfig,
    RandomCropConfig,
    CenterCropConfig,
    RandomResizedCropConfig,
    ResizeConfig,
);
