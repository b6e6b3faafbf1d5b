//! The pixel loops behind the CPU ops, on raw interleaved 8-bit buffers: separable blur and
//! sharpen ([`blur`]), the RGB colour conversions ([`color`]), the 256-entry byte table of
//! the point ops ([`lut`]), the Gaussian noise table ([`noise`]), the bilinear warp and row
//! mirror ([`remap`]) and the separable resize ([`resize`]).
//!
//! Each kernel is bit-identical to its scalar formula at every CPU level (the tests in
//! `kernels/tests` compare the bytes at every [`temper_simd::available`] level). The level
//! comes from [`temper_simd`] alone: plain loops are compiled for every level with
//! [`temper_simd::multiversion!`]; hand-written intrinsics live in [`x86`] and run where
//! [`temper_simd::level`] (read once on the calling thread) is AVX2 or wider.

pub(crate) mod blur;
pub(crate) mod color;
pub(crate) mod lut;
pub(crate) mod noise;
pub(crate) mod remap;
pub(crate) mod resize;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

#[cfg(test)]
mod tests;
