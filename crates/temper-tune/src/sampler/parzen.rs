//! The Parzen estimator of TPE, after Optuna 5.0's `optuna/samplers/_tpe/parzen_estimator.py`
//! and `probability_distributions.py`: a mixture
//! `p(x) = Σ_k w_k Π_d K_kd(x_d)` with one kernel per observation (weights `default_weights`)
//! plus a prior kernel (weight `prior_weight`), the weights normalised to sum 1. Each factor
//! is, for a numeric parameter on its internal scale (log for log parameters, integers
//! widened by half a step), a normal `N(μ_k, σ_k)` truncated to `[low, high]`, with σ_k from
//! [`neighbour_sigmas`] clipped to `[range / min(100, n + 2), range]` (the magic clip); the
//! prior kernel is `N((low + high) / 2, range)`. Integers score the mass of their cell
//! `[v − step/2, v + step/2]`. A categorical factor is the one-hot of the observed choice plus
//! `prior_weight / (n + 1)` on every choice, normalised; the prior kernel is uniform.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal};

use crate::space::{Distribution, ParamSpec};

/// Settings shared by every estimator of one TPE sampler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParzenParams {
    pub prior_weight: f64,
    pub consider_magic_clip: bool,
    pub consider_endpoints: bool,
}

/// Optuna's `default_weights`: 1 for the 25 newest observations, a linear ramp from 1/n up
/// to 1 for the older ones.
pub(crate) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let m = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..m)
        .map(|i| {
            if m == 1 {
                start
            } else {
                start + (1.0 - start) * i as f64 / (m - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

enum Kernels {
    Numeric {
        mus: Vec<f64>,
        sigmas: Vec<f64>,
        /// `ln Z_k`, the log mass of kernel `k` inside `[low, high]`, computed once per fit
        /// rather than once per scored point.
        log_z: Vec<f64>,
        low: f64,
        high: f64,
    },
    Categorical {
        /// `probs[k][c]`: probability of choice `c` under kernel `k`.
        log_probs: Vec<Vec<f64>>,
    },
}

struct Dim<'a> {
    spec: &'a ParamSpec,
    kernels: Kernels,
}

/// A fitted estimator over a group of parameters.
pub(crate) struct Parzen<'a> {
    log_weights: Vec<f64>,
    dims: Vec<Dim<'a>>,
}

impl<'a> Parzen<'a> {
    /// Fits on `obs[i][d]`, the internal-scale value of parameter `specs[d]` in the `i`-th
    /// observation (oldest first).
    pub fn new(specs: &[&'a ParamSpec], obs: &[Vec<f64>], p: ParzenParams) -> Parzen<'a> {
        let n = obs.len();
        let mut w = default_weights(n);
        w.push(if n == 0 { 1.0 } else { p.prior_weight });
        let total: f64 = w.iter().sum();
        let log_weights = w.iter().map(|v| (v / total).ln()).collect();
        let dims = specs
            .iter()
            .enumerate()
            .map(|(d, spec)| {
                let col: Vec<f64> = obs.iter().map(|o| o[d]).collect();
                Dim {
                    spec,
                    kernels: kernels(spec, &col, p),
                }
            })
            .collect();
        Parzen { log_weights, dims }
    }

    /// Draws `size` points (internal scale, one value per dimension); integers are snapped to
    /// their grid before they are scored, as Optuna's `_MixtureOfProductDistribution.sample`
    /// rounds them.
    pub fn sample(&self, rng: &mut ChaCha8Rng, size: usize) -> Vec<Vec<f64>> {
        let weights: Vec<f64> = self.log_weights.iter().map(|l| l.exp()).collect();
        (0..size)
            .map(|_| {
                let k = pick(rng, &weights);
                self.dims
                    .iter()
                    .map(|dim| match &dim.kernels {
                        Kernels::Numeric {
                            mus,
                            sigmas,
                            low,
                            high,
                            ..
                        } => {
                            let x = trunc_normal(rng, mus[k], sigmas[k], *low, *high);
                            snap(dim.spec, x)
                        }
                        Kernels::Categorical { log_probs } => {
                            let p: Vec<f64> = log_probs[k].iter().map(|l| l.exp()).collect();
                            pick(rng, &p) as f64
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Log density (log mass for integers and categoricals) of an internal-scale point.
    pub fn log_pdf(&self, x: &[f64]) -> f64 {
        let terms: Vec<f64> = (0..self.log_weights.len())
            .map(|k| {
                self.log_weights[k]
                    + self
                        .dims
                        .iter()
                        .zip(x)
                        .map(|(dim, &v)| kernel_log_pdf(dim, k, v))
                        .sum::<f64>()
            })
            .collect();
        log_sum_exp(&terms)
    }
}

fn kernels(spec: &ParamSpec, col: &[f64], p: ParzenParams) -> Kernels {
    let n = col.len();
    match &spec.distribution {
        Distribution::Categorical { choices } => {
            let c = choices.len();
            let n_kernels = n + 1;
            let mut log_probs = Vec::with_capacity(n_kernels);
            for &obs in col {
                let mut row = vec![p.prior_weight / n_kernels as f64; c];
                row[(obs as usize).min(c - 1)] += 1.0;
                let s: f64 = row.iter().sum();
                log_probs.push(row.iter().map(|v| (v / s).ln()).collect());
            }
            log_probs.push(vec![-(c as f64).ln(); c]);
            Kernels::Categorical { log_probs }
        }
        _ => {
            let (low, high) = spec.internal_bounds();
            let range = high - low;
            let mut sigmas = neighbour_sigmas(col, low, high, p.consider_endpoints);
            let min_sigma = if p.consider_magic_clip {
                range / (100.0f64).min(1.0 + (n + 1) as f64)
            } else {
                1e-12
            };
            for s in &mut sigmas {
                *s = s.clamp(min_sigma, range);
            }
            let mut mus = col.to_vec();
            mus.push(0.5 * (low + high));
            sigmas.push(range);
            let log_z = mus
                .iter()
                .zip(&sigmas)
                .map(|(mu, sigma)| log_normal_mass((low - mu) / sigma, (high - mu) / sigma))
                .collect();
            Kernels::Numeric {
                mus,
                sigmas,
                log_z,
                low,
                high,
            }
        }
    }
}

/// Optuna's bandwidth rule (`compute_sigmas` in `parzen_estimator.py`, Optuna 5.0), used for
/// every numeric dimension, jointly modelled or not: sort the observations, put the range
/// ends on either side, and give each observation the larger gap to its two neighbours;
/// without `consider_endpoints` (and with at least two observations) the outermost ones use
/// their inner gap only. Optuna 4.x still counted the prior's mean as a neighbour, and gave
/// jointly modelled parameters the Scott-like `0.2 · n^(−1/(d+4)) · range` instead; 5.0
/// dropped both.
pub(crate) fn neighbour_sigmas(
    col: &[f64],
    low: f64,
    high: f64,
    consider_endpoints: bool,
) -> Vec<f64> {
    let mut order: Vec<usize> = (0..col.len()).collect();
    order.sort_by(|&a, &b| col[a].total_cmp(&col[b]));
    let m = col.len();
    let mut ends = Vec::with_capacity(m + 2);
    ends.push(low);
    ends.extend(order.iter().map(|&i| col[i]));
    ends.push(high);
    let mut sorted_sigmas: Vec<f64> = (1..=m)
        .map(|i| (ends[i] - ends[i - 1]).max(ends[i + 1] - ends[i]))
        .collect();
    if !consider_endpoints && m >= 2 {
        sorted_sigmas[0] = ends[2] - ends[1];
        sorted_sigmas[m - 1] = ends[m] - ends[m - 1];
    }
    let mut sigmas = vec![0.0; m];
    for (s, &i) in sorted_sigmas.iter().zip(&order) {
        sigmas[i] = *s;
    }
    sigmas
}

/// An integer's internal coordinate moved to the nearest value of its grid
/// (`low + k · step`, clamped into range); other coordinates unchanged.
fn snap(spec: &ParamSpec, x: f64) -> f64 {
    match spec.distribution {
        Distribution::Int { .. } => spec.to_internal(&spec.from_internal(x)).unwrap_or(x),
        _ => x,
    }
}

fn kernel_log_pdf(dim: &Dim<'_>, k: usize, x: f64) -> f64 {
    match &dim.kernels {
        Kernels::Categorical { log_probs } => {
            let row = &log_probs[k];
            row[(x.max(0.0) as usize).min(row.len() - 1)]
        }
        Kernels::Numeric {
            mus, sigmas, log_z, ..
        } => {
            let (mu, sigma, log_z) = (mus[k], sigmas[k], log_z[k]);
            match &dim.spec.distribution {
                Distribution::Int { step, log, .. } => {
                    // Mass of the integer's cell [v - step/2, v + step/2], as Optuna's
                    // `_BatchedDiscreteTrunc(Log)NormDistributions`.
                    let v = if *log { x.exp().round() } else { x };
                    let half = *step as f64 / 2.0;
                    let (a, b) = if *log {
                        ((v - half).ln(), (v + half).ln())
                    } else {
                        (v - half, v + half)
                    };
                    log_normal_mass((a - mu) / sigma, (b - mu) / sigma) - log_z
                }
                _ => {
                    let z = (x - mu) / sigma;
                    -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln() - sigma.ln() - log_z
                }
            }
        }
    }
}

/// ln(Φ(b) − Φ(a)) for a < b, computed on the side of the tail that keeps precision.
pub(crate) fn log_normal_mass(a: f64, b: f64) -> f64 {
    let s = std::f64::consts::SQRT_2;
    let mass = if a > 0.0 {
        0.5 * (libm::erfc(a / s) - libm::erfc(b / s))
    } else if b < 0.0 {
        0.5 * (libm::erfc(-b / s) - libm::erfc(-a / s))
    } else {
        1.0 - 0.5 * libm::erfc(-a / s) - 0.5 * libm::erfc(b / s)
    };
    mass.max(1e-300).ln()
}

fn trunc_normal(rng: &mut ChaCha8Rng, mu: f64, sigma: f64, low: f64, high: f64) -> f64 {
    // Rejection: mu lies in [low, high] and sigma <= high - low, so at least a third of the
    // mass is inside and 64 tries fail with probability below 1e-11.
    for _ in 0..64 {
        let z: f64 = StandardNormal.sample(rng);
        let x = mu + sigma * z;
        if x >= low && x <= high {
            return x;
        }
    }
    rng.random_range(low..=high)
}

fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}
