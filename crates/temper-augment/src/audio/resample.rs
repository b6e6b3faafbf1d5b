//! Band-limited resampling of a whole signal with `rubato`'s windowed-sinc resampler.

use rubato::{
    Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

use super::error::{Result, invalid};
use super::wav::MAX_SAMPLES;

const CHUNK: usize = 1024;

/// Resamples `signal` so it has `round(len * ratio)` samples (`ratio` = output rate / input
/// rate), with a 256-tap Blackman-Harris² windowed sinc cut off at 0.95 of the lower Nyquist
/// frequency (rubato's recommended settings). Output frame `j` holds the input at time
/// `(j + 1) / ratio - 1` (measured; `SincFixedIn` already compensates its filter's look-ahead,
/// so nothing is trimmed): aligned with the input to within one output sample. The output
/// length is at most [`MAX_SAMPLES`], checked before any work.
pub fn resample(signal: &[f32], ratio: f64) -> Result<Vec<f32>> {
    if !(ratio.is_finite() && (1.0 / 64.0..=64.0).contains(&ratio)) {
        return Err(invalid(
            "resample",
            format!("ratio must be in [1/64, 64], got {ratio}"),
        ));
    }
    let target = (signal.len() as f64 * ratio).round();
    if target > MAX_SAMPLES as f64 {
        return Err(invalid(
            "resample",
            format!(
                "{} samples at ratio {ratio} would give more than the limit of {MAX_SAMPLES}",
                signal.len()
            ),
        ));
    }
    let target = target as usize;
    let params = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: 0.95,
        interpolation: SincInterpolationType::Cubic,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    let fail = |e: &dyn std::fmt::Display| invalid("resample", e.to_string());
    let mut r = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, 1).map_err(|e| fail(&e))?;
    let mut out: Vec<f32> = Vec::with_capacity(target + CHUNK);
    let mut chunks = signal.chunks_exact(CHUNK);
    for chunk in chunks.by_ref() {
        out.extend(&r.process(&[chunk], None).map_err(|e| fail(&e))?[0]);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        out.extend(
            &r.process_partial(Some(&[rest]), None)
                .map_err(|e| fail(&e))?[0],
        );
    }
    while out.len() < target {
        let flushed = r
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| fail(&e))?;
        if flushed[0].is_empty() {
            break;
        }
        out.extend(&flushed[0]);
    }
    out.resize(target, 0.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_a_tone_at_rubatos_alignment() {
        // 200 Hz sampled at 8 kHz; output frame j holds the input at time (j + 1) / ratio − 1.
        let w = 2.0 * std::f64::consts::PI * 200.0 / 8000.0;
        let x: Vec<f32> = (0..8000).map(|i| (w * i as f64).sin() as f32).collect();
        for ratio in [1.5, 0.5, 1.0 / 1.1, 2.0] {
            let y = resample(&x, ratio).unwrap();
            assert_eq!(y.len(), (8000.0 * ratio).round() as usize);
            let err = (y.len() / 8..y.len() * 7 / 8)
                .map(|j| (f64::from(y[j]) - (w * ((j + 1) as f64 / ratio - 1.0)).sin()).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-3, "ratio {ratio}: max error {err}");
        }
        assert!(resample(&x, 0.0).is_err());
    }
}
