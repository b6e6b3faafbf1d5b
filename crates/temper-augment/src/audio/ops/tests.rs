use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use realfft::RealFftPlanner;

use super::*;
use crate::audio::pipeline::{AudioAugmentConfig, Pipeline, Uniform};
use crate::audio::wav::{SampleFormat, read_wav};

const SR: u32 = 16_000;

fn tone(freq: f32, seconds: f32, sr: u32) -> Vec<f32> {
    let n = (seconds * sr as f32) as usize;
    (0..n)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / sr as f32).sin())
        .collect()
}

fn mono(x: Vec<f32>, sr: u32) -> Audio {
    Audio::new(sr, SampleFormat::Float32, vec![x]).unwrap()
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Frequency of the largest peak: Hann window, zero-padded FFT (4x, power of two), parabolic
/// interpolation on the log magnitude (Smith, "Spectral Audio Signal Processing", QIFFT).
fn peak_hz(x: &[f32], sr: u32) -> f64 {
    let n = (4 * x.len()).next_power_of_two();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut input = vec![0.0f64; n];
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / x.len() as f64).cos();
        input[i] = f64::from(s) * w;
    }
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).unwrap();
    let mag: Vec<f64> = out.iter().map(|c| c.norm().max(1e-30).ln()).collect();
    let k = (1..mag.len() - 1)
        .max_by(|&a, &b| mag[a].total_cmp(&mag[b]))
        .unwrap();
    let (a, b, c) = (mag[k - 1], mag[k], mag[k + 1]);
    let delta = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f64 + delta) * f64::from(sr) / n as f64
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want
}

#[test]
fn noise_at_target_snr_measures_within_half_a_db() {
    // SNR = 10 log10(P_signal / P_noise), the noise being output − input.
    for (snr, seed) in [(0.0, 1), (10.0, 2), (20.0, 3), (40.0, 4)] {
        let clean = vec![tone(440.0, 1.0, SR), tone(1000.0, 1.0, SR)];
        let mut a = Audio::new(SR, SampleFormat::Float32, clean.clone()).unwrap();
        AudioOp::NoiseSnr { snr_db: snr }
            .apply(&mut a, &mut rng(seed))
            .unwrap();
        let (mut ps, mut pn) = (0.0f64, 0.0f64);
        for (c, n) in clean.iter().flatten().zip(a.channels.iter().flatten()) {
            ps += f64::from(*c).powi(2);
            pn += f64::from(n - c).powi(2);
        }
        let measured = 10.0 * (ps / pn).log10();
        assert!(
            (measured - f64::from(snr)).abs() < 0.5,
            "target {snr}, measured {measured}"
        );
    }
}

#[test]
fn gain_and_noise_amplitude_follow_their_formulas() {
    let x = tone(440.0, 0.5, SR);
    let mut a = mono(x.clone(), SR);
    AudioOp::Gain { db: -6.0 }
        .apply(&mut a, &mut rng(0))
        .unwrap();
    // 10^(-6/20) = 0.501187...
    for (y, x) in a.channels[0].iter().zip(&x) {
        assert!((y - x * 0.501_187_2).abs() < 1e-6);
    }
    let mut b = mono(vec![0.0; 16_000], SR);
    AudioOp::Noise { amplitude: 0.01 }
        .apply(&mut b, &mut rng(5))
        .unwrap();
    let var: f64 = b.channels[0]
        .iter()
        .map(|&s| f64::from(s).powi(2))
        .sum::<f64>()
        / 16_000.0;
    // The sample std of 16 000 draws is within 3 standard errors (1/sqrt(2N) = 0.56%) of 0.01.
    assert!(rel_err(var.sqrt(), 0.01) < 0.017, "std {}", var.sqrt());
}

#[test]
fn pitch_shift_up_an_octave_doubles_the_peak_and_keeps_duration() {
    let mut a = mono(tone(440.0, 1.0, SR), SR);
    AudioOp::Pitch { semitones: 12.0 }
        .apply(&mut a, &mut rng(0))
        .unwrap();
    assert_eq!(a.len(), 16_000);
    let f = peak_hz(&a.channels[0], SR);
    assert!(rel_err(f, 880.0) < 0.01, "peak {f} Hz");
    // And down three semitones: 440 · 2^(-3/12) = 369.994 Hz.
    let mut b = mono(tone(440.0, 1.0, SR), SR);
    AudioOp::Pitch { semitones: -3.0 }
        .apply(&mut b, &mut rng(0))
        .unwrap();
    let f = peak_hz(&b.channels[0], SR);
    assert!(rel_err(f, 369.994) < 0.01, "peak {f} Hz");
}

#[test]
fn time_stretch_changes_duration_and_keeps_the_peak() {
    let mut a = mono(tone(440.0, 1.0, SR), SR);
    AudioOp::Stretch {
        rate: 1.25,
        keep_length: false,
    }
    .apply(&mut a, &mut rng(0))
    .unwrap();
    // Duration 1 s / 1.25 = 0.8 s.
    assert!(rel_err(a.duration_s(), 0.8) < 0.01, "{} s", a.duration_s());
    let f = peak_hz(&a.channels[0], SR);
    assert!(rel_err(f, 440.0) < 0.01, "peak {f} Hz");
    let mut b = mono(tone(440.0, 1.0, SR), SR);
    AudioOp::Stretch {
        rate: 0.8,
        keep_length: true,
    }
    .apply(&mut b, &mut rng(0))
    .unwrap();
    assert_eq!(b.len(), 16_000);
}

#[test]
fn speed_scales_duration_and_pitch_together() {
    let mut a = mono(tone(440.0, 1.0, SR), SR);
    AudioOp::Speed { factor: 1.1 }
        .apply(&mut a, &mut rng(0))
        .unwrap();
    // round(16000 / 1.1) = 14545 samples; 440 · 1.1 = 484 Hz.
    assert_eq!(a.len(), 14_545);
    let f = peak_hz(&a.channels[0], SR);
    assert!(rel_err(f, 484.0) < 0.01, "peak {f} Hz");
}

#[test]
fn shift_with_rollover_is_an_exact_rotation() {
    let x: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    let mut a = Audio::new(SR, SampleFormat::Float32, vec![x.clone(), x.clone()]).unwrap();
    AudioOp::Shift {
        fraction: 0.1,
        rollover: true,
    }
    .apply(&mut a, &mut rng(0))
    .unwrap();
    for ch in &a.channels {
        for i in 0..1000 {
            assert_eq!(ch[i], x[(i + 1000 - 100) % 1000]);
        }
    }
    let mut b = mono(x.clone(), SR);
    AudioOp::Shift {
        fraction: -0.25,
        rollover: false,
    }
    .apply(&mut b, &mut rng(0))
    .unwrap();
    assert_eq!(b.channels[0][..750], x[250..]);
    assert!(b.channels[0][750..].iter().all(|&s| s == 0.0));
}

#[test]
fn time_mask_silences_one_band_of_the_given_width() {
    let x: Vec<f32> = (0..1000).map(|i| 1.0 + i as f32).collect();
    let mut a = mono(x.clone(), SR);
    AudioOp::TimeMask { fraction: 0.1 }
        .apply(&mut a, &mut rng(9))
        .unwrap();
    let zeros: Vec<usize> = (0..1000).filter(|&i| a.channels[0][i] == 0.0).collect();
    assert_eq!(zeros.len(), 100);
    assert_eq!(zeros[99] - zeros[0], 99);
    assert!((0..1000).all(|i| a.channels[0][i] == 0.0 || a.channels[0][i] == x[i]));
}

#[test]
fn spec_masks_keep_length_and_remove_energy() {
    let x = tone(440.0, 0.5, SR);
    let energy = |v: &[f32]| v.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
    // A zero-width mask resynthesizes the input; a full-width one leaves silence.
    let mut a = mono(x.clone(), SR);
    AudioOp::SpecFreqMask { fraction: 0.0 }
        .apply(&mut a, &mut rng(0))
        .unwrap();
    let err = a.channels[0]
        .iter()
        .zip(&x)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(err < 1e-4, "{err}");
    let mut b = mono(x.clone(), SR);
    AudioOp::SpecTimeMask { fraction: 1.0 }
        .apply(&mut b, &mut rng(0))
        .unwrap();
    assert_eq!(b.len(), x.len());
    assert!(energy(&b.channels[0]) < 1e-9);
    // Masking 30% of the frames removes roughly 30% of a steady tone's energy.
    let mut c = mono(x.clone(), SR);
    AudioOp::SpecTimeMask { fraction: 0.3 }
        .apply(&mut c, &mut rng(1))
        .unwrap();
    let kept = energy(&c.channels[0]) / energy(&x);
    assert!((0.6..0.8).contains(&kept), "kept {kept}");
}

#[test]
fn specs_parse_print_and_reject_with_the_list() {
    for (spec, op) in [
        ("pitch:+2", AudioOp::Pitch { semitones: 2.0 }),
        ("noise-snr:20", AudioOp::NoiseSnr { snr_db: 20.0 }),
        ("gain:-6", AudioOp::Gain { db: -6.0 }),
        ("speed:1.1", AudioOp::Speed { factor: 1.1 }),
        (
            "stretch:1.25",
            AudioOp::Stretch {
                rate: 1.25,
                keep_length: false,
            },
        ),
        (
            "stretch:0.8:keep",
            AudioOp::Stretch {
                rate: 0.8,
                keep_length: true,
            },
        ),
        (
            "shift:0.1",
            AudioOp::Shift {
                fraction: 0.1,
                rollover: true,
            },
        ),
        (
            "shift:0.1:zero",
            AudioOp::Shift {
                fraction: 0.1,
                rollover: false,
            },
        ),
        ("noise:0.01", AudioOp::Noise { amplitude: 0.01 }),
        ("time-mask:0.1", AudioOp::TimeMask { fraction: 0.1 }),
        (
            "spec-freq-mask:0.2",
            AudioOp::SpecFreqMask { fraction: 0.2 },
        ),
    ] {
        let parsed: AudioOp = spec.parse().unwrap();
        assert_eq!(parsed, op, "{spec}");
        assert_eq!(parsed.to_string().parse::<AudioOp>().unwrap(), op);
    }
    let err = "reverb:3".parse::<AudioOp>().unwrap_err().to_string();
    assert_eq!(
        err,
        format!("bad audio op \"reverb:3\": expected one of {VALID_OPS}")
    );
    assert!(!err.contains('\n'));
    let err = "speed:fast".parse::<AudioOp>().unwrap_err().to_string();
    assert!(
        err.starts_with("bad audio op \"speed:fast\": \"fast\" is not a number"),
        "{err}"
    );
    let err = "speed:10".parse::<AudioOp>().unwrap_err().to_string();
    assert_eq!(
        err,
        "bad audio op \"speed:10\": speed: factor must be in [0.25, 4]"
    );
    assert!("shift:0.1:keep".parse::<AudioOp>().is_err());
}

#[test]
fn pipeline_is_seeded_and_draws_within_ranges() {
    let cfg = AudioAugmentConfig::default();
    let p = Pipeline::from_config(&cfg).unwrap();
    let clip = mono(tone(300.0, 0.25, SR), SR);
    let (mut a, mut b, mut c) = (clip.clone(), clip.clone(), clip.clone());
    let ops_a = p.apply(&mut a, 11).unwrap();
    assert_eq!(ops_a, p.apply(&mut b, 11).unwrap());
    assert_eq!(a, b);
    let ops_c = p.apply(&mut c, 12).unwrap();
    assert_ne!(ops_a, ops_c);
    for op in ops_a.iter().chain(&ops_c) {
        let v = op.value();
        let ok = match op {
            AudioOp::Gain { .. } => (-12.0..=12.0).contains(&v),
            AudioOp::Pitch { .. } => (-4.0..=4.0).contains(&v),
            AudioOp::Stretch { keep_length, .. } => *keep_length && (0.8..=1.25).contains(&v),
            AudioOp::NoiseSnr { .. } => (5.0..=40.0).contains(&v),
            _ => true,
        };
        assert!(ok, "{op}");
    }
    // With every p at 0 nothing happens; a bad range is rejected by name.
    let off = AudioAugmentConfig {
        gain: Uniform {
            p: 0.0,
            min: 0.0,
            max: 0.0,
        },
        ..cfg.clone()
    };
    assert!(Pipeline::from_config(&off).is_ok());
    let bad = AudioAugmentConfig {
        speed: Uniform {
            p: 0.5,
            min: 1.2,
            max: 1.1,
        },
        ..cfg
    };
    let err = Pipeline::from_config(&bad).unwrap_err().to_string();
    assert!(
        err.starts_with("audio config `speed`: needs 0 <= p <= 1 and min <= max"),
        "{err}"
    );
    let fixed = Pipeline::from_ops(vec!["gain:-6".parse().unwrap()]).unwrap();
    let mut d = clip.clone();
    assert_eq!(fixed.apply(&mut d, 0).unwrap().len(), 1);
}

/// Median fundamental over voiced frames: normalized autocorrelation of 40 ms frames, lag in
/// 60..400 Hz, parabolic interpolation of the peak lag; frames with less than 10% of the
/// loudest frame's energy or a peak correlation under 0.5 are skipped.
fn median_f0(x: &[f32], sr: u32) -> f64 {
    let frame = (sr as usize) / 25;
    let (min_lag, max_lag) = (sr as usize / 400, sr as usize / 60);
    let frames: Vec<&[f32]> = x.chunks_exact(frame).collect();
    let energy = |f: &[f32]| f.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
    let loudest = frames.iter().map(|f| energy(f)).fold(0.0, f64::max);
    let mut f0s = Vec::new();
    for f in frames.iter().filter(|f| energy(f) > 0.1 * loudest) {
        let r = |lag: usize| -> f64 {
            let (a, b) = (&f[..frame - lag], &f[lag..]);
            let num: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum();
            num / (energy(a) * energy(b)).sqrt().max(1e-12)
        };
        let rs: Vec<f64> = (min_lag - 1..=max_lag + 1).map(r).collect();
        let k = (1..rs.len() - 1)
            .max_by(|&a, &b| rs[a].total_cmp(&rs[b]))
            .unwrap();
        if rs[k] < 0.5 {
            continue;
        }
        let delta = 0.5 * (rs[k - 1] - rs[k + 1]) / (rs[k - 1] - 2.0 * rs[k] + rs[k + 1]);
        f0s.push(f64::from(sr) / ((min_lag - 1 + k) as f64 + delta));
    }
    f0s.sort_by(f64::total_cmp);
    f0s[f0s.len() / 2]
}

fn asset(name: &str) -> Audio {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/audio")
        .join(name);
    read_wav(&path).unwrap()
}

#[test]
fn pitch_shift_on_speech_scales_the_fundamental_and_keeps_duration() {
    // LibriVox "he was not an ill disposed young man", 16 kHz mono s16.
    let clip = asset("librivox-0880.wav");
    assert_eq!(
        (clip.sample_rate, clip.format, clip.channels.len()),
        (16_000, SampleFormat::Int16, 1)
    );
    let f0 = median_f0(&clip.channels[0], 16_000);
    let mut up = clip.clone();
    AudioOp::Pitch { semitones: 3.0 }
        .apply(&mut up, &mut rng(0))
        .unwrap();
    assert_eq!(up.len(), clip.len());
    // 2^(3/12) = 1.18921.
    let ratio = median_f0(&up.channels[0], 16_000) / f0;
    assert!(rel_err(ratio, 1.189_21) < 0.03, "f0 {f0} Hz, ratio {ratio}");
}

#[test]
fn speed_on_speech_scales_duration_and_fundamental() {
    // Allison Smith saying "seven", 8 kHz mono s16.
    let clip = asset("allison-7.wav");
    assert_eq!(clip.sample_rate, 8_000);
    let f0 = median_f0(&clip.channels[0], 8_000);
    let mut fast = clip.clone();
    AudioOp::Speed { factor: 1.1 }
        .apply(&mut fast, &mut rng(0))
        .unwrap();
    assert!(rel_err(fast.duration_s(), clip.duration_s() / 1.1) < 0.01);
    let ratio = median_f0(&fast.channels[0], 8_000) / f0;
    assert!(rel_err(ratio, 1.1) < 0.03, "f0 {f0} Hz, ratio {ratio}");
}
