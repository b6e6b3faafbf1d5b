//! The standard test functions of the sampler benchmarks, shared by `benches/ask.rs` and
//! `examples/regret.rs`. Definitions, domains, minima and minimizers are those of Surjanovic &
//! Bingham's Virtual Library of Simulation Experiments (<https://www.sfu.ca/~ssurjano/>).
//! Each function comes with its global minimum and a minimizer, so a caller can check
//! `f(x*) ≈ min` cheaply (a bench target runs no `#[cfg(test)]`).

// Each user takes only the functions it needs.
#![allow(dead_code)]

use std::f64::consts::PI;

/// Global minimum of [`branin`].
pub const BRANIN_MIN: f64 = 0.397887;
/// One of [`branin`]'s three minimizers, (π, 2.275).
pub const BRANIN_ARGMIN: [f64; 2] = [PI, 2.275];
/// Global minimum of [`hartmann3`].
pub const HARTMANN3_MIN: f64 = -3.86278;
/// [`hartmann3`]'s minimizer.
pub const HARTMANN3_ARGMIN: [f64; 3] = [0.114614, 0.555649, 0.852547];
/// Global minimum of [`hartmann6`].
pub const HARTMANN6_MIN: f64 = -3.32237;
/// [`hartmann6`]'s minimizer.
pub const HARTMANN6_ARGMIN: [f64; 6] = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573];

/// Branin-Hoo on `[-5, 10] x [0, 15]`; global minimum 0.397887 at (−π, 12.275), (π, 2.275)
/// and (9.42478, 2.475).
pub fn branin(x: &[f64]) -> f64 {
    let (x1, x2) = (x[0], x[1]);
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

/// Hartmann-3 on `[0, 1]^3`: `−Σ_i α_i exp(−Σ_j A_ij (x_j − P_ij)²)`; global minimum
/// −3.86278 at (0.114614, 0.555649, 0.852547).
pub fn hartmann3(x: &[f64]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 3]; 4] = [
        [3.0, 10.0, 30.0],
        [0.1, 10.0, 35.0],
        [3.0, 10.0, 30.0],
        [0.1, 10.0, 35.0],
    ];
    const P: [[f64; 3]; 4] = [
        [0.3689, 0.1170, 0.2673],
        [0.4699, 0.4387, 0.7470],
        [0.1091, 0.8732, 0.5547],
        [0.0381, 0.5743, 0.8828],
    ];
    -(0..4)
        .map(|i| {
            let s: f64 = (0..3).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-s).exp()
        })
        .sum::<f64>()
}

/// Hartmann-6 on `[0, 1]^6`; global minimum −3.32237 at
/// (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
pub fn hartmann6(x: &[f64]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4)
        .map(|i| {
            let s: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-s).exp()
        })
        .sum::<f64>()
}

/// Levy in any dimension d, usually on `[-10, 10]^d`: with `w_i = 1 + (x_i − 1) / 4`,
/// `sin²(π w_1) + Σ_{i<d} (w_i − 1)² [1 + 10 sin²(π w_i + 1)] + (w_d − 1)² [1 + sin²(2π w_d)]`;
/// global minimum 0 at (1, ..., 1).
pub fn levy(x: &[f64]) -> f64 {
    let w: Vec<f64> = x.iter().map(|xi| 1.0 + (xi - 1.0) / 4.0).collect();
    let d = w.len();
    let middle: f64 = w[..d - 1]
        .iter()
        .map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2)))
        .sum();
    let last = (w[d - 1] - 1.0).powi(2) * (1.0 + (2.0 * PI * w[d - 1]).sin().powi(2));
    (PI * w[0]).sin().powi(2) + middle + last
}

/// Rosenbrock in any dimension d, usually on `[-5, 10]^d`:
/// `Σ_{i<d} [100 (x_{i+1} − x_i²)² + (x_i − 1)²]`; global minimum 0 at (1, ..., 1).
pub fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|p| 100.0 * (p[1] - p[0] * p[0]).powi(2) + (p[0] - 1.0).powi(2))
        .sum()
}

/// `ln(1 + rosenbrock(x))`: the same minimizer and minimum 0, with values in [0, ~15] instead
/// of up to ~2·10⁶ on `[-5, 10]^4`, so a few huge values do not dominate a model's fit.
pub fn log_rosenbrock(x: &[f64]) -> f64 {
    rosenbrock(x).ln_1p()
}
