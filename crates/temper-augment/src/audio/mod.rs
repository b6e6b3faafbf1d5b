//! Audio augmentation on planar `f32` clips.
//!
//! - [`wav`]: WAV in and out through `hound` (8/16/24/32-bit integer, 32-bit float, up to
//!   [`MAX_CHANNELS`](wav::MAX_CHANNELS) channels); output keeps the input's format. Header
//!   values are bounded before they size anything (rate, channels, sample count, file size).
//! - [`ops`]: [`AudioOp`], operations with fixed parameters and their `name:value` specs
//!   (`pitch:+2`, `noise-snr:20`, ...).
//! - [`stft`](mod@stft): STFT/ISTFT, phase vocoder and SpecAugment masks.
//! - [`resample`](mod@resample): band-limited resampling with `rubato`.
//! - [`pipeline`]: [`Pipeline`], fixed ops or randomized ones ([`AudioAugmentConfig`],
//!   audiomentations' default probabilities and ranges), seeded.

mod error;
pub mod ops;
pub mod pipeline;
pub mod resample;
pub mod stft;
pub mod wav;

pub use error::{AudioError, Result};
pub use ops::{AudioOp, VALID_OPS};
pub use pipeline::{AudioAugmentConfig, Pipeline, Uniform};
pub use stft::{Spectrogram, istft, stft};
pub use wav::{Audio, SampleFormat, decode_wav, encode_wav, read_wav, write_wav};

#[cfg(test)]
mod tests;
