//! Image augmentation on 8-bit gray and RGB buffers (`image` crate types).
//!
//! Every op works in two steps so that a batched (device) path can replay the CPU path's
//! randomness exactly:
//! 1. [`Op::sample`]`(rng, width, height) -> `[`OpParams`]: draws the random parameters
//!    (angle, crop box, factor, noise seed, ...) from a seeded ChaCha8 stream;
//! 2. [`apply`]`(image, params)`: deterministic.
//!
//! Sample `index` of `epoch` draws from its own stream ([`sample_rng`]), so results are the
//! same at any thread count. Formulas follow torchvision / PIL (and albumentations or timm
//! where torchvision has no such op), computed in `f32` and rounded once to 8 bits.
//!
//! - [`raster`]: [`AugImage`], PNG/JPEG/BMP I/O, sampling and padding helpers, NCHW export.
//! - [`geometric`] / [`geometric_ops`]: flips, affine family, crops, resize.
//! - [`photometric`] / [`photometric_ops`]: color, tone, blur, sharpness, noise.
//! - [`occlusion`]: random erasing and Cutout.
//! - [`policy`]: compose, random-apply, one-of, RandAugment, TrivialAugmentWide.
//! - [`op`]: [`Op`], the TOML-tagged union of all of them.
//! - [`pipeline`]: [`Pipeline`], [`augment_batch`] (rayon), [`preview_grid`].
//! - [`device`]: [`apply_batch_device`], the same params on a batched Burn tensor.
//! - [`mix`]: MixUp / CutMix / label smoothing on `f32` NCHW batches.
//! - [`settings`]: [`AugmentSettings`], the `[augment]` section.

mod blur;
mod color;
pub mod common;
#[cfg(feature = "burn")]
pub mod device;
#[cfg(feature = "burn")]
mod device_filters;
#[cfg(feature = "burn")]
mod device_geometric;
#[cfg(feature = "burn")]
mod device_photometric;
mod error;
pub mod geometric;
pub mod geometric_ops;
mod lut;
pub mod mix;
mod noise;
pub mod occlusion;
pub mod op;
pub mod params;
pub mod photometric;
pub mod photometric_ops;
pub mod pipeline;
pub mod policy;
pub mod raster;
mod remap;
#[cfg(target_arch = "x86_64")]
mod remap_avx512;
mod resize;
#[cfg(target_arch = "x86_64")]
mod resize_x86;
pub mod settings;
mod simd;

#[cfg(all(test, feature = "burn"))]
mod device_ops_tests;
#[cfg(all(test, feature = "burn"))]
mod device_tests;
#[cfg(test)]
mod geometric_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod photometric_tests;
#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod resize_tests;

#[cfg(feature = "burn")]
pub use device::apply_batch_device;
pub use error::{ImageAugError, Result};
pub use mix::{MixConfig, MixParams, apply_mix, mix_batch, soft_cross_entropy, soft_targets};
pub use op::{OP_NAMES, Op};
pub use params::{OpParams, apply, apply_all};
pub use pipeline::{Pipeline, augment_batch, preview_grid, sample_batch, sample_rng};
pub use raster::{AugImage, Interpolation, PaddingMode, to_nchw_f32};
pub use settings::{AugmentSettings, Policy};
