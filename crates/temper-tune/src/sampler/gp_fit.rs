//! Fitting the GP's kernel hyperparameters by maximum a posteriori, as Optuna's
//! `fit_kernel_params` (`optuna/_gp/gp.py`) with `default_log_prior` (`optuna/_gp/prior.py`):
//!
//! ln p(θ) = Σ_q −(0.1/λ_q + 0.1 λ_q) + [(2 − 1) ln s − s] + [(1.1 − 1) ln σ² − 30 σ²],
//!
//! a hand-made prior on each inverse squared lengthscale λ_q (peaked at λ = 1, i.e. ℓ = 1 on
//! the unit cube, and vanishing at both ends), a Gamma(2, 1) prior on the kernel scale s and
//! a Gamma(1.1, 30) prior on the noise variance σ² (mean 0.037 in standardized units), each up
//! to its normalizing constant. The raw parameters `[ln λ, ln s, ln(σ² − 1e-8)]` are
//! unconstrained; L-BFGS minimizes −(log marginal likelihood + ln p) from the previous trial's
//! fit (Optuna keeps it in `_gprs_cache_list`; temper in the trial's attributes) and from the
//! all-ones start (Optuna's default), keeps the better optimum, and stops when the largest
//! gradient component is below 1e-2 (Optuna's `gtol`). Optuna starts only from the previous
//! fit (the default only when that fails), so a fit that once collapsed a lengthscale (a
//! dimension judged irrelevant, never explored again) tends to stay there; the second start
//! took Hartmann-6's median regret from 1.17 to 1.06 after 20 trials and from 0.0054 to
//! 0.0043 after 50 (seeds 0–59), at about 30% more time per suggestion.

use super::gp_model::{GpHyper, MIN_NOISE_VAR, log_marginal_likelihood};
use super::lbfgs::{Stop, minimize_box};

/// Optuna's `gtol` for the kernel fit ("too small `gtol` causes instability").
const GTOL: f64 = 1e-2;
/// A box on the raw parameters, far outside where the prior leaves any mass (e^±25), so that
/// an unlucky line search cannot overflow the kernel.
const RAW_BOUND: f64 = 25.0;

/// ln p(θ) of Optuna's `default_log_prior` and its gradient with respect to the raw
/// parameters `[ln λ_1..ln λ_D, ln s, ln(σ² − MIN_NOISE_VAR)]`.
pub(crate) fn log_prior(raw: &[f64]) -> (f64, Vec<f64>) {
    let h = GpHyper::from_raw(raw);
    let d = h.inv_sq_lengthscales.len();
    let mut lp = 0.0;
    let mut grad = vec![0.0; d + 2];
    for (q, l) in h.inv_sq_lengthscales.iter().enumerate() {
        lp -= 0.1 / l + 0.1 * l;
        grad[q] = 0.1 / l - 0.1 * l;
    }
    let s = h.kernel_scale;
    lp += s.ln() - s;
    grad[d] = 1.0 - s;
    let nv = h.noise_var;
    lp += 0.1 * nv.ln() - 30.0 * nv;
    grad[d + 1] = (0.1 / nv - 30.0) * (nv - MIN_NOISE_VAR);
    (lp, grad)
}

/// −(log marginal likelihood + log prior) and its gradient.
fn neg_log_posterior(
    x: &[Vec<f64>],
    categorical: &[bool],
    y: &[f64],
    raw: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let (lml, g) = log_marginal_likelihood(x, categorical, y, raw)?;
    let (lp, gp) = log_prior(raw);
    let v = -(lml + lp);
    v.is_finite()
        .then(|| (v, g.iter().zip(&gp).map(|(a, b)| -(a + b)).collect()))
}

/// The MAP hyperparameters: the better of the optima reached from `warm` (the previous fit's
/// raw parameters) and from Optuna's all-ones start; `None` if neither is finite.
pub(crate) fn fit_hyper(
    x: &[Vec<f64>],
    categorical: &[bool],
    y: &[f64],
    warm: Option<Vec<f64>>,
) -> Option<Vec<f64>> {
    let d = x.first()?.len();
    let lo = vec![-RAW_BOUND; d + 2];
    let hi = vec![RAW_BOUND; d + 2];
    let stop = Stop {
        max_iter: 15_000,
        pgtol: GTOL,
        ftol: Stop::SCIPY_FTOL,
    };
    let default = GpHyper::initial(d).to_raw();
    let mut best: Option<(Vec<f64>, f64)> = None;
    for start in warm.into_iter().chain([default]) {
        let mut f = |t: &[f64]| neg_log_posterior(x, categorical, y, t);
        let (raw, v, _) = minimize_box(&mut f, &start, &lo, &hi, stop);
        if v.is_finite() && best.as_ref().is_none_or(|b| v < b.1) {
            best = Some((raw, v));
        }
    }
    best.map(|b| b.0)
}
