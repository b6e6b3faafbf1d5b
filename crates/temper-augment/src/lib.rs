//! Data augmentation for temper: images (on `image` buffers, and replayed on Burn tensors on
//! the training device), text and audio.
//!
//! - [`image`](mod@image): image augmentation on 8-bit gray/RGB buffers — flips, affine
//!   (rotate, translate, scale, shear), crops with padding, random resized crop, resize,
//!   color jitter, gamma, blur, sharpness, noise, PIL-style ops (invert, solarize, posterize,
//!   equalize, autocontrast), random erasing and Cutout; policies (compose, random-apply,
//!   one-of, RandAugment, TrivialAugmentWide); batch-level MixUp/CutMix with soft targets and
//!   label smoothing; the `[augment]` settings; a preview grid. Each op samples its
//!   parameters from a per-sample seeded stream, then applies them deterministically — on the
//!   CPU, or on a `[N, C, H, W]` Burn tensor (`image::apply_batch_device`) with the same
//!   meaning.
//! - [`text`]: EDA (Wei & Zou 2019) — synonym replacement, random insertion, random swap and
//!   random deletion on a lossless tokenizer — with WordNet 3.0 synonyms (a table compiled in,
//!   or a WordNet dictionary directory read at run time).
//! - [`audio`]: WAV in and out (8/16/24/32-bit integer, 32-bit float, up to 64 channels) and
//!   waveform augmentation — gain, Gaussian noise, noise at a target SNR, time shift, speed
//!   change, phase-vocoder time stretch, pitch shift, time mask, SpecAugment masks — as fixed
//!   operations parsed from `name:value` specs or as a randomized pipeline with
//!   audiomentations' default ranges.
//!
//! Every fallible function returns a typed error whose message names the file or the field at
//! fault; nothing here prints or panics on user input.

pub mod audio;
mod fs;
pub mod image;
pub mod text;

#[cfg(test)]
mod tests;
