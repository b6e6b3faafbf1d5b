//! The statistics of `temper monitor`, pure functions of numbers: histograms and their bin
//! shares, the population stability index, total variation, the two-sample
//! Kolmogorov–Smirnov test with its asymptotic p-value, and per-channel pixel statistics.

use serde::Serialize;
use temper_data::ImageDataset;

/// Bins of the pixel-intensity histograms: 256 levels in bins of 8.
pub const PIXEL_BINS: usize = 32;
/// The floor on a bin's share inside [`psi`], so an empty bin adds a large finite term rather
/// than an infinite one (the usual fix for empty bins; 1e-4 is a common choice).
pub const PSI_EPSILON: f64 = 1e-4;

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]`; values below `lo` count in
/// the first bin, values at or above `hi` in the last (numpy.histogram closes the last bin on
/// the right too). A NaN counts nowhere.
///
/// # Panics
/// When `bins` is 0 or `hi <= lo`: fixed by the caller, not by input data.
pub fn histogram(values: impl IntoIterator<Item = f64>, lo: f64, hi: f64, bins: usize) -> Vec<u64> {
    assert!(bins > 0 && hi > lo, "histogram: bins > 0 and hi > lo");
    let mut counts = vec![0u64; bins];
    let width = (hi - lo) / bins as f64;
    for v in values.into_iter().filter(|v| !v.is_nan()) {
        let bin = ((v - lo) / width).floor().clamp(0.0, (bins - 1) as f64);
        counts[bin as usize] += 1;
    }
    counts
}

/// Each count's share of the total; all zeros when the total is 0.
pub fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| {
            if total > 0 {
                c as f64 / total as f64
            } else {
                0.0
            }
        })
        .collect()
}

/// Population stability index of the `actual` bin shares against the `expected` ones:
/// `PSI = Σ (a_i − e_i) ln(a_i / e_i)` (Yurdakul 2018, *Statistical Properties of Population
/// Stability Index*), each share floored at [`PSI_EPSILON`]. It is the symmetrised
/// Kullback–Leibler divergence, so it is 0 for equal shares and never negative.
///
/// # Panics
/// When the two slices differ in length.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    assert_eq!(expected.len(), actual.len(), "psi: the same bins");
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(PSI_EPSILON), a.max(PSI_EPSILON));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Total variation distance of two share vectors, `½ Σ |p_i − q_i|`.
pub fn total_variation(p: &[f64], q: &[f64]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

/// The two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KsTest {
    /// `D = sup_x |F_a(x) − F_b(x)|` of the two empirical distribution functions.
    pub d: f64,
    /// Asymptotic two-sided p-value: `Q_KS(√(nm / (n + m)) · D)`, the Kolmogorov limit
    /// (scipy's `kstwobign.sf`, which its `ks_2samp` documentation describes for large samples).
    pub p_value: f64,
}

/// The two-sample KS statistic of `a` and `b` and its asymptotic p-value. An empty sample
/// gives `D = 0`, `p = 1` (no evidence of a difference).
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> KsTest {
    if a.is_empty() || b.is_empty() {
        return KsTest {
            d: 0.0,
            p_value: 1.0,
        };
    }
    let sorted = |s: &[f64]| {
        let mut v = s.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    // Step both empirical CDFs past each distinct value, ties together.
    while i < a.len() && j < b.len() {
        let x = if a[i].total_cmp(&b[j]).is_le() {
            a[i]
        } else {
            b[j]
        };
        while i < a.len() && a[i].total_cmp(&x).is_le() {
            i += 1;
        }
        while j < b.len() && b[j].total_cmp(&x).is_le() {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let en = (n * m / (n + m)).sqrt();
    KsTest {
        d,
        p_value: kolmogorov_sf(en * d),
    }
}

/// `P(K > x)` for the Kolmogorov distribution (scipy.special.kolmogorov):
/// `Q(x) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}`; below `x = 1` through the equivalent
/// `1 − (√(2π)/x) Σ_{k≥1} e^{−(2k−1)²π²/(8x²)}`, which converges fast there.
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let q = if x < 1.0 {
        let t = -std::f64::consts::PI.powi(2) / (8.0 * x * x);
        let sum: f64 = (1..=20)
            .map(|k| ((2 * k - 1) as f64).powi(2) * t)
            .map(f64::exp)
            .sum();
        1.0 - (2.0 * std::f64::consts::PI).sqrt() / x * sum
    } else {
        let sum: f64 = (1..=100)
            .map(|k| {
                let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
                sign * (-2.0 * (k * k) as f64 * x * x).exp()
            })
            .sum();
        2.0 * sum
    };
    q.clamp(0.0, 1.0)
}

/// Per-channel pixel statistics of some images, intensities in `[0, 1]` units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PixelStats {
    /// Mean pixel intensity per channel, in `[0, 1]` units.
    pub mean: Vec<f64>,
    /// Population standard deviation of the pixel intensity per channel, in `[0, 1]` units.
    pub std: Vec<f64>,
    /// `histograms[channel][bin]`: pixel counts in [`PIXEL_BINS`] bins of 8 levels.
    pub histograms: Vec<Vec<u64>>,
}

/// [`PixelStats`] of the images at `indices` of `dataset` (population standard deviation,
/// as `Normalization::fit` computes it).
pub fn pixel_stats(dataset: &ImageDataset, indices: &[usize]) -> PixelStats {
    let [c, h, w] = dataset.image_shape();
    let mut levels = vec![[0u64; 256]; c];
    for &i in indices {
        for (ch, plane) in dataset.image(i).chunks_exact(h * w).enumerate() {
            for &p in plane {
                levels[ch][p as usize] += 1;
            }
        }
    }
    let mut stats = PixelStats {
        mean: Vec::with_capacity(c),
        std: Vec::with_capacity(c),
        histograms: Vec::with_capacity(c),
    };
    for counts in &levels {
        let n = counts.iter().sum::<u64>().max(1) as f64;
        let value = |level: usize| level as f64 / 255.0;
        let mean = (0..256).map(|l| counts[l] as f64 * value(l)).sum::<f64>() / n;
        let var = (0..256)
            .map(|l| counts[l] as f64 * (value(l) - mean).powi(2))
            .sum::<f64>()
            / n;
        stats.mean.push(mean);
        stats.std.push(var.sqrt());
        let per_bin = 256 / PIXEL_BINS;
        stats
            .histograms
            .push(counts.chunks(per_bin).map(|b| b.iter().sum()).collect());
    }
    stats
}
