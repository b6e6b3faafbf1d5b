//! Gaussian-process regression with a Matérn-5/2 ARD kernel (Rasmussen & Williams 2006,
//! eq. 4.17 and Algorithm 2.1), its log marginal likelihood with analytic gradient
//! (eq. 5.9), and expected improvement (Jones et al. 1998; Snoek et al. 2012, eq. 2).

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

const SQRT5: f64 = 2.236_067_977_499_79;

/// Kernel hyperparameters: one lengthscale per input dimension, signal and noise variance.
#[derive(Debug, Clone, PartialEq)]
pub struct GpHyper {
    /// One lengthscale per input dimension (ARD).
    pub lengthscales: Vec<f64>,
    /// Signal variance s².
    pub signal_var: f64,
    /// Observation noise variance σn², added to the Gram matrix's diagonal.
    pub noise_var: f64,
}

impl GpHyper {
    /// `[ln l_1..ln l_D, ln signal_var, ln noise_var]`.
    pub fn to_log(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.lengthscales.iter().map(|l| l.ln()).collect();
        v.push(self.signal_var.ln());
        v.push(self.noise_var.ln());
        v
    }

    /// The inverse of [`GpHyper::to_log`]: `theta` is `[ln l_1..ln l_D, ln signal_var,
    /// ln noise_var]`.
    pub fn from_log(theta: &[f64]) -> GpHyper {
        let d = theta.len() - 2;
        GpHyper {
            lengthscales: theta[..d].iter().map(|t| t.exp()).collect(),
            signal_var: theta[d].exp(),
            noise_var: theta[d + 1].exp(),
        }
    }
}

/// Matérn-5/2: s² (1 + √5 r + 5r²/3) exp(−√5 r), r the lengthscale-scaled distance.
pub fn matern52(a: &[f64], b: &[f64], h: &GpHyper) -> f64 {
    let r2: f64 = a
        .iter()
        .zip(b)
        .zip(&h.lengthscales)
        .map(|((x, y), l)| ((x - y) / l).powi(2))
        .sum();
    let r = r2.sqrt();
    h.signal_var * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * (-SQRT5 * r).exp()
}

fn gram(x: &[Vec<f64>], h: &GpHyper) -> DMatrix<f64> {
    let n = x.len();
    let mut k = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let v = matern52(&x[i], &x[j], h);
            k[(i, j)] = v;
            k[(j, i)] = v;
        }
        k[(i, i)] += h.noise_var;
    }
    k
}

/// A GP conditioned on observations.
pub struct GaussianProcess {
    x: Vec<Vec<f64>>,
    hyper: GpHyper,
    chol: Cholesky<f64, Dyn>,
    alpha: DVector<f64>,
}

impl GaussianProcess {
    /// Conditions a zero-mean GP on `y` at `x`; `None` if the Gram matrix is not positive
    /// definite.
    pub fn fit(x: Vec<Vec<f64>>, y: &[f64], hyper: GpHyper) -> Option<GaussianProcess> {
        let chol = Cholesky::new(gram(&x, &hyper))?;
        let alpha = chol.solve(&DVector::from_column_slice(y));
        Some(GaussianProcess {
            x,
            hyper,
            chol,
            alpha,
        })
    }

    /// The kernel hyperparameters it was fitted with.
    pub fn hyper(&self) -> &GpHyper {
        &self.hyper
    }

    /// Posterior mean and variance of the latent function at `p` (R&W Algorithm 2.1).
    pub fn predict(&self, p: &[f64]) -> (f64, f64) {
        let kx = DVector::from_iterator(
            self.x.len(),
            self.x.iter().map(|xi| matern52(xi, p, &self.hyper)),
        );
        let mean = kx.dot(&self.alpha);
        let v = self.chol.l().solve_lower_triangular(&kx).unwrap_or(kx);
        let var = (self.hyper.signal_var - v.norm_squared()).max(0.0);
        (mean, var)
    }
}

/// Log marginal likelihood of `y` and its gradient with respect to
/// `theta = [ln l_1..ln l_D, ln s², ln σn²]` (R&W eqs. 2.30 and 5.9).
pub fn log_marginal_likelihood(
    x: &[Vec<f64>],
    y: &[f64],
    theta: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let h = GpHyper::from_log(theta);
    let n = x.len();
    let d = h.lengthscales.len();
    let k = gram(x, &h);
    let chol = Cholesky::new(k)?;
    let yv = DVector::from_column_slice(y);
    let alpha = chol.solve(&yv);
    let log_det: f64 = chol
        .l_dirty()
        .diagonal()
        .iter()
        .map(|v| v.ln())
        .sum::<f64>()
        * 2.0;
    let lml =
        -0.5 * yv.dot(&alpha) - 0.5 * log_det - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    // W = α αᵀ − K⁻¹; dLML/dθ = ½ tr(W ∂K/∂θ).
    let mut w = chol.inverse();
    w.neg_mut();
    w.ger(1.0, &alpha, &alpha, 1.0);
    let mut grad = vec![0.0; d + 2];
    for i in 0..n {
        for j in 0..i {
            let r2: f64 = (0..d)
                .map(|q| ((x[i][q] - x[j][q]) / h.lengthscales[q]).powi(2))
                .sum();
            let r = r2.sqrt();
            let e = (-SQRT5 * r).exp();
            let kf = h.signal_var * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
            // ∂k/∂ln l_q = s² (5/3)(1 + √5 r) e^{−√5 r} (x_q − x'_q)² / l_q².
            let common = h.signal_var * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e;
            let wij = w[(i, j)]; // symmetric: the pair (i,j),(j,i) counts twice, times ½
            for q in 0..d {
                let dq = (x[i][q] - x[j][q]) / h.lengthscales[q];
                grad[q] += wij * common * dq * dq;
            }
            grad[d] += wij * kf;
        }
        let wii = w[(i, i)];
        grad[d] += 0.5 * wii * h.signal_var;
        grad[d + 1] += 0.5 * wii * h.noise_var;
    }
    Some((lml, grad))
}

/// Expected improvement below `best` of a normal with `mean` and `std` (minimization):
/// (best − μ) Φ(z) + σ φ(z), z = (best − μ)/σ.
pub fn expected_improvement(mean: f64, std: f64, best: f64) -> f64 {
    let diff = best - mean;
    if std <= 1e-300 {
        return diff.max(0.0);
    }
    let z = diff / std;
    let cdf = 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (diff * cdf + std * pdf).max(0.0)
}
