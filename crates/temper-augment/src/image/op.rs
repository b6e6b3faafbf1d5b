//! [`Op`]: every image op with its random ranges, as written in an experiment's `[augment]`
//! section (`{ op = "rotate", degrees = 15 }`), and its two steps: [`Op::sample`] draws an
//! [`OpParams`] from a seeded stream, [`apply`](super::params::apply) applies it.

use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

use super::common::{MAX_KERNEL_SIZE, check_p, check_range, coin, uniform};
use super::error::{ImageAugError, Result};
use super::geometric_ops::{
    AffineConfig, CenterCropConfig, FlipConfig, RandomCropConfig, RandomResizedCropConfig,
    ResizeConfig, RotateConfig, ScaleConfig, ShearConfig, TranslateConfig, flip,
};
use super::occlusion::{CutoutConfig, RandomErasingConfig};
use super::params::OpParams;
use super::photometric_ops::{
    ColorJitterConfig, FactorConfig, GammaConfig, GaussianBlurConfig, GaussianNoiseConfig,
    GrayscaleConfig, HueConfig, PosterizeConfig, ProbConfig, SaltAndPepperConfig, SharpnessConfig,
    SolarizeConfig, noise_seed, validate_factor,
};
use super::policy::{
    ComposeConfig, OneOfConfig, RandAugmentConfig, RandomApplyConfig, TrivialAugmentConfig,
};

macro_rules! ops {
    ($( $(#[$doc:meta])* $name:literal => $variant:ident($cfg:ty) ),* $(,)?) => {
        /// One op of a pipeline; the TOML tag `op` names the variant.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Op {
            $( $(#[$doc])* $variant($cfg), )*
        }

        /// The TOML names of every op, in declaration order.
        pub const OP_NAMES: &[&str] = &[$($name),*];

        impl Op {
            /// The op's TOML name.
            pub fn name(&self) -> &'static str {
                match self { $( Op::$variant(_) => $name, )* }
            }

            fn from_table(
                name: &str,
                table: toml::Table,
                check: bool,
            ) -> std::result::Result<Op, String> {
                let op = match name {
                    $( $name => <$cfg>::deserialize(toml::Value::Table(table))
                        .map(Op::$variant)
                        .map_err(|e| one_line(&e.to_string()))?, )*
                    _ => return Err(format!(
                        "unknown op {name:?}; expected one of: {}", OP_NAMES.join(", ")
                    )),
                };
                if check {
                    op.check()?;
                }
                Ok(op)
            }
        }
    };
}

ops! {
    /// Mirror left-right.
    "hflip" => HFlip(FlipConfig),
    /// Mirror top-bottom.
    "vflip" => VFlip(FlipConfig),
    /// Rotation around the centre.
    "rotate" => Rotate(RotateConfig),
    /// Translation.
    "translate" => Translate(TranslateConfig),
    /// Zoom.
    "scale" => Scale(ScaleConfig),
    /// Shear.
    "shear" => Shear(ShearConfig),
    /// Rotation, translation, zoom and shear in one warp.
    "affine" => Affine(AffineConfig),
    /// Crop at a random position after padding.
    "random-crop" => RandomCrop(RandomCropConfig),
    /// Central crop.
    "center-crop" => CenterCrop(CenterCropConfig),
    /// Crop of random area and aspect, resized.
    "random-resized-crop" => RandomResizedCrop(RandomResizedCropConfig),
    /// Resize.
    "resize" => Resize(ResizeConfig),
    /// Brightness factor.
    "brightness" => Brightness(FactorConfig),
    /// Contrast factor.
    "contrast" => Contrast(FactorConfig),
    /// Saturation factor.
    "saturation" => Saturation(FactorConfig),
    /// Hue shift.
    "hue" => Hue(HueConfig),
    /// Brightness, contrast, saturation and hue in random order.
    "color-jitter" => ColorJitter(ColorJitterConfig),
    /// Gamma curve.
    "gamma" => Gamma(GammaConfig),
    /// Additive Gaussian noise.
    "gaussian-noise" => GaussianNoise(GaussianNoiseConfig),
    /// Impulse noise.
    "salt-and-pepper" => SaltAndPepper(SaltAndPepperConfig),
    /// Gaussian blur.
    "gaussian-blur" => GaussianBlur(GaussianBlurConfig),
    /// Sharpness factor.
    "sharpness" => Sharpness(SharpnessConfig),
    /// Luma in every channel.
    "grayscale" => Grayscale(GrayscaleConfig),
    /// `255 - v`.
    "invert" => Invert(ProbConfig),
    /// Invert values above a threshold.
    "solarize" => Solarize(SolarizeConfig),
    /// Keep the high bits.
    "posterize" => Posterize(PosterizeConfig),
    /// Histogram equalization.
    "equalize" => Equalize(ProbConfig),
    /// Per-channel contrast stretch.
    "autocontrast" => Autocontrast(ProbConfig),
    /// Random erasing.
    "random-erasing" => RandomErasing(RandomErasingConfig),
    /// Cutout squares.
    "cutout" => Cutout(CutoutConfig),
    /// RandAugment policy.
    "randaugment" => RandAugment(RandAugmentConfig),
    /// TrivialAugmentWide policy.
    "trivial-augment-wide" => TrivialAugmentWide(TrivialAugmentConfig),
    /// Ops in order.
    "compose" => Compose(ComposeConfig),
    /// Ops in order, all or none.
    "random-apply" => RandomApply(RandomApplyConfig),
    /// One op of several.
    "one-of" => OneOf(OneOfConfig),
}

/// Joins a possibly multi-line message into one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Op {
    /// An op from its TOML table (`{ op = "rotate", degrees = 15 }`), parsed and, with `check`,
    /// validated; the error is the bare message (`degrees = ... must be ...`, `unknown field
    /// ...`) with the op's name, for the caller to prefix with the key it knows.
    pub(crate) fn from_value(
        value: toml::Value,
        check: bool,
    ) -> std::result::Result<Op, (String, String)> {
        let toml::Value::Table(mut table) = value else {
            return Err((
                String::new(),
                format!(
                    "expected a table {{ op = ... }}, found {}",
                    value.type_str()
                ),
            ));
        };
        let name = match table.remove("op") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err((
                    String::new(),
                    format!("`op` must be a string, found {}", other.type_str()),
                ));
            }
            None => {
                return Err((
                    String::new(),
                    format!("missing field `op` (one of: {})", OP_NAMES.join(", ")),
                ));
            }
        };
        Op::from_table(&name, table, check).map_err(|m| (name, m))
    }
}

/// Deserializes the `ops` of a policy (`compose`, `one-of`, ...) without validating them: the
/// policy's own check does, naming each by its key (`ops[1].size = ...`).
pub(crate) fn nested_ops<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<Op>, D::Error> {
    let values = Vec::<toml::Value>::deserialize(d)?;
    values
        .into_iter()
        .enumerate()
        .map(|(j, v)| {
            Op::from_value(v, false).map_err(|(name, m)| {
                let key = super::common::keyed(&format!("ops[{j}]"), &m);
                D::Error::custom(if name.is_empty() {
                    key
                } else {
                    format!("{key} (op {name:?})")
                })
            })
        })
        .collect()
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = toml::Value::Table(toml::Table::deserialize(d)?);
        Op::from_value(value, true).map_err(|(name, m)| {
            D::Error::custom(if name.is_empty() {
                m
            } else {
                format!("op {name:?}: {m}")
            })
        })
    }
}

impl Op {
    /// Checks every range and probability, recursing into policies; the error names the op.
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|message| ImageAugError::Op {
            op: self.name().to_string(),
            message,
        })
    }

    /// The range checks behind [`Op::validate`]; the message starts with the field at fault
    /// (`size = ...`), nested ops' with their key (`ops[1].p = ...`).
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        match self {
            Op::HFlip(c) | Op::VFlip(c) => check_p(c.p),
            Op::Rotate(c) => c.validate(),
            Op::Translate(c) => c.as_affine().validate(),
            Op::Scale(c) => c.as_affine().validate(),
            Op::Shear(c) => c.as_affine().validate(),
            Op::Affine(c) => c.validate(),
            Op::RandomCrop(c) => c.validate(),
            Op::CenterCrop(c) => c.validate(),
            Op::RandomResizedCrop(c) => c.validate(),
            Op::Resize(c) => c.validate(),
            Op::Brightness(c) | Op::Contrast(c) | Op::Saturation(c) => {
                validate_factor(c.p, c.factor.around_one())
            }
            Op::Sharpness(c) => validate_factor(c.p, c.factor.fixed()),
            Op::Hue(c) => {
                check_p(c.p)?;
                check_range("shift", c.shift.symmetric(), -0.5, 0.5)
            }
            Op::ColorJitter(c) => c.validate(),
            Op::Gamma(c) => {
                check_p(c.p)?;
                check_range("gamma", c.gamma.fixed(), f32::MIN_POSITIVE, f32::MAX)?;
                check_range("gain", [c.gain, c.gain], 0.0, f32::MAX)
            }
            Op::GaussianNoise(c) => {
                check_p(c.p)?;
                check_range("sigma", c.sigma.fixed(), 0.0, f32::MAX)?;
                check_range("mean", [c.mean, c.mean], -1.0, 1.0)
            }
            Op::SaltAndPepper(c) => {
                check_p(c.p)?;
                check_range("amount", c.amount, 0.0, 1.0)?;
                check_range("salt_vs_pepper", c.salt_vs_pepper, 0.0, 1.0)
            }
            Op::GaussianBlur(c) => {
                check_p(c.p)?;
                if c.kernel_size % 2 == 0 || c.kernel_size > MAX_KERNEL_SIZE {
                    return Err(format!(
                        "kernel_size = {} must be odd and in 1..={MAX_KERNEL_SIZE}",
                        c.kernel_size
                    ));
                }
                check_range("sigma", c.sigma.fixed(), f32::MIN_POSITIVE, f32::MAX)
            }
            Op::Grayscale(c) => check_p(c.p),
            Op::Invert(c) | Op::Equalize(c) | Op::Autocontrast(c) => check_p(c.p),
            Op::Solarize(c) => {
                check_p(c.p)?;
                check_range("threshold", [c.threshold, c.threshold], 0.0, 256.0)
            }
            Op::Posterize(c) => {
                check_p(c.p)?;
                if c.bits > 8 {
                    return Err(format!("bits = {} must be in 0..=8", c.bits));
                }
                Ok(())
            }
            Op::RandomErasing(c) => c.validate(),
            Op::Cutout(c) => c.validate(),
            Op::RandAugment(c) => c.validate(),
            Op::TrivialAugmentWide(c) => c.validate(),
            Op::Compose(c) => c.validate(),
            Op::RandomApply(c) => c.validate(),
            Op::OneOf(c) => c.validate(),
        }
    }

    /// Draws this op's parameters for an input of `width x height` from `rng`. Pure: the
    /// result depends only on the config, the size and the stream.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        let (w, h) = (width, height);
        let factor = |rng: &mut ChaCha8Rng, p: f32, r: [f32; 2], f: fn(f32) -> OpParams| {
            if coin(rng, p) {
                f(uniform(rng, r))
            } else {
                OpParams::Identity
            }
        };
        match self {
            Op::HFlip(c) => flip(c.p, rng, OpParams::HFlip),
            Op::VFlip(c) => flip(c.p, rng, OpParams::VFlip),
            Op::Rotate(c) => c.sample(rng, w, h),
            Op::Translate(c) => c.as_affine().sample(rng, w, h),
            Op::Scale(c) => c.as_affine().sample(rng, w, h),
            Op::Shear(c) => c.as_affine().sample(rng, w, h),
            Op::Affine(c) => c.sample(rng, w, h),
            Op::RandomCrop(c) => c.sample(rng, w, h),
            Op::CenterCrop(c) => c.sample(rng, w, h),
            Op::RandomResizedCrop(c) => c.sample(rng, w, h),
            Op::Resize(c) => c.sample(rng, w, h),
            Op::Brightness(c) => factor(rng, c.p, c.factor.around_one(), OpParams::Brightness),
            Op::Contrast(c) => factor(rng, c.p, c.factor.around_one(), OpParams::Contrast),
            Op::Saturation(c) => factor(rng, c.p, c.factor.around_one(), OpParams::Saturation),
            Op::Sharpness(c) => factor(rng, c.p, c.factor.fixed(), OpParams::Sharpness),
            Op::Hue(c) => factor(rng, c.p, c.shift.symmetric(), OpParams::Hue),
            Op::ColorJitter(c) => c.sample(rng),
            Op::Gamma(c) => {
                if !coin(rng, c.p) {
                    return OpParams::Identity;
                }
                OpParams::Gamma {
                    gamma: uniform(rng, c.gamma.fixed()),
                    gain: c.gain,
                }
            }
            Op::GaussianNoise(c) => {
                if !coin(rng, c.p) {
                    return OpParams::Identity;
                }
                let sigma = uniform(rng, c.sigma.fixed());
                OpParams::GaussianNoise {
                    mean: c.mean,
                    sigma,
                    seed: noise_seed(rng),
                }
            }
            Op::SaltAndPepper(c) => {
                if !coin(rng, c.p) {
                    return OpParams::Identity;
                }
                let amount = uniform(rng, c.amount);
                let salt = uniform(rng, c.salt_vs_pepper);
                OpParams::SaltAndPepper {
                    amount,
                    salt,
                    seed: noise_seed(rng),
                }
            }
            Op::GaussianBlur(c) => {
                if !coin(rng, c.p) {
                    return OpParams::Identity;
                }
                OpParams::GaussianBlur {
                    kernel_size: c.kernel_size,
                    sigma: uniform(rng, c.sigma.fixed()),
                }
            }
            Op::Grayscale(c) => flip(c.p, rng, OpParams::Grayscale),
            Op::Invert(c) => flip(c.p, rng, OpParams::Invert),
            Op::Equalize(c) => flip(c.p, rng, OpParams::Equalize),
            Op::Autocontrast(c) => flip(c.p, rng, OpParams::Autocontrast),
            Op::Solarize(c) => flip(c.p, rng, OpParams::Solarize(c.threshold)),
            Op::Posterize(c) => flip(c.p, rng, OpParams::Posterize(c.bits)),
            Op::RandomErasing(c) => c.sample(rng, w, h),
            Op::Cutout(c) => c.sample(rng, w, h),
            Op::RandAugment(c) => c.sample(rng, w, h),
            Op::TrivialAugmentWide(c) => c.sample(rng, w, h),
            Op::Compose(c) => c.sample(rng, w, h),
            Op::RandomApply(c) => c.sample(rng, w, h),
            Op::OneOf(c) => c.sample(rng, w, h),
        }
    }
}
