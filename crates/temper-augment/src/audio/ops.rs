//! Waveform operations with fixed parameters ([`AudioOp`]) and their `name:value` specs.
//!
//! Formulas follow audiomentations (`iver56/audiomentations`): gain multiplies by
//! `10^(dB/20)`; Gaussian noise adds `amplitude · N(0, 1)`; noise at a target SNR adds
//! Gaussian noise of RMS `rms(signal) / 10^(snr/20)` (RMS over all channels); shift rolls
//! (or zero-fills) by `round(fraction · len)` samples, positive = later; a time mask silences
//! `round(fraction · len)` consecutive samples at a random start. Pitch shift follows librosa's
//! `pitch_shift`: time stretch by `2^(-semitones/12)`, then resample back to the original
//! length.
//!
//! Every op checks the clip's bounds first ([`Audio::validate`]: the public fields may have
//! been set past them), and an op that lengthens the clip (`speed`, `stretch` without `keep`)
//! refuses a result over [`MAX_SAMPLES`] before computing it.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::error::{AudioError, Result, invalid};
use super::resample::resample;
use super::stft::{istft, n_fft_for, stft, time_stretch};
use super::wav::{Audio, MAX_SAMPLES};

/// One operation with fixed parameters. Randomness left in an op (the noise itself, a mask's
/// position) comes from the generator passed to [`AudioOp::apply`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AudioOp {
    /// Multiply by `10^(db/20)`. Spec `gain:-6`.
    Gain {
        /// Gain in decibels (negative attenuates).
        db: f32,
    },
    /// Add Gaussian noise of standard deviation `amplitude`. Spec `noise:0.01`.
    Noise {
        /// Standard deviation of the noise, in sample units (full scale 1); at least 0.
        amplitude: f32,
    },
    /// Add Gaussian noise at `snr_db` below the signal's RMS. Spec `noise-snr:20`.
    NoiseSnr {
        /// Signal-to-noise ratio in decibels.
        snr_db: f32,
    },
    /// Move by `fraction` of the length, wrapping around or filling with zeros.
    /// Spec `shift:0.1` (rollover) or `shift:0.1:zero`.
    Shift {
        /// Fraction of the length, in `[-1, 1]`; positive moves later.
        fraction: f32,
        /// Wrap the samples around (else fill with zeros).
        rollover: bool,
    },
    /// Play `factor` times faster by resampling: duration ÷ factor, pitch × factor.
    /// Spec `speed:1.1`.
    Speed {
        /// Speed factor, in `[0.25, 4]`.
        factor: f32,
    },
    /// Phase-vocoder time stretch by `rate` (duration ÷ rate, pitch kept); with `keep_length`
    /// the result is cut or zero-padded to the input length. Spec `stretch:1.25` or
    /// `stretch:1.25:keep`.
    Stretch {
        /// Stretch rate, in `[0.25, 4]`; above 1 is shorter.
        rate: f32,
        /// Cut or zero-pad the result to the input length.
        keep_length: bool,
    },
    /// Shift the pitch by `semitones`, duration kept. Spec `pitch:+2`.
    Pitch {
        /// Pitch shift in semitones, in `[-24, 24]`.
        semitones: f32,
    },
    /// Silence `fraction` of the clip at a random place. Spec `time-mask:0.1`.
    TimeMask {
        /// Fraction of the samples silenced, in `[0, 1]`.
        fraction: f32,
    },
    /// SpecAugment time mask: zero `fraction` of the STFT frames at a random place, then
    /// resynthesize. Spec `spec-time-mask:0.1`.
    SpecTimeMask {
        /// Fraction of the frames zeroed, in `[0, 1]`.
        fraction: f32,
    },
    /// SpecAugment frequency mask: zero `fraction` of the STFT bins at a random place, then
    /// resynthesize. Spec `spec-freq-mask:0.1`.
    SpecFreqMask {
        /// Fraction of the frequency bins zeroed, in `[0, 1]`.
        fraction: f32,
    },
}

/// The one-line list of valid specs, used in parse errors and help texts.
pub const VALID_OPS: &str = "gain:DB, noise:AMPLITUDE, noise-snr:DB, shift:FRACTION[:zero], \
    speed:FACTOR, stretch:RATE[:keep], pitch:SEMITONES, time-mask:FRACTION, \
    spec-time-mask:FRACTION, spec-freq-mask:FRACTION";

fn check(ok: bool, what: &str, message: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(invalid(what, message))
    }
}

impl AudioOp {
    /// The spec name (`gain`, `noise-snr`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            AudioOp::Gain { .. } => "gain",
            AudioOp::Noise { .. } => "noise",
            AudioOp::NoiseSnr { .. } => "noise-snr",
            AudioOp::Shift { .. } => "shift",
            AudioOp::Speed { .. } => "speed",
            AudioOp::Stretch { .. } => "stretch",
            AudioOp::Pitch { .. } => "pitch",
            AudioOp::TimeMask { .. } => "time-mask",
            AudioOp::SpecTimeMask { .. } => "spec-time-mask",
            AudioOp::SpecFreqMask { .. } => "spec-freq-mask",
        }
    }

    /// The op `name` with parameter `value` and the optional flag (`zero` for shift, `keep` for
    /// stretch).
    pub fn with_value(name: &str, value: f32, flag: bool) -> Option<AudioOp> {
        Some(match name {
            "gain" => AudioOp::Gain { db: value },
            "noise" => AudioOp::Noise { amplitude: value },
            "noise-snr" => AudioOp::NoiseSnr { snr_db: value },
            "shift" => AudioOp::Shift {
                fraction: value,
                rollover: !flag,
            },
            "speed" => AudioOp::Speed { factor: value },
            "stretch" => AudioOp::Stretch {
                rate: value,
                keep_length: flag,
            },
            "pitch" => AudioOp::Pitch { semitones: value },
            "time-mask" => AudioOp::TimeMask { fraction: value },
            "spec-time-mask" => AudioOp::SpecTimeMask { fraction: value },
            "spec-freq-mask" => AudioOp::SpecFreqMask { fraction: value },
            _ => return None,
        })
    }

    /// The op's parameter value.
    pub fn value(&self) -> f32 {
        match *self {
            AudioOp::Gain { db } => db,
            AudioOp::Noise { amplitude } => amplitude,
            AudioOp::NoiseSnr { snr_db } => snr_db,
            AudioOp::Shift { fraction, .. } => fraction,
            AudioOp::Speed { factor } => factor,
            AudioOp::Stretch { rate, .. } => rate,
            AudioOp::Pitch { semitones } => semitones,
            AudioOp::TimeMask { fraction }
            | AudioOp::SpecTimeMask { fraction }
            | AudioOp::SpecFreqMask { fraction } => fraction,
        }
    }

    /// Checks the parameter's range; the error names the op.
    pub fn validate(&self) -> Result<()> {
        let v = self.value();
        let what = self.name();
        check(v.is_finite(), what, "parameter must be finite")?;
        match self {
            AudioOp::Gain { .. } | AudioOp::NoiseSnr { .. } => Ok(()),
            AudioOp::Noise { .. } => check(v >= 0.0, what, "amplitude must be >= 0"),
            AudioOp::Shift { .. } => check(v.abs() <= 1.0, what, "fraction must be in [-1, 1]"),
            AudioOp::Speed { .. } | AudioOp::Stretch { .. } => check(
                (0.25..=4.0).contains(&v),
                what,
                "factor must be in [0.25, 4]",
            ),
            AudioOp::Pitch { .. } => check(v.abs() <= 24.0, what, "semitones must be in [-24, 24]"),
            _ => check((0.0..=1.0).contains(&v), what, "fraction must be in [0, 1]"),
        }
    }

    /// Applies the op to every channel of `audio`.
    pub fn apply<R: Rng + ?Sized>(&self, audio: &mut Audio, rng: &mut R) -> Result<()> {
        self.validate()?;
        audio.validate("audio")?;
        let len = audio.len();
        let n_fft = n_fft_for(audio.sample_rate);
        match *self {
            AudioOp::Gain { db } => {
                let g = 10f32.powf(db / 20.0);
                audio.channels.iter_mut().flatten().for_each(|s| *s *= g);
            }
            AudioOp::Noise { amplitude } => add_noise(audio, amplitude, rng),
            AudioOp::NoiseSnr { snr_db } => {
                let n: usize = audio.channels.iter().map(Vec::len).sum();
                let power: f64 = audio
                    .channels
                    .iter()
                    .flatten()
                    .map(|&s| f64::from(s).powi(2))
                    .sum();
                let rms = (power / n.max(1) as f64).sqrt();
                let noise_rms = rms / 10f64.powf(f64::from(snr_db) / 20.0);
                add_noise(audio, noise_rms as f32, rng);
            }
            AudioOp::Shift { fraction, rollover } => {
                let k = (f64::from(fraction) * len as f64).round() as isize;
                for ch in &mut audio.channels {
                    shift(ch, k, rollover);
                }
            }
            AudioOp::Speed { factor } => {
                check_growth(audio, f64::from(factor), "speed")?;
                for ch in &mut audio.channels {
                    *ch = resample(ch, 1.0 / f64::from(factor))?;
                }
            }
            AudioOp::Stretch { rate, keep_length } => {
                if !keep_length {
                    check_growth(audio, f64::from(rate), "stretch")?;
                }
                for ch in &mut audio.channels {
                    *ch = time_stretch(ch, f64::from(rate), n_fft)?;
                    if keep_length {
                        ch.resize(len, 0.0);
                    }
                }
            }
            AudioOp::Pitch { semitones } => {
                let rate = 2f64.powf(-f64::from(semitones) / 12.0);
                for ch in &mut audio.channels {
                    let mut y = resample(&time_stretch(ch, rate, n_fft)?, rate)?;
                    y.resize(len, 0.0);
                    *ch = y;
                }
            }
            AudioOp::TimeMask { fraction } => {
                let width = (f64::from(fraction) * len as f64).round() as usize;
                let start = rng.random_range(0..=len - width);
                for ch in &mut audio.channels {
                    ch[start..start + width].fill(0.0);
                }
            }
            AudioOp::SpecTimeMask { fraction } | AudioOp::SpecFreqMask { fraction } => {
                let time = matches!(self, AudioOp::SpecTimeMask { .. });
                let mut specs: Vec<_> = audio
                    .channels
                    .iter()
                    .map(|c| stft(c, n_fft, n_fft / 4))
                    .collect::<Result<_>>()?;
                let extent = if time {
                    specs[0].frames.len()
                } else {
                    specs[0].num_bins()
                };
                let width = (f64::from(fraction) * extent as f64).round() as usize;
                let start = rng.random_range(0..=extent - width);
                for (ch, spec) in audio.channels.iter_mut().zip(&mut specs) {
                    if time {
                        spec.mask_time(start, width);
                    } else {
                        spec.mask_freq(start, width);
                    }
                    *ch = istft(spec, len)?;
                }
            }
        }
        Ok(())
    }
}

/// Refuses an op that divides the clip's length by `factor` when the result would hold more
/// than [`MAX_SAMPLES`] samples: a chain of slow-downs (`speed:0.25` ten times) would otherwise
/// grow a clip 4^10-fold.
fn check_growth(audio: &Audio, factor: f64, what: &str) -> Result<()> {
    let samples = audio.len() as f64 / factor * audio.channels.len() as f64;
    if samples.round() > MAX_SAMPLES as f64 {
        return Err(invalid(
            what,
            format!(
                "{} frames x {} channels at {factor} would give {samples:.0} samples, more than \
                 the limit of {MAX_SAMPLES}",
                audio.len(),
                audio.channels.len()
            ),
        ));
    }
    Ok(())
}

fn add_noise<R: Rng + ?Sized>(audio: &mut Audio, std: f32, rng: &mut R) {
    for s in audio.channels.iter_mut().flatten() {
        let z: f32 = StandardNormal.sample(rng);
        *s += std * z;
    }
}

/// Moves `x` by `k` samples (positive = later): a rotation with `rollover`, else zero-filled.
pub fn shift(x: &mut [f32], k: isize, rollover: bool) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let r = k.rem_euclid(n as isize) as usize;
    if rollover {
        x.rotate_right(r);
    } else if k.unsigned_abs() >= n {
        x.fill(0.0);
    } else if k >= 0 {
        x.rotate_right(r);
        x[..r].fill(0.0);
    } else {
        let m = k.unsigned_abs();
        x.rotate_left(m);
        x[n - m..].fill(0.0);
    }
}

impl FromStr for AudioOp {
    type Err = AudioError;

    /// Parses `name:value[:flag]`, e.g. `pitch:+2`, `noise-snr:20`, `shift:0.1:zero`,
    /// `stretch:1.25:keep`.
    fn from_str(spec: &str) -> Result<AudioOp> {
        let bad = |message: String| AudioError::Spec {
            spec: spec.to_string(),
            message,
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let name = parts[0];
        let known = AudioOp::with_value(name, 0.0, false).is_some();
        if !known || parts.len() < 2 || parts.len() > 3 {
            return Err(bad(format!("expected one of {VALID_OPS}")));
        }
        let value: f32 = parts[1].parse().map_err(|_| {
            bad(format!(
                "{:?} is not a number; expected one of {VALID_OPS}",
                parts[1]
            ))
        })?;
        let flag = match (name, parts.get(2)) {
            (_, None) => false,
            ("shift", Some(&"zero")) | ("stretch", Some(&"keep")) => true,
            ("shift", Some(&"roll")) => false,
            (_, Some(f)) => {
                return Err(bad(format!(
                    "unknown flag {f:?}; expected one of {VALID_OPS}"
                )));
            }
        };
        let op = AudioOp::with_value(name, value, flag).ok_or_else(|| bad(String::new()))?;
        op.validate().map_err(|e| bad(e.to_string()))?;
        Ok(op)
    }
}

impl fmt::Display for AudioOp {
    /// The spec [`AudioOp::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name(), self.value())?;
        match self {
            AudioOp::Shift {
                rollover: false, ..
            } => write!(f, ":zero"),
            AudioOp::Stretch {
                keep_length: true, ..
            } => write!(f, ":keep"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
