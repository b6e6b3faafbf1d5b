//! Config and parameter sampling of the photometric ops: torchvision's `ColorJitter`,
//! `RandomGrayscale`, `RandomInvert`, `RandomSolarize`, `RandomPosterize`, `RandomEqualize`,
//! `RandomAutocontrast`, `RandomAdjustSharpness`, `GaussianBlur`, v2 `GaussianNoise`;
//! albumentations' `RandomGamma` and `SaltAndPepper`.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::image::ops::common::{
    MAX_KERNEL_SIZE, Span, check_p, check_range, coin, factor, flip, uniform,
};
use crate::image::ops::params::OpParams;
use crate::image::ops::{Config, SharedConfig};

/// An op with a factor range: `brightness`, `contrast`, `saturation` (a single number `d`
/// means `[max(0, 1 - d), 1 + d]`, as `ColorJitter`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FactorConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Factor range; default 0.4 (timm's `color_jitter=0.4`).
    pub factor: Span,
}

impl Default for FactorConfig {
    fn default() -> Self {
        FactorConfig {
            p: 1.0,
            factor: Span::One(0.4),
        }
    }
}

/// `sharpness`: torchvision `RandomAdjustSharpness(sharpness_factor, p=0.5)`; the factor may
/// also be a range `[lo, hi]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharpnessConfig {
    /// Probability; default 0.5 (`RandomAdjustSharpness`).
    pub p: f32,
    /// Factor, fixed or `[lo, hi]`; default 2.
    pub factor: Span,
}

impl Default for SharpnessConfig {
    fn default() -> Self {
        SharpnessConfig {
            p: 0.5,
            factor: Span::One(2.0),
        }
    }
}

/// `hue`: a shift in turns drawn from `U(shift)` (a single number `d` means `[-d, d]`, as
/// `ColorJitter(hue=d)`), within `[-0.5, 0.5]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HueConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Shift range; default 0.1.
    pub shift: Span,
}

impl Default for HueConfig {
    fn default() -> Self {
        HueConfig {
            p: 1.0,
            shift: Span::One(0.1),
        }
    }
}

/// `color-jitter`: torchvision `ColorJitter(brightness, contrast, saturation, hue)`: the four
/// adjustments in a random order, each with its factor drawn; 0 disables one (the defaults).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColorJitterConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Brightness (`d` means `[max(0, 1 - d), 1 + d]`); default 0.
    pub brightness: Span,
    /// Contrast, likewise; default 0.
    pub contrast: Span,
    /// Saturation, likewise; default 0.
    pub saturation: Span,
    /// Hue shift (`d` means `[-d, d]`, at most 0.5); default 0.
    pub hue: Span,
}

impl Default for ColorJitterConfig {
    fn default() -> Self {
        ColorJitterConfig {
            p: 1.0,
            brightness: Span::One(0.0),
            contrast: Span::One(0.0),
            saturation: Span::One(0.0),
            hue: Span::One(0.0),
        }
    }
}

/// `gamma`: albumentations `RandomGamma(gamma_limit=(80, 120))`, i.e. `gamma = U(0.8, 1.2)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GammaConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Exponent range; default `[0.8, 1.2]`.
    pub gamma: Span,
    /// Gain; default 1.
    pub gain: f32,
}

impl Default for GammaConfig {
    fn default() -> Self {
        GammaConfig {
            p: 1.0,
            gamma: Span::Two([0.8, 1.2]),
            gain: 1.0,
        }
    }
}

/// `gaussian-noise`: torchvision v2 `GaussianNoise(mean=0, sigma=0.1, clip=True)` on the
/// `[0, 1]` scale; `sigma` may be a range.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussianNoiseConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Noise mean; default 0.
    pub mean: f32,
    /// Standard deviation, fixed or `[lo, hi]`; default 0.1.
    pub sigma: Span,
}

impl Default for GaussianNoiseConfig {
    fn default() -> Self {
        GaussianNoiseConfig {
            p: 1.0,
            mean: 0.0,
            sigma: Span::One(0.1),
        }
    }
}

/// `salt-and-pepper`: albumentations `SaltAndPepper(amount_range=(0.01, 0.06),
/// salt_vs_pepper_range=(0.4, 0.6), p=0.5)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SaltAndPepperConfig {
    /// Probability; default 0.5.
    pub p: f32,
    /// Fraction of pixels replaced; default `[0.01, 0.06]`.
    pub amount: [f32; 2],
    /// Fraction of replaced pixels that become white; default `[0.4, 0.6]`.
    pub salt_vs_pepper: [f32; 2],
}

impl Default for SaltAndPepperConfig {
    fn default() -> Self {
        SaltAndPepperConfig {
            p: 0.5,
            amount: [0.01, 0.06],
            salt_vs_pepper: [0.4, 0.6],
        }
    }
}

/// `gaussian-blur`: torchvision `GaussianBlur(kernel_size, sigma=(0.1, 2.0))`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussianBlurConfig {
    /// Probability; default 1.
    pub p: f32,
    /// Odd kernel size, at most [`MAX_KERNEL_SIZE`]; default
    /// 3.
    pub kernel_size: u32,
    /// Standard deviation range in pixels; default `[0.1, 2.0]`.
    pub sigma: Span,
}

impl Default for GaussianBlurConfig {
    fn default() -> Self {
        GaussianBlurConfig {
            p: 1.0,
            kernel_size: 3,
            sigma: Span::Two([0.1, 2.0]),
        }
    }
}

/// An op with only a probability: `invert`, `equalize`, `autocontrast` (default 0.5, as
/// torchvision's `RandomInvert` etc.).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbConfig {
    /// Probability; default 0.5.
    pub p: f32,
}

impl Default for ProbConfig {
    fn default() -> Self {
        ProbConfig { p: 0.5 }
    }
}

/// `grayscale`: torchvision `RandomGrayscale(p=0.1)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrayscaleConfig {
    /// Probability; default 0.1.
    pub p: f32,
}

impl Default for GrayscaleConfig {
    fn default() -> Self {
        GrayscaleConfig { p: 0.1 }
    }
}

/// `solarize`: torchvision `RandomSolarize(threshold, p=0.5)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolarizeConfig {
    /// Probability; default 0.5.
    pub p: f32,
    /// Values `>= threshold` are inverted; default 128.
    pub threshold: f32,
}

impl Default for SolarizeConfig {
    fn default() -> Self {
        SolarizeConfig {
            p: 0.5,
            threshold: 128.0,
        }
    }
}

/// `posterize`: torchvision `RandomPosterize(bits, p=0.5)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PosterizeConfig {
    /// Probability; default 0.5.
    pub p: f32,
    /// Bits kept, `0..=8`; default 4.
    pub bits: u8,
}

impl Default for PosterizeConfig {
    fn default() -> Self {
        PosterizeConfig { p: 0.5, bits: 4 }
    }
}

pub(crate) fn validate_factor(p: f32, range: [f32; 2]) -> Result<(), String> {
    check_p(p)?;
    check_range("factor", range, 0.0, f32::MAX)
}

impl ColorJitterConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("brightness", self.brightness.around_one(), 0.0, f32::MAX)?;
        check_range("contrast", self.contrast.around_one(), 0.0, f32::MAX)?;
        check_range("saturation", self.saturation.around_one(), 0.0, f32::MAX)?;
        check_range("hue", self.hue.symmetric(), -0.5, 0.5)
    }

    /// torchvision `ColorJitter.get_params`: `order = randperm(4)`, then a factor for each
    /// enabled adjustment (brightness, contrast, saturation, hue, in that order); the
    /// adjustments are applied in `order`.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let mut order = [0usize, 1, 2, 3];
        order.shuffle(rng);
        let b = self.brightness.around_one();
        let c = self.contrast.around_one();
        let s = self.saturation.around_one();
        let h = self.hue.symmetric();
        let on = |r: [f32; 2], id: f32| r != [id, id];
        let fb = on(b, 1.0).then(|| OpParams::Brightness(uniform(rng, b)));
        let fc = on(c, 1.0).then(|| OpParams::Contrast(uniform(rng, c)));
        let fs = on(s, 1.0).then(|| OpParams::Saturation(uniform(rng, s)));
        let fh = on(h, 0.0).then(|| OpParams::Hue(uniform(rng, h)));
        let mut parts = [fb, fc, fs, fh];
        OpParams::Sequence(order.iter().filter_map(|&i| parts[i].take()).collect())
    }
}

/// Draws a seed for an op's noise field.
pub(crate) fn noise_seed(rng: &mut ChaCha8Rng) -> u64 {
    rng.random()
}

impl SharedConfig for FactorConfig {
    type Make = fn(f32) -> OpParams;

    fn check(&self) -> Result<(), String> {
        validate_factor(self.p, self.factor.around_one())
    }

    fn sample_as(&self, rng: &mut ChaCha8Rng, make: fn(f32) -> OpParams) -> OpParams {
        factor(rng, self.p, self.factor.around_one(), make)
    }
}

impl SharedConfig for ProbConfig {
    type Make = OpParams;

    fn check(&self) -> Result<(), String> {
        check_p(self.p)
    }

    fn sample_as(&self, rng: &mut ChaCha8Rng, make: OpParams) -> OpParams {
        flip(self.p, rng, make)
    }
}

impl Config for SharpnessConfig {
    fn check(&self) -> Result<(), String> {
        validate_factor(self.p, self.factor.fixed())
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        factor(rng, self.p, self.factor.fixed(), OpParams::Sharpness)
    }
}

impl Config for HueConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("shift", self.shift.symmetric(), -0.5, 0.5)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        factor(rng, self.p, self.shift.symmetric(), OpParams::Hue)
    }
}

impl Config for ColorJitterConfig {
    fn check(&self) -> Result<(), String> {
        self.validate()
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        ColorJitterConfig::sample(self, rng)
    }
}

impl Config for GammaConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("gamma", self.gamma.fixed(), f32::MIN_POSITIVE, f32::MAX)?;
        check_range("gain", [self.gain, self.gain], 0.0, f32::MAX)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        OpParams::Gamma {
            gamma: uniform(rng, self.gamma.fixed()),
            gain: self.gain,
        }
    }
}

impl Config for GaussianNoiseConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("sigma", self.sigma.fixed(), 0.0, f32::MAX)?;
        check_range("mean", [self.mean, self.mean], -1.0, 1.0)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let sigma = uniform(rng, self.sigma.fixed());
        OpParams::GaussianNoise {
            mean: self.mean,
            sigma,
            seed: noise_seed(rng),
        }
    }
}

impl Config for SaltAndPepperConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("amount", self.amount, 0.0, 1.0)?;
        check_range("salt_vs_pepper", self.salt_vs_pepper, 0.0, 1.0)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let amount = uniform(rng, self.amount);
        let salt = uniform(rng, self.salt_vs_pepper);
        OpParams::SaltAndPepper {
            amount,
            salt,
            seed: noise_seed(rng),
        }
    }
}

impl Config for GaussianBlurConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        if self.kernel_size.is_multiple_of(2) || self.kernel_size > MAX_KERNEL_SIZE {
            return Err(format!(
                "kernel_size = {} must be odd and in 1..={MAX_KERNEL_SIZE}",
                self.kernel_size
            ));
        }
        check_range("sigma", self.sigma.fixed(), f32::MIN_POSITIVE, f32::MAX)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        OpParams::GaussianBlur {
            kernel_size: self.kernel_size,
            sigma: uniform(rng, self.sigma.fixed()),
        }
    }
}

impl Config for GrayscaleConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        flip(self.p, rng, OpParams::Grayscale)
    }
}

impl Config for SolarizeConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("threshold", [self.threshold, self.threshold], 0.0, 256.0)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        flip(self.p, rng, OpParams::Solarize(self.threshold))
    }
}

impl Config for PosterizeConfig {
    fn check(&self) -> Result<(), String> {
        check_p(self.p)?;
        if self.bits > 8 {
            return Err(format!("bits = {} must be in 0..=8", self.bits));
        }
        Ok(())
    }

    fn sample(&self, rng: &mut ChaCha8Rng, _width: u32, _height: u32) -> OpParams {
        flip(self.p, rng, OpParams::Posterize(self.bits))
    }
}
