//! [`OpParams`]: one op with all its random choices made. Sampling ([`Op::sample`]) draws
//! these from a seeded stream; [`apply`] is a deterministic function of the image and the
//! parameters. A batched (device) path replays the same parameters on a tensor.
//!
//! [`Op::sample`]: super::Op::sample

use super::geometric::{self, AffineParams, CropParams, ResizeParams};
use super::occlusion::{self, EraseBox};
use super::photometric as ph;
use super::raster::AugImage;

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

/// Applies `params` to `img` (deterministic).
pub fn apply(img: &AugImage, params: &OpParams) -> AugImage {
    match params {
        OpParams::Identity => img.clone(),
        OpParams::HFlip => geometric::hflip(img),
        OpParams::VFlip => geometric::vflip(img),
        OpParams::Affine(a) => geometric::affine(img, a),
        OpParams::Crop(c) => geometric::crop(img, c),
        OpParams::Resize(r) => geometric::resize(img, r),
        OpParams::Brightness(f) => ph::brightness(img, *f),
        OpParams::Contrast(f) => ph::contrast(img, *f),
        OpParams::Saturation(f) => ph::saturation(img, *f),
        OpParams::Hue(h) => ph::hue(img, *h),
        OpParams::Gamma { gamma, gain } => ph::gamma(img, *gamma, *gain),
        OpParams::Sharpness(f) => ph::sharpness(img, *f),
        OpParams::GaussianBlur { kernel_size, sigma } => {
            ph::gaussian_blur(img, *kernel_size, *sigma)
        }
        OpParams::GaussianNoise { mean, sigma, seed } => {
            ph::gaussian_noise(img, *mean, *sigma, *seed)
        }
        OpParams::SaltAndPepper { amount, salt, seed } => {
            ph::salt_and_pepper(img, *amount, *salt, *seed)
        }
        OpParams::Grayscale => ph::grayscale(img),
        OpParams::Invert => ph::invert(img),
        OpParams::Solarize(t) => ph::solarize(img, *t),
        OpParams::Posterize(b) => ph::posterize(img, *b),
        OpParams::Equalize => ph::equalize(img),
        OpParams::Autocontrast => ph::autocontrast(img),
        OpParams::Erase(boxes) => occlusion::erase(img, boxes),
        OpParams::Sequence(s) => apply_all(img, s),
    }
}

/// Applies each of `params` in order. A crop followed by a resize (`random-resized-crop`) runs as one resize of the crop box.
pub fn apply_all(img: &AugImage, params: &[OpParams]) -> AugImage {
    let mut acc: Option<AugImage> = None;
    let mut i = 0;
    while i < params.len() {
        let cur = acc.as_ref().unwrap_or(img);
        if let (OpParams::Crop(c), Some(OpParams::Resize(r))) = (&params[i], params.get(i + 1))
            && let Some(out) = geometric::crop_resize(cur, c, r)
        {
            acc = Some(out);
            i += 2;
            continue;
        }
        acc = Some(apply(cur, &params[i]));
        i += 1;
    }
    acc.unwrap_or_else(|| img.clone())
}
