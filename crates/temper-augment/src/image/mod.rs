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
//! The code is split by layer, so that an op's parts sit in one file per layer:
//! - [`ops`]: what an op is. [`Op`] (the TOML-tagged union and its name table), each op's
//!   config with its checks and its sampling ([`ops::geometric`], [`ops::photometric`],
//!   [`ops::occlusion`], [`ops::policy`]), [`OpParams`] and the parameter structs
//!   ([`ops::params`]), the limits and sampling helpers ([`ops::common`]) and the
//!   `[augment]` section ([`ops::settings`]).
//! - [`cpu`]: the deterministic step on an [`AugImage`] ([`apply`], [`cpu::geometric`],
//!   [`cpu::photometric`], [`cpu::occlusion`]), the raster helpers ([`cpu::raster`]), the
//!   batch pipeline ([`cpu::pipeline`]) and MixUp / CutMix ([`cpu::mix`]).
//! - `kernels`: the pixel loops the CPU ops call (blur, colour, byte tables, noise, warp,
//!   resize), one dispatch over CPU levels through [`temper_simd`], intrinsics in
//!   `kernels/x86`.
//! - [`device`]: [`apply_batch_device`], the same params on a batched Burn tensor.
//!
//! Adding an op: its config, checks and sampling in `ops/<family>.rs`, a line in the `ops!`
//! table of `ops/mod.rs` and a variant of [`OpParams`]; its CPU step in `cpu/<family>.rs`
//! (plus an arm of [`apply`]); its device step in `device/<family>.rs` (plus its arms in
//! `device/mod.rs`).

pub mod cpu;
#[cfg(feature = "burn")]
pub mod device;
mod error;
mod kernels;
pub mod ops;

#[cfg(test)]
mod tests;

pub use cpu::geometric;

pub use cpu::mix::{MixConfig, MixParams, apply_mix, mix_batch, soft_cross_entropy, soft_targets};
pub use cpu::pipeline::{Pipeline, augment_batch, preview_grid, sample_batch, sample_rng};
pub use cpu::raster::{AugImage, Interpolation, PaddingMode, to_nchw_f32};
pub use cpu::{apply, apply_all};
#[cfg(feature = "burn")]
pub use device::apply_batch_device;
pub use error::{ImageAugError, Result};
pub use ops::params::OpParams;
pub use ops::settings::{AugmentSettings, Policy};
pub use ops::{OP_NAMES, Op};
