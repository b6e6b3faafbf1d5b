//! Expected improvement and its logarithm (Jones et al. 1998; Ament et al. 2023,
//! "Unexpected Improvements to Expected Improvement for Bayesian Optimization").
//!
//! For a minimized loss with posterior N(μ, σ²) and best observed value `best`,
//! EI = σ h(z) with z = (best − μ)/σ and h(z) = z Φ(z) + φ(z). Optuna's `GPSampler`
//! maximizes log EI = ln h(z) + ln σ (`optuna/_gp/acqf.py`, `logei`), whose value and gradient
//! stay finite where EI itself underflows to 0, so the acquisition optimizer still sees a
//! slope far from the incumbent. ln h(z) is computed directly for z ≥ −25 (Ament et al.,
//! eq. 9, first branch, as Optuna) and from the asymptotic series of Mills' ratio below,
//! h(z) = φ(z) (1/z² − 3/z⁴ + 15/z⁶ − …) (Abramowitz & Stegun 26.2.12), where the
//! direct form cancels. Optuna adds 1e-12 to the variance (`stabilizing_noise`) so that σ > 0.

use std::f64::consts::{PI, SQRT_2};

/// Variance added before taking σ (Optuna's `LogEI(stabilizing_noise=1e-12)`).
pub(crate) const STABILIZING_NOISE: f64 = 1e-12;

/// Below this z the direct form of ln h(z) loses more than ~3 digits to cancellation.
const TAIL_Z: f64 = -25.0;

/// Expected improvement below `best` of a normal with `mean` and `std` (minimization):
/// (best − μ) Φ(z) + σ φ(z), z = (best − μ)/σ.
pub fn expected_improvement(mean: f64, std: f64, best: f64) -> f64 {
    let diff = best - mean;
    if std <= 1e-300 {
        return diff.max(0.0);
    }
    let z = diff / std;
    (std * (z * norm_cdf(z) + norm_pdf(z))).max(0.0)
}

fn norm_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

fn norm_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// h(z)/φ(z) = 1 − t R(t) for t = −z ≥ 25, R Mills' ratio: Σ_k (−1)^(k+1) (2k−1)!! / t^(2k).
/// Twelve terms leave a relative error below 1e-15 at t = 25 (the next term is ~1e-19 of
/// the first).
fn tail_ratio(z: f64) -> f64 {
    let u = 1.0 / (z * z);
    let mut term = u;
    let mut sum = 0.0;
    for k in 1..=12 {
        sum += term;
        term *= -((2 * k + 1) as f64) * u;
    }
    sum
}

/// ln h(z) and d ln h/dz = Φ(z)/h(z), h(z) = z Φ(z) + φ(z) the standard normal's EI.
pub(crate) fn log_h(z: f64) -> (f64, f64) {
    if z >= TAIL_Z {
        let cdf = norm_cdf(z);
        let h = z * cdf + norm_pdf(z);
        (h.ln(), cdf / h)
    } else {
        // h = φ S with S = 1 − tR; Φ/φ = R = (1 − S)/t with t = −z.
        let s = tail_ratio(z);
        let log_pdf = -0.5 * z * z - 0.5 * (2.0 * PI).ln();
        (log_pdf + s.ln(), (1.0 - s) / (-z * s))
    }
}

/// log EI of a posterior (`mean`, `var`) below `best`, and its derivatives with respect to
/// the mean and the variance (the variance stabilized by [`STABILIZING_NOISE`]).
pub(crate) fn log_ei(mean: f64, var: f64, best: f64) -> (f64, f64, f64) {
    let var = var + STABILIZING_NOISE;
    let sigma = var.sqrt();
    let z = (best - mean) / sigma;
    let (lh, dlh) = log_h(z);
    // ∂z/∂μ = −1/σ; ∂/∂v (ln h(z) + ½ ln v) = dlh · (−z / 2v) + 1/(2v).
    let d_mean = -dlh / sigma;
    let d_var = (1.0 - dlh * z) / (2.0 * var);
    (lh + sigma.ln(), d_mean, d_var)
}
