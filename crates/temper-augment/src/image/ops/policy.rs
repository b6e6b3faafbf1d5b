//! Policies: `compose`, `random-apply`, `one-of`, RandAugment (Cubuk et al. 2020) and
//! TrivialAugmentWide (Müller & Hutter 2021) with torchvision's op lists and magnitude tables
//! (`torchvision/transforms/autoaugment.py`: `RandAugment._augmentation_space`,
//! `TrivialAugmentWide._augmentation_space`, `_apply_op`).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::image::cpu::raster::Interpolation;
use crate::image::ops::common::{Fill, MAX_BINS, MAX_POLICY_OPS, check_p, coin, keyed, randint};
use crate::image::ops::params::AffineParams;
use crate::image::ops::params::OpParams;
use crate::image::ops::{Op, nested_ops};

/// Samples `ops` in order, each seeing the size the previous ones produce.
pub fn sample_seq(ops: &[Op], rng: &mut ChaCha8Rng, width: u32, height: u32) -> Vec<OpParams> {
    let (mut w, mut h) = (width, height);
    ops.iter()
        .map(|op| {
            let p = op.sample(rng, w, h);
            (w, h) = p.output_size(w, h);
            p
        })
        .collect()
}

/// Checks nested ops; an error names the nested key (`ops[1].p = ...`).
fn check_all(ops: &[Op]) -> Result<(), String> {
    for (j, op) in ops.iter().enumerate() {
        op.check().map_err(|m| keyed(&format!("ops[{j}]"), &m))?;
    }
    Ok(())
}

/// `compose`: the ops in order (torchvision `Compose`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    /// The ops.
    #[serde(deserialize_with = "nested_ops")]
    pub ops: Vec<Op>,
}

impl ComposeConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_all(&self.ops)
    }

    /// Each op's parameters, in order.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        OpParams::Sequence(sample_seq(&self.ops, rng, width, height))
    }
}

/// `random-apply`: all the ops with probability `p`, else none (torchvision
/// `RandomApply(transforms, p=0.5)`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomApplyConfig {
    /// Probability; default 0.5.
    #[serde(default = "half")]
    pub p: f32,
    /// The ops.
    #[serde(deserialize_with = "nested_ops")]
    pub ops: Vec<Op>,
}

fn half() -> f32 {
    0.5
}

impl RandomApplyConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_all(&self.ops)
    }

    /// The coin, then the ops' parameters.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        if coin(rng, self.p) {
            OpParams::Sequence(sample_seq(&self.ops, rng, width, height))
        } else {
            OpParams::Identity
        }
    }
}

/// `one-of`: with probability `p`, one op drawn with probability proportional to `weights`
/// (uniform by default; torchvision `RandomChoice(transforms, p=None)`, albumentations
/// `OneOf`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneOfConfig {
    /// Probability of applying any; default 1.
    #[serde(default = "one")]
    pub p: f32,
    /// The candidates.
    #[serde(deserialize_with = "nested_ops")]
    pub ops: Vec<Op>,
    /// Relative weights, one per op; default equal.
    #[serde(default)]
    pub weights: Option<Vec<f32>>,
}

fn one() -> f32 {
    1.0
}

impl OneOfConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        if self.ops.is_empty() {
            return Err("ops must not be empty".into());
        }
        if let Some(w) = &self.weights {
            if w.len() != self.ops.len() {
                return Err(format!(
                    "weights has {} entries, expected one per op ({})",
                    w.len(),
                    self.ops.len()
                ));
            }
            if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f32>() <= 0.0 {
                return Err("weights must be non-negative with a positive sum".into());
            }
        }
        check_all(&self.ops)
    }

    /// The coin, `u = U(0, 1)`, the first op whose cumulative weight exceeds `u * total`.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        if self.ops.is_empty() || !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let pick = match &self.weights {
            None => randint(rng, 0, self.ops.len() as i64) as usize,
            Some(w) => {
                let target = rng.random::<f32>() * w.iter().sum::<f32>();
                let mut acc = 0.0;
                w.iter()
                    .position(|x| {
                        acc += x;
                        target < acc
                    })
                    .unwrap_or(w.len() - 1)
            }
        };
        self.ops[pick].sample(rng, width, height)
    }
}

/// The 14 ops of RandAugment and TrivialAugmentWide, in torchvision's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoAugmentOp {
    /// The image unchanged.
    Identity,
    /// Horizontal shear about the top-left corner; magnitude `tan` of the angle.
    ShearX,
    /// Vertical shear about the top-left corner; magnitude `tan` of the angle.
    ShearY,
    /// Horizontal translation by a whole number of pixels.
    TranslateX,
    /// Vertical translation by a whole number of pixels.
    TranslateY,
    /// Rotation about the centre, in degrees.
    Rotate,
    /// Brightness factor `1 + magnitude`.
    Brightness,
    /// Saturation factor `1 + magnitude` (PIL `ImageEnhance.Color`).
    Color,
    /// Contrast factor `1 + magnitude`.
    Contrast,
    /// Sharpness factor `1 + magnitude`.
    Sharpness,
    /// Keep the magnitude's number of high bits per channel.
    Posterize,
    /// Invert the pixels at or above the magnitude threshold.
    Solarize,
    /// Stretch each channel to the full range.
    AutoContrast,
    /// Equalize each channel's histogram.
    Equalize,
}

/// The op list of both policies.
pub const AUTO_AUGMENT_OPS: [AutoAugmentOp; 14] = {
    use AutoAugmentOp::*;
    [
        Identity,
        ShearX,
        ShearY,
        TranslateX,
        TranslateY,
        Rotate,
        Brightness,
        Color,
        Contrast,
        Sharpness,
        Posterize,
        Solarize,
        AutoContrast,
        Equalize,
    ]
};

/// `torch.linspace(a, b, n)[k]`.
fn linspace(a: f32, b: f32, n: u32, k: u32) -> f32 {
    a + (b - a) * k as f32 / (n - 1) as f32
}

/// `(magnitude at bin k, signed)` for `op`, from torchvision's `_augmentation_space` tables:
/// RandAugment (`wide = false`) or TrivialAugmentWide (`wide = true`); `None` for ops
/// without a magnitude (`Identity`, `AutoContrast`, `Equalize`).
pub fn magnitude(
    op: AutoAugmentOp,
    bins: u32,
    k: u32,
    width: u32,
    height: u32,
    wide: bool,
) -> Option<(f32, bool)> {
    use AutoAugmentOp::*;
    let lin = |hi: f32| linspace(0.0, hi, bins, k);
    Some(match (op, wide) {
        (Identity | AutoContrast | Equalize, _) => return None,
        (ShearX | ShearY, false) => (lin(0.3), true),
        (ShearX | ShearY, true) => (lin(0.99), true),
        (TranslateX, false) => (lin(150.0 / 331.0 * width as f32), true),
        (TranslateY, false) => (lin(150.0 / 331.0 * height as f32), true),
        (TranslateX | TranslateY, true) => (lin(32.0), true),
        (Rotate, false) => (lin(30.0), true),
        (Rotate, true) => (lin(135.0), true),
        (Brightness | Color | Contrast | Sharpness, false) => (lin(0.9), true),
        (Brightness | Color | Contrast | Sharpness, true) => (lin(0.99), true),
        // 8 - round(k / ((bins - 1) / 4)) (RandAugment), / 6 (wide); torch.round is half-even.
        (Posterize, w) => {
            let div = (bins - 1) as f32 / if w { 6.0 } else { 4.0 };
            (8.0 - (k as f32 / div).round_ties_even(), false)
        }
        (Solarize, _) => (linspace(255.0, 0.0, bins, k), false),
    })
}

/// torchvision `_apply_op(img, op, magnitude, interpolation, fill)` as parameters; `fill`
/// `None` is torchvision's `fill=None` (zeros outside, no mask; see [`AffineParams::fill`]).
pub fn auto_augment_params(
    op: AutoAugmentOp,
    mag: f32,
    interpolation: Interpolation,
    fill: Option<[u8; 3]>,
) -> OpParams {
    use AutoAugmentOp::*;
    let affine = |translate: [f32; 2], shear: [f32; 2], center| {
        OpParams::Affine(AffineParams {
            translate,
            shear,
            center,
            interpolation,
            fill,
            ..AffineParams::identity()
        })
    };
    let shear_deg = (mag as f64).atan().to_degrees() as f32;
    match op {
        Identity => OpParams::Identity,
        // F.affine(shear=[degrees(atan(m)), 0], center=[0, 0])
        ShearX => affine([0.0, 0.0], [shear_deg, 0.0], Some([0.0, 0.0])),
        ShearY => affine([0.0, 0.0], [0.0, shear_deg], Some([0.0, 0.0])),
        // F.affine(translate=[int(m), 0]): int() truncates toward zero
        TranslateX => affine([mag.trunc(), 0.0], [0.0, 0.0], None),
        TranslateY => affine([0.0, mag.trunc()], [0.0, 0.0], None),
        Rotate => OpParams::Affine(AffineParams {
            fill,
            ..AffineParams::rotation(mag, interpolation, [0; 3])
        }),
        Brightness => OpParams::Brightness(1.0 + mag),
        Color => OpParams::Saturation(1.0 + mag),
        Contrast => OpParams::Contrast(1.0 + mag),
        Sharpness => OpParams::Sharpness(1.0 + mag),
        Posterize => OpParams::Posterize(mag as u8),
        Solarize => OpParams::Solarize(mag),
        AutoContrast => OpParams::Autocontrast,
        Equalize => OpParams::Equalize,
    }
}

/// `randaugment`: torchvision `RandAugment(num_ops=2, magnitude=9, num_magnitude_bins=31,
/// interpolation=NEAREST, fill=None)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandAugmentConfig {
    /// Number of ops applied, at most [`MAX_POLICY_OPS`]; default 2.
    pub n: u32,
    /// Magnitude bin, `0..bins`; default 9.
    pub m: u32,
    /// Number of magnitude bins; default 31 (so `m` runs over 0..=30).
    pub bins: u32,
    /// Interpolation of the geometric ops; default `nearest` (torchvision's).
    pub interpolation: Interpolation,
    /// Fill of the geometric ops; default none (torchvision's): zeros outside, and a
    /// bilinear border pixel is its zero-padded sample. A value (0 included) switches to
    /// torchvision's mask rule, `(S - fill) m + fill` (see [`AffineParams::fill`]).
    pub fill: Option<Fill>,
}

impl Default for RandAugmentConfig {
    fn default() -> Self {
        RandAugmentConfig {
            n: 2,
            m: 9,
            bins: 31,
            interpolation: Interpolation::Nearest,
            fill: None,
        }
    }
}

fn check_bins(bins: u32) -> Result<(), String> {
    if !(2..=MAX_BINS).contains(&bins) {
        return Err(format!("bins = {bins} must be in 2..={MAX_BINS}"));
    }
    Ok(())
}

impl RandAugmentConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_bins(self.bins)?;
        if self.n > MAX_POLICY_OPS {
            return Err(format!("n = {} must be at most {MAX_POLICY_OPS}", self.n));
        }
        if self.m >= self.bins {
            return Err(format!("m = {} must be below bins = {}", self.m, self.bins));
        }
        Ok(())
    }

    /// torchvision `RandAugment.forward`, `n` times: `op = randint(14)`; magnitude the op's
    /// table at bin `m` (0 for ops without one); if signed, `randint(2) == 1` negates it.
    /// Always `n` entries ([`OpParams::Identity`] for the `Identity` op).
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        let fill = self.fill.map(|f| f.values().map(|v| v as u8));
        let ops = (0..self.n)
            .map(|_| {
                let op = AUTO_AUGMENT_OPS[randint(rng, 0, 14) as usize];
                let mut mag = 0.0;
                if let Some((m, signed)) = magnitude(op, self.bins, self.m, width, height, false) {
                    mag = m;
                    if signed && randint(rng, 0, 2) == 1 {
                        mag = -mag;
                    }
                }
                auto_augment_params(op, mag, self.interpolation, fill)
            })
            .collect();
        OpParams::Sequence(ops)
    }
}

/// `trivial-augment-wide`: torchvision `TrivialAugmentWide(num_magnitude_bins=31,
/// interpolation=NEAREST, fill=None)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrivialAugmentConfig {
    /// Number of magnitude bins; default 31.
    pub bins: u32,
    /// Interpolation of the geometric ops; default `nearest`.
    pub interpolation: Interpolation,
    /// Fill of the geometric ops; default none (torchvision's), as
    /// [`RandAugmentConfig::fill`].
    pub fill: Option<Fill>,
}

impl Default for TrivialAugmentConfig {
    fn default() -> Self {
        TrivialAugmentConfig {
            bins: 31,
            interpolation: Interpolation::Nearest,
            fill: None,
        }
    }
}

impl TrivialAugmentConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_bins(self.bins)
    }

    /// torchvision `TrivialAugmentWide.forward`: `op = randint(14)`; for ops with a table,
    /// bin `randint(bins)`; if signed, `randint(2) == 1` negates.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        let fill = self.fill.map(|f| f.values().map(|v| v as u8));
        let op = AUTO_AUGMENT_OPS[randint(rng, 0, 14) as usize];
        let mut mag = 0.0;
        if magnitude(op, self.bins, 0, width, height, true).is_some() {
            let k = randint(rng, 0, self.bins as i64) as u32;
            let (m, signed) = magnitude(op, self.bins, k, width, height, true).unwrap_or_default();
            mag = m;
            if signed && randint(rng, 0, 2) == 1 {
                mag = -mag;
            }
        }
        OpParams::Sequence(vec![auto_augment_params(op, mag, self.interpolation, fill)])
    }
}

crate::image::ops::config_from_inherent!(
    ComposeConfig,
    RandomApplyConfig,
    OneOfConfig,
    RandAugmentConfig,
    TrivialAugmentConfig
);
