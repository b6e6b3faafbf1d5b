//! Short-time Fourier transform (real FFT from `realfft`, built on `rustfft`), its inverse by
//! weighted overlap-add, the phase vocoder and SpecAugment masks.
//!
//! Conventions follow librosa: periodic Hann window, hop `n_fft / 4`, frames centred on
//! `t * hop` (the signal is zero-padded by `n_fft / 2` on both sides).
//!
//! **Bounds.** These are public functions whose sizes allocate: `n_fft` is even and in
//! `2..=`[`MAX_N_FFT`], the hop in `1..=n_fft`, a vocoder rate in `[1/64, 64]` (as
//! [`resample`](super::resample::resample)'s ratio), an output length at most
//! [`MAX_SAMPLES`] and every frame of a spectrogram has `n_fft / 2 + 1` bins; anything else is
//! an error, not a panic or a huge allocation.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex32;

use super::error::{Result, invalid};
use super::wav::{MAX_SAMPLES, check_samples};

/// Largest FFT size: 2^16, twice what [`n_fft_for`] gives at the highest sample rate
/// ([`MAX_SAMPLE_RATE`](super::wav::MAX_SAMPLE_RATE), 32 768).
pub const MAX_N_FFT: usize = 1 << 16;

/// Most complex values a spectrogram may hold: `4 *` [`MAX_SAMPLES`]. With librosa's hop of
/// `n_fft / 4` a signal of `len` samples gives about `2 len` values, so every clip within the
/// bounds fits, stretched 4 times in the vocoder included.
pub const MAX_SPECTROGRAM_VALUES: usize = 4 * MAX_SAMPLES;

/// Checks `frames * bins` against [`MAX_SPECTROGRAM_VALUES`].
fn check_values(what: &str, frames: usize, bins: usize) -> Result<()> {
    let values = frames.saturating_mul(bins);
    if values > MAX_SPECTROGRAM_VALUES {
        return Err(invalid(
            what,
            format!(
                "{frames} frames of {bins} bins is more than the limit of \
                 {MAX_SPECTROGRAM_VALUES} values"
            ),
        ));
    }
    Ok(())
}

/// Checks an FFT size and hop against the module's bounds.
fn check_frame(n_fft: usize, hop: usize) -> Result<()> {
    if n_fft < 2 || !n_fft.is_multiple_of(2) || n_fft > MAX_N_FFT {
        return Err(invalid(
            "stft",
            format!("n_fft = {n_fft} must be even and in 2..={MAX_N_FFT}"),
        ));
    }
    if hop == 0 || hop > n_fft {
        return Err(invalid(
            "stft",
            format!("hop = {hop} must be in 1..=n_fft ({n_fft})"),
        ));
    }
    Ok(())
}

/// Checks a spectrogram's sizes: its frame, and every frame holding `n_fft / 2 + 1` bins.
fn check_spec(spec: &Spectrogram) -> Result<()> {
    check_frame(spec.n_fft, spec.hop)?;
    if let Some(t) = spec.frames.iter().position(|f| f.len() != spec.num_bins()) {
        return Err(invalid(
            "stft",
            format!(
                "frame {t} has {} bins, expected n_fft / 2 + 1 = {}",
                spec.frames[t].len(),
                spec.num_bins()
            ),
        ));
    }
    Ok(())
}

/// A complex spectrogram: `frames[t][k]` is bin `k` (of `n_fft / 2 + 1`) of frame `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// FFT size (window length) in samples.
    pub n_fft: usize,
    /// Hop between frames in samples.
    pub hop: usize,
    /// `frames[t][k]`: the complex value of bin `k` in frame `t`.
    pub frames: Vec<Vec<Complex32>>,
}

impl Spectrogram {
    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn num_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Zeroes frames `start .. start + width` (SpecAugment time mask, Park et al. 2019).
    pub fn mask_time(&mut self, start: usize, width: usize) {
        let end = (start + width).min(self.frames.len());
        for f in &mut self.frames[start.min(end)..end] {
            f.fill(Complex32::new(0.0, 0.0));
        }
    }

    /// Zeroes bins `start .. start + width` of every frame (SpecAugment frequency mask).
    pub fn mask_freq(&mut self, start: usize, width: usize) {
        let end = (start + width).min(self.num_bins());
        for f in &mut self.frames {
            f[start.min(end)..end].fill(Complex32::new(0.0, 0.0));
        }
    }
}

/// The FFT size used for a sample rate: the power of two at or above `sample_rate / 16`
/// (2048 at 22 050 Hz, librosa's default there; 1024 at 16 kHz; 512 at 8 kHz).
/// Capped at [`MAX_N_FFT`], so even a rate past the bounds gives a usable size.
pub fn n_fft_for(sample_rate: u32) -> usize {
    (sample_rate as usize / 16)
        .next_power_of_two()
        .clamp(64, MAX_N_FFT)
}

fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// STFT of `signal` with a periodic Hann window of `n_fft` (even) and hop `hop`.
pub fn stft(signal: &[f32], n_fft: usize, hop: usize) -> Result<Spectrogram> {
    check_frame(n_fft, hop)?;
    let pad = n_fft / 2;
    let n_frames = 1 + signal.len().div_ceil(hop);
    check_values("stft", n_frames, n_fft / 2 + 1)?;
    let mut padded = vec![0.0f32; pad + (n_frames - 1) * hop + n_fft];
    padded[pad..pad + signal.len()].copy_from_slice(signal);
    let window = hann(n_fft);
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
    let mut input = fft.make_input_vec();
    let mut scratch = fft.make_scratch_vec();
    let frames = (0..n_frames)
        .map(|t| {
            let seg = &padded[t * hop..t * hop + n_fft];
            for ((x, s), w) in input.iter_mut().zip(seg).zip(&window) {
                *x = s * w;
            }
            let mut out = fft.make_output_vec();
            // Lengths come from the plan itself, so processing cannot fail.
            let _ = fft.process_with_scratch(&mut input, &mut out, &mut scratch);
            out
        })
        .collect();
    Ok(Spectrogram { n_fft, hop, frames })
}

/// Inverse STFT by windowed overlap-add divided by the summed squared window (the least-squares
/// inverse of Griffin & Lim 1984), trimmed or zero-extended to `len` samples. `istft(&stft(x))`
/// gives `x` back up to rounding.
pub fn istft(spec: &Spectrogram, len: usize) -> Result<Vec<f32>> {
    check_spec(spec)?;
    check_samples("istft", len)?;
    let (n_fft, hop) = (spec.n_fft, spec.hop);
    let pad = n_fft / 2;
    let total = (spec.frames.len().max(1) - 1) * hop + n_fft;
    let mut acc = vec![0.0f32; total.max(pad + len)];
    let mut norm = vec![0.0f32; acc.len()];
    let window = hann(n_fft);
    let ifft = RealFftPlanner::<f32>::new().plan_fft_inverse(n_fft);
    let mut out = ifft.make_output_vec();
    let mut scratch = ifft.make_scratch_vec();
    for (t, frame) in spec.frames.iter().enumerate() {
        let mut input = frame.clone();
        // A real signal's DC and Nyquist bins are real; realfft insists on it.
        input[0].im = 0.0;
        input[n_fft / 2].im = 0.0;
        let _ = ifft.process_with_scratch(&mut input, &mut out, &mut scratch);
        for i in 0..n_fft {
            acc[t * hop + i] += out[i] / n_fft as f32 * window[i];
            norm[t * hop + i] += window[i] * window[i];
        }
    }
    Ok((0..len)
        .map(|i| {
            let n = norm[pad + i];
            if n > 1e-6 { acc[pad + i] / n } else { 0.0 }
        })
        .collect())
}

/// Phase vocoder (Flanagan & Golden 1966; as librosa's `phase_vocoder`): frames read at
/// steps of `rate` with magnitudes interpolated linearly and phases advanced by each bin's
/// measured instantaneous frequency. `rate > 1` shortens, `rate < 1` lengthens; `rate` is in
/// `[1/64, 64]`.
pub fn phase_vocoder(spec: &Spectrogram, rate: f64) -> Result<Spectrogram> {
    check_spec(spec)?;
    if !(rate.is_finite() && (1.0 / 64.0..=64.0).contains(&rate)) {
        return Err(invalid(
            "phase vocoder",
            format!("rate must be in [1/64, 64], got {rate}"),
        ));
    }
    let out_frames = (spec.frames.len() as f64 / rate).ceil() as usize;
    check_values("phase vocoder", out_frames, spec.num_bins())?;
    let bins = spec.num_bins();
    let n = spec.frames.len();
    let zero = vec![Complex32::new(0.0, 0.0); bins];
    let frame = |t: usize| spec.frames.get(t).unwrap_or(&zero);
    let advance: Vec<f64> = (0..bins)
        .map(|k| 2.0 * std::f64::consts::PI * k as f64 * spec.hop as f64 / spec.n_fft as f64)
        .collect();
    let mut phase: Vec<f64> = frame(0).iter().map(|c| f64::from(c.arg())).collect();
    let mut frames = Vec::new();
    let mut step = 0.0f64;
    while step < n as f64 {
        let t = step as usize;
        let alpha = step - t as f64;
        let (a, b) = (frame(t), frame(t + 1));
        let out = (0..bins)
            .map(|k| {
                let mag = (1.0 - alpha) * f64::from(a[k].norm()) + alpha * f64::from(b[k].norm());
                Complex32::from_polar(mag as f32, phase[k] as f32)
            })
            .collect();
        frames.push(out);
        for k in 0..bins {
            let mut d = f64::from(b[k].arg()) - f64::from(a[k].arg()) - advance[k];
            d -= 2.0 * std::f64::consts::PI * (d / (2.0 * std::f64::consts::PI)).round();
            phase[k] += advance[k] + d;
        }
        step += rate;
    }
    Ok(Spectrogram {
        n_fft: spec.n_fft,
        hop: spec.hop,
        frames,
    })
}

/// Time stretch by `rate` with the pitch kept: STFT, [`phase_vocoder`], inverse STFT to
/// `round(len / rate)` samples (librosa's `time_stretch`); that length is at most
/// [`MAX_SAMPLES`].
pub fn time_stretch(signal: &[f32], rate: f64, n_fft: usize) -> Result<Vec<f32>> {
    let out_len = (signal.len() as f64 / rate).round();
    if out_len.is_nan() || out_len > MAX_SAMPLES as f64 {
        return Err(invalid(
            "time stretch",
            format!(
                "{} samples at rate {rate} would give more than the limit of {MAX_SAMPLES}",
                signal.len()
            ),
        ));
    }
    let spec = stft(signal, n_fft, n_fft / 4)?;
    istft(&phase_vocoder(&spec, rate)?, out_len as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istft_inverts_stft() {
        // A chirp-like signal; 1e-5 is f32 rounding over a 512-point FFT.
        let x: Vec<f32> = (0..3001)
            .map(|i| ((i as f32 * 0.01).sin() * (i as f32 * 0.0007).cos()) * 0.8)
            .collect();
        let spec = stft(&x, 512, 128).unwrap();
        assert_eq!(spec.frames.len(), 1 + 3001usize.div_ceil(128));
        let y = istft(&spec, x.len()).unwrap();
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-5, "max error {err}");
    }

    #[test]
    fn rate_one_vocoder_is_the_identity() {
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.2).sin() * 0.5).collect();
        let y = time_stretch(&x, 1.0, 512).unwrap();
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-4, "max error {err}");
    }

    #[test]
    fn masks_zero_exactly_their_band() {
        let x: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.3).sin()).collect();
        let mut s = stft(&x, 256, 64).unwrap();
        s.mask_time(3, 4);
        s.mask_freq(10, 5);
        for (t, f) in s.frames.iter().enumerate() {
            for (k, c) in f.iter().enumerate() {
                let masked = (3..7).contains(&t) || (10..15).contains(&k);
                if masked {
                    assert_eq!(c.norm(), 0.0);
                }
            }
        }
        // Out-of-range masks are clipped, not a panic.
        s.mask_time(1000, 5);
        s.mask_freq(200, 500);
        assert_eq!(n_fft_for(22050), 2048);
        assert_eq!(n_fft_for(16000), 1024);
        assert_eq!(n_fft_for(8000), 512);
    }
}
