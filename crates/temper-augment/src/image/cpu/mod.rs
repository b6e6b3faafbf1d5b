//! The CPU path: each op's deterministic step on an [`AugImage`], [`apply`] (one
//! [`OpParams`]) and [`apply_all`] (a sequence, fusing a crop and the resize after it).
//!
//! - [`raster`]: [`AugImage`], PNG/JPEG/BMP I/O, sampling and padding helpers, NCHW export.
//! - [`geometric`]: flips, the affine family, crops, resize.
//! - [`photometric`]: color, tone, blur, sharpness, noise.
//! - [`occlusion`]: erasing boxes.
//! - [`pipeline`]: [`Pipeline`](pipeline::Pipeline), batch augmentation (rayon), the preview grid.
//! - [`mix`]: MixUp / CutMix / label smoothing on `f32` NCHW batches.
//!
//! The pixel loops they call live in the private `image::kernels` module.

pub mod geometric;
pub mod mix;
pub mod occlusion;
pub mod photometric;
pub mod pipeline;
pub mod raster;

use super::ops::params::OpParams;
use geometric as geo;
use photometric as ph;
use raster::AugImage;

/// Applies `params` to `img` (deterministic).
pub fn apply(img: &AugImage, params: &OpParams) -> AugImage {
    match params {
        OpParams::Identity => img.clone(),
        OpParams::HFlip => geo::hflip(img),
        OpParams::VFlip => geo::vflip(img),
        OpParams::Affine(a) => geo::affine(img, a),
        OpParams::Crop(c) => geo::crop(img, c),
        OpParams::Resize(r) => geo::resize(img, r),
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
            && let Some(out) = geo::crop_resize(cur, c, r)
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
