//! Randomized augmentation: each step applies with probability `p`, its parameter drawn
//! uniformly from `[min, max]` (audiomentations' `Compose` of transforms, each with its own
//! `p`), or a list of fixed ops as the CLI's `--op` specs give.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::error::{Result, invalid};
use super::ops::AudioOp;
use super::wav::{Audio, read_wav, write_wav};

/// Probability and parameter range of one randomized op.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    /// Probability that the op is applied, in `[0, 1]`.
    pub p: f32,
    /// Lower end of the parameter range.
    pub min: f32,
    /// Upper end of the parameter range (`>= min`).
    pub max: f32,
}

const fn u(p: f32, min: f32, max: f32) -> Uniform {
    Uniform { p, min, max }
}

/// Every randomized op, in the order [`Pipeline::from_config`] applies them. Defaults are
/// audiomentations' (each transform's default `p = 0.5` and range) where it has the op.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioAugmentConfig {
    /// Gain in dB; default `-12..12` (audiomentations `Gain`).
    pub gain: Uniform,
    /// Pitch shift in semitones; default `-4..4` (`PitchShift`).
    pub pitch: Uniform,
    /// Time-stretch rate; default `0.8..1.25` (`TimeStretch`).
    pub stretch: Uniform,
    /// Whether a stretch keeps the length; default `true` (`leave_length_unchanged=True`).
    pub stretch_keep_length: bool,
    /// Speed factor; default `0.9..1.1` (Ko et al. 2015's speed perturbation 0.9/1.0/1.1;
    /// audiomentations has no speed op) with `p = 0.5`.
    pub speed: Uniform,
    /// Shift fraction; default `-0.5..0.5` (`Shift`).
    pub shift: Uniform,
    /// Whether a shift wraps around; default `true` (`Shift(rollover=True)`).
    pub shift_rollover: bool,
    /// Time-mask fraction; default `0..0.5` (`TimeMask(min_band_part=0.0, max_band_part=0.5)`).
    pub time_mask: Uniform,
    /// SpecAugment time-mask fraction of frames; default `0..0.2` (Park et al. 2019's upper
    /// bound p = 0.2 on a time mask's share of the frames) with `p = 0.5`.
    pub spec_time_mask: Uniform,
    /// SpecAugment frequency-mask fraction of bins; default `0.03..0.25`
    /// (`SpecFrequencyMask(min_mask_fraction=0.03, max_mask_fraction=0.25)`).
    pub spec_freq_mask: Uniform,
    /// Gaussian noise amplitude; default `0.001..0.015` (`AddGaussianNoise`).
    pub noise: Uniform,
    /// Noise SNR in dB; default `5..40` (`AddGaussianSNR(min_snr_db=5.0, max_snr_db=40.0)`).
    pub noise_snr: Uniform,
}

impl Default for AudioAugmentConfig {
    fn default() -> Self {
        Self {
            gain: u(0.5, -12.0, 12.0),
            pitch: u(0.5, -4.0, 4.0),
            stretch: u(0.5, 0.8, 1.25),
            stretch_keep_length: true,
            speed: u(0.5, 0.9, 1.1),
            shift: u(0.5, -0.5, 0.5),
            shift_rollover: true,
            time_mask: u(0.5, 0.0, 0.5),
            spec_time_mask: u(0.5, 0.0, 0.2),
            spec_freq_mask: u(0.5, 0.03, 0.25),
            noise: u(0.5, 0.001, 0.015),
            noise_snr: u(0.5, 5.0, 40.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Fixed(AudioOp),
    Random {
        range: Uniform,
        name: &'static str,
        flag: bool,
    },
}

/// A sequence of ops applied in order to a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    steps: Vec<Step>,
}

impl Pipeline {
    /// Fixed ops applied in the given order, each always (the CLI's `--op` list).
    pub fn from_ops(ops: Vec<AudioOp>) -> Result<Pipeline> {
        for op in &ops {
            op.validate()?;
        }
        Ok(Pipeline {
            steps: ops.into_iter().map(Step::Fixed).collect(),
        })
    }

    /// The randomized ops of `cfg`, in its field order; ranges are checked (`0 <= p <= 1`,
    /// `min <= max`, both ends valid for the op).
    pub fn from_config(cfg: &AudioAugmentConfig) -> Result<Pipeline> {
        let entries = [
            ("gain", cfg.gain, false),
            ("pitch", cfg.pitch, false),
            ("stretch", cfg.stretch, cfg.stretch_keep_length),
            ("speed", cfg.speed, false),
            ("shift", cfg.shift, !cfg.shift_rollover),
            ("time-mask", cfg.time_mask, false),
            ("spec-time-mask", cfg.spec_time_mask, false),
            ("spec-freq-mask", cfg.spec_freq_mask, false),
            ("noise", cfg.noise, false),
            ("noise-snr", cfg.noise_snr, false),
        ];
        let mut steps = Vec::new();
        for (name, range, flag) in entries {
            if !(0.0..=1.0).contains(&range.p)
                || range.min.partial_cmp(&range.max).is_none_or(|o| o.is_gt())
            {
                return Err(invalid(
                    format!("audio config `{}`", name.replace('-', "_")),
                    format!("needs 0 <= p <= 1 and min <= max, got {range:?}"),
                ));
            }
            for v in [range.min, range.max] {
                if let Some(op) = AudioOp::with_value(name, v, flag) {
                    op.validate()?;
                }
            }
            if range.p > 0.0 {
                steps.push(Step::Random { range, name, flag });
            }
        }
        Ok(Pipeline { steps })
    }

    /// Applies the steps to `audio` with ChaCha8 seeded by `seed`; returns the ops applied,
    /// with the parameters drawn, in order.
    pub fn apply(&self, audio: &mut Audio, seed: u64) -> Result<Vec<AudioOp>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut applied = Vec::new();
        for step in &self.steps {
            let op = match *step {
                Step::Fixed(op) => op,
                Step::Random { range, name, flag } => {
                    if rng.random::<f32>() >= range.p {
                        continue;
                    }
                    let v = range.min + (range.max - range.min) * rng.random::<f32>();
                    match AudioOp::with_value(name, v, flag) {
                        Some(op) => op,
                        None => continue,
                    }
                }
            };
            op.apply(audio, &mut rng)?;
            applied.push(op);
        }
        Ok(applied)
    }

    /// Reads `input`, applies the pipeline with `seed`, writes `output` in the input's sample
    /// format (what `temper augment audio --in --out --op` does); returns the ops applied.
    pub fn augment_wav_file(
        &self,
        input: &std::path::Path,
        output: &std::path::Path,
        seed: u64,
    ) -> Result<Vec<AudioOp>> {
        let mut audio = read_wav(input)?;
        let applied = self.apply(&mut audio, seed)?;
        write_wav(output, &audio)?;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::wav::SampleFormat;

    #[test]
    fn a_wav_file_goes_through_in_its_own_format() {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.wav"));
        let x: Vec<f32> = (0..800).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let clip = Audio::new(8000, SampleFormat::Int24, vec![x.clone(), x]).unwrap();
        write_wav(&input, &clip).unwrap();
        let p = Pipeline::from_ops(vec!["shift:0.25".parse().unwrap()]).unwrap();
        let applied = p.augment_wav_file(&input, &output, 0).unwrap();
        assert_eq!(applied.len(), 1);
        let out = read_wav(&output).unwrap();
        assert_eq!(
            (out.format, out.channels.len(), out.len()),
            (SampleFormat::Int24, 2, 800)
        );
        // Rolled by 200 samples: out[i] = in[i - 200 mod 800], exactly (same 24-bit grid).
        let back = read_wav(&input).unwrap();
        assert!((0..800).all(|i| out.channels[1][(i + 200) % 800] == back.channels[1][i]));
        let err = p.augment_wav_file(&dir.path().join("missing.wav"), &output, 0);
        assert!(err.unwrap_err().to_string().contains("missing.wav"));
    }
}
