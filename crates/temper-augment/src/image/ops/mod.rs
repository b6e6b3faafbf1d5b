//! [`Op`]: every image op with its random ranges, as written in an experiment's `[augment]`
//! section (`{ op = "rotate", degrees = 15 }`), and its two steps: [`Op::sample`] draws an
//! [`OpParams`] from a seeded stream, [`apply`](crate::image::apply) applies it.
//!
//! Each op's config lives in its family's module ([`geometric`], [`photometric`],
//! [`occlusion`], [`policy`]) together with its range checks and its sampling (the crate's
//! `Config` trait, or `SharedConfig` for a config several ops share). The `ops!` table
//! below names each op once (TOML name, variant, config): the enum, [`OP_NAMES`],
//! [`Op::name`], the TOML parsing, [`Op::validate`] and [`Op::sample`] all come from it, so a
//! new op adds one line here and no match arm.

pub mod common;
pub mod geometric;
pub mod occlusion;
pub mod params;
pub mod photometric;
pub mod policy;
pub mod settings;

use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

use crate::image::error::{ImageAugError, Result};
use crate::image::ops::params::OpParams;

/// An op's config: its range checks and its sampling, implemented next to the config's
/// definition. The `ops!` table below dispatches [`Op::check`] and [`Op::sample`] to it, so a
/// new op needs no match arm here.
pub(crate) trait Config {
    /// The range checks; the message starts with the field at fault (`size = ...`), nested
    /// ops' with their key (`ops[1].p = ...`).
    fn check(&self) -> std::result::Result<(), String>;

    /// Draws the op's parameters for an input of `width x height` from `rng`.
    fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams;
}

/// A config shared by several ops that differ only in the [`OpParams`] they produce (the
/// flips; brightness, contrast and saturation; invert, equalize and autocontrast): sampling
/// takes the parameters to produce, `make`.
pub(crate) trait SharedConfig {
    /// What names the parameters to produce: the [`OpParams`] itself, or its constructor.
    type Make;

    /// As [`Config::check`].
    fn check(&self) -> std::result::Result<(), String>;

    /// As [`Config::sample`], producing `make`'s parameters.
    fn sample_as(&self, rng: &mut ChaCha8Rng, make: Self::Make) -> OpParams;
}

/// Implements [`Config`] for configs whose inherent `validate` and `sample(rng, width,
/// height)` are the op's check and sampling.
macro_rules! config_from_inherent {
    ($($cfg:ty),* $(,)?) => {
        $(
            impl crate::image::ops::Config for $cfg {
                fn check(&self) -> std::result::Result<(), String> {
                    self.validate()
                }

                fn sample(
                    &self,
                    rng: &mut rand_chacha::ChaCha8Rng,
                    width: u32,
                    height: u32,
                ) -> crate::image::ops::params::OpParams {
                    <$cfg>::sample(self, rng, width, height)
                }
            }
        )*
    };
}
pub(crate) use config_from_inherent;

/// The `Op` enum, its name table and its dispatch, from one line per op:
/// `"name" => Variant(Config)`, or `"name" => Variant(SharedConfig) as make` for a config
/// shared by several ops.
macro_rules! ops {
    (@check $c:ident) => { Config::check($c) };
    (@check $c:ident, $make:expr) => { SharedConfig::check($c) };
    (@sample $c:ident, $rng:ident, $w:ident, $h:ident) => { Config::sample($c, $rng, $w, $h) };
    (@sample $c:ident, $rng:ident, $w:ident, $h:ident, $make:expr) => {
        SharedConfig::sample_as($c, $rng, $make)
    };
    ($( $(#[$doc:meta])* $name:literal => $variant:ident($cfg:ty) $(as $make:expr)? ),* $(,)?) => {
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

            /// The range checks behind [`Op::validate`]; the message starts with the field
            /// at fault (`size = ...`), nested ops' with their key (`ops[1].p = ...`).
            pub(crate) fn check(&self) -> std::result::Result<(), String> {
                match self { $( Op::$variant(c) => ops!(@check c $(, $make)?), )* }
            }

            /// Draws this op's parameters for an input of `width x height` from `rng`. Pure:
            /// the result depends only on the config, the size and the stream.
            pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
                match self {
                    $( Op::$variant(c) => ops!(@sample c, rng, width, height $(, $make)?), )*
                }
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
    "hflip" => HFlip(geometric::FlipConfig) as OpParams::HFlip,
    /// Mirror top-bottom.
    "vflip" => VFlip(geometric::FlipConfig) as OpParams::VFlip,
    /// Rotation around the centre.
    "rotate" => Rotate(geometric::RotateConfig),
    /// Translation.
    "translate" => Translate(geometric::TranslateConfig),
    /// Zoom.
    "scale" => Scale(geometric::ScaleConfig),
    /// Shear.
    "shear" => Shear(geometric::ShearConfig),
    /// Rotation, translation, zoom and shear in one warp.
    "affine" => Affine(geometric::AffineConfig),
    /// Crop at a random position after padding.
    "random-crop" => RandomCrop(geometric::RandomCropConfig),
    /// Central crop.
    "center-crop" => CenterCrop(geometric::CenterCropConfig),
    /// Crop of random area and aspect, resized.
    "random-resized-crop" => RandomResizedCrop(geometric::RandomResizedCropConfig),
    /// Resize.
    "resize" => Resize(geometric::ResizeConfig),
    /// Brightness factor.
    "brightness" => Brightness(photometric::FactorConfig) as OpParams::Brightness,
    /// Contrast factor.
    "contrast" => Contrast(photometric::FactorConfig) as OpParams::Contrast,
    /// Saturation factor.
    "saturation" => Saturation(photometric::FactorConfig) as OpParams::Saturation,
    /// Hue shift.
    "hue" => Hue(photometric::HueConfig),
    /// Brightness, contrast, saturation and hue in random order.
    "color-jitter" => ColorJitter(photometric::ColorJitterConfig),
    /// Gamma curve.
    "gamma" => Gamma(photometric::GammaConfig),
    /// Additive Gaussian noise.
    "gaussian-noise" => GaussianNoise(photometric::GaussianNoiseConfig),
    /// Impulse noise.
    "salt-and-pepper" => SaltAndPepper(photometric::SaltAndPepperConfig),
    /// Gaussian blur.
    "gaussian-blur" => GaussianBlur(photometric::GaussianBlurConfig),
    /// Sharpness factor.
    "sharpness" => Sharpness(photometric::SharpnessConfig),
    /// Luma in every channel.
    "grayscale" => Grayscale(photometric::GrayscaleConfig),
    /// `255 - v`.
    "invert" => Invert(photometric::ProbConfig) as OpParams::Invert,
    /// Invert values above a threshold.
    "solarize" => Solarize(photometric::SolarizeConfig),
    /// Keep the high bits.
    "posterize" => Posterize(photometric::PosterizeConfig),
    /// Histogram equalization.
    "equalize" => Equalize(photometric::ProbConfig) as OpParams::Equalize,
    /// Per-channel contrast stretch.
    "autocontrast" => Autocontrast(photometric::ProbConfig) as OpParams::Autocontrast,
    /// Random erasing.
    "random-erasing" => RandomErasing(occlusion::RandomErasingConfig),
    /// Cutout squares.
    "cutout" => Cutout(occlusion::CutoutConfig),
    /// RandAugment policy.
    "randaugment" => RandAugment(policy::RandAugmentConfig),
    /// TrivialAugmentWide policy.
    "trivial-augment-wide" => TrivialAugmentWide(policy::TrivialAugmentConfig),
    /// Ops in order.
    "compose" => Compose(policy::ComposeConfig),
    /// Ops in order, all or none.
    "random-apply" => RandomApply(policy::RandomApplyConfig),
    /// One op of several.
    "one-of" => OneOf(policy::OneOfConfig),
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
                let key = crate::image::ops::common::keyed(&format!("ops[{j}]"), &m);
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
}
