//! Gaussian-process regression as Optuna's `GPSampler` builds it (`optuna/_gp/gp.py`):
//! a Matérn-5/2 kernel with one inverse squared lengthscale per input (ARD),
//!
//! k(x, x') = s · (1 + √5 r + 5r²/3) · exp(−√5 r),  r² = Σ_q λ_q d_q(x, x')²,
//!
//! where λ_q = 1/ℓ_q² and d_q is the difference of the unit-scaled coordinates, or for a
//! categorical input the Hamming distance (0 when equal, else 1). Observations carry noise
//! variance σ² ≥ [`MIN_NOISE_VAR`] = 1e-8 in standardized units, so the Gram matrix stays
//! positive definite. Optuna's floor (`DEFAULT_MINIMUM_NOISE_VAR`) is 1e-6, a noise standard
//! deviation of 1e-3 of the losses' spread, which blurs the model exactly where the search
//! refines the optimum of a deterministic objective (Branin's spread is ~50, so 0.05 units):
//! 1e-8 took the median Branin regret after 50 trials from 8.8e-5 to 5.6e-6 and Hartmann-6's
//! from 0.0045 to 0.0032 (seeds 0–59, `examples/regret.rs --sampler gp --seeds 60`), and
//! the fitted noise of a noisy objective sits far above either floor. The posterior is
//! Rasmussen &
//! Williams (2006) Algorithm 2.1; the log marginal likelihood and its gradient are their
//! eqs. 2.30 and 5.9, with respect to the raw parameters Optuna optimizes:
//! `[ln λ_1..ln λ_D, ln s, ln(σ² − 1e-6)]`.

/// The smallest observation-noise variance (standardized units); Optuna's
/// `DEFAULT_MINIMUM_NOISE_VAR` (`optuna/_gp/prior.py`) is 1e-6 (see the module docs).
pub const MIN_NOISE_VAR: f64 = 1e-8;

/// Kernel hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GpHyper {
    /// λ_q = 1/ℓ_q², one per input (ARD).
    pub inv_sq_lengthscales: Vec<f64>,
    /// The kernel scale s (prior variance of the latent function).
    pub kernel_scale: f64,
    /// Observation noise variance σ², added to the Gram matrix's diagonal.
    pub noise_var: f64,
}

impl GpHyper {
    /// Optuna's starting point: every λ, s and σ² equal to 1 (`fit_kernel_params`).
    pub fn initial(dim: usize) -> GpHyper {
        GpHyper {
            inv_sq_lengthscales: vec![1.0; dim],
            kernel_scale: 1.0,
            noise_var: 1.0,
        }
    }

    /// `[ln λ_1..ln λ_D, ln s, ln(σ² − MIN_NOISE_VAR)]`.
    pub fn to_raw(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.inv_sq_lengthscales.iter().map(|l| l.ln()).collect();
        v.push(self.kernel_scale.ln());
        v.push((self.noise_var - MIN_NOISE_VAR).max(1e-300).ln());
        v
    }

    /// The inverse of [`GpHyper::to_raw`].
    pub fn from_raw(raw: &[f64]) -> GpHyper {
        let d = raw.len() - 2;
        GpHyper {
            inv_sq_lengthscales: raw[..d].iter().map(|t| t.exp()).collect(),
            kernel_scale: raw[d].exp(),
            noise_var: MIN_NOISE_VAR + raw[d + 1].exp(),
        }
    }

    /// The lengthscales ℓ_q = λ_q^(−1/2).
    pub fn lengthscales(&self) -> Vec<f64> {
        self.inv_sq_lengthscales
            .iter()
            .map(|l| 1.0 / l.sqrt())
            .collect()
    }
}

/// The Matérn-5/2 correlation at squared scaled distance `r2` and its derivative with
/// respect to `r2`: −(5/6)(1 + √5 r) e^{−√5 r} (Optuna's `Matern52Kernel`).
fn matern52(r2: f64) -> (f64, f64) {
    let s5r = (5.0 * r2).sqrt();
    let e = (-s5r).exp();
    (
        e * (5.0 / 3.0 * r2 + s5r + 1.0),
        -5.0 / 6.0 * (1.0 + s5r) * e,
    )
}

/// Σ_q λ_q d_q(a, b)², with the Hamming distance on categorical inputs.
fn sq_dist(a: &[f64], b: &[f64], isl: &[f64], categorical: &[bool]) -> f64 {
    let mut r2 = 0.0;
    for q in 0..a.len() {
        let d2 = if categorical[q] {
            if a[q] == b[q] { 0.0 } else { 1.0 }
        } else {
            (a[q] - b[q]) * (a[q] - b[q])
        };
        r2 += isl[q] * d2;
    }
    r2
}

/// A lower-triangular Cholesky factor, row-major n × n; `None` unless positive definite.
fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
        for k in j + 1..n {
            a[j * n + k] = 0.0;
        }
    }
    Some(a)
}

/// Solves L z = b in place (L lower-triangular, row-major).
fn solve_lower(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&b[..i]).map(|(a, c)| a * c).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
}

/// Solves Lᵀ z = b in place.
fn solve_upper_t(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// Training inputs: `n` rows of `d` unit-scaled coordinates (categoricals as choice index).
struct Inputs<'a> {
    x: &'a [Vec<f64>],
    categorical: &'a [bool],
}

impl Inputs<'_> {
    /// The noisy Gram matrix C = K + σ² I, row-major.
    fn gram(&self, h: &GpHyper) -> Vec<f64> {
        let n = self.x.len();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                let r2 = sq_dist(
                    &self.x[i],
                    &self.x[j],
                    &h.inv_sq_lengthscales,
                    self.categorical,
                );
                let v = h.kernel_scale * matern52(r2).0;
                k[i * n + j] = v;
                k[j * n + i] = v;
            }
            k[i * n + i] = h.kernel_scale + h.noise_var;
        }
        k
    }
}

/// A GP conditioned on observations.
#[derive(Debug, Clone)]
pub struct GaussianProcess {
    x: Vec<Vec<f64>>,
    categorical: Vec<bool>,
    hyper: GpHyper,
    /// Cholesky factor of C = K + σ² I, row-major.
    chol: Vec<f64>,
    /// C⁻¹ y.
    alpha: Vec<f64>,
}

impl GaussianProcess {
    /// Conditions a zero-mean GP on `y` at `x`; `categorical[q]` says whether input `q` is
    /// compared by Hamming distance. `None` if the Gram matrix is not positive definite.
    pub fn fit(
        x: Vec<Vec<f64>>,
        categorical: Vec<bool>,
        y: &[f64],
        hyper: GpHyper,
    ) -> Option<GaussianProcess> {
        let n = x.len();
        let inputs = Inputs {
            x: &x,
            categorical: &categorical,
        };
        let chol = cholesky(inputs.gram(&hyper), n)?;
        let mut alpha = y.to_vec();
        solve_lower(&chol, n, &mut alpha);
        solve_upper_t(&chol, n, &mut alpha);
        Some(GaussianProcess {
            x,
            categorical,
            hyper,
            chol,
            alpha,
        })
    }

    /// The kernel hyperparameters it was fitted with.
    pub fn hyper(&self) -> &GpHyper {
        &self.hyper
    }

    /// Posterior mean and variance of the latent function at `p` (R&W Algorithm 2.1), the
    /// variance clamped at 0 as Optuna's `posterior` does.
    pub fn predict(&self, p: &[f64]) -> (f64, f64) {
        let n = self.x.len();
        let h = &self.hyper;
        let mut k: Vec<f64> = self
            .x
            .iter()
            .map(|xi| {
                h.kernel_scale
                    * matern52(sq_dist(xi, p, &h.inv_sq_lengthscales, &self.categorical)).0
            })
            .collect();
        let mean: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        solve_lower(&self.chol, n, &mut k);
        let var = h.kernel_scale - k.iter().map(|v| v * v).sum::<f64>();
        (mean, var.max(0.0))
    }

    /// Mean, variance and their gradients with respect to `p`'s continuous coordinates
    /// (zero on categorical ones): ∂μ/∂p = Σ_i α_i ∂k_i/∂p, ∂v/∂p = −2 Σ_i (C⁻¹k)_i ∂k_i/∂p.
    pub fn predict_with_grad(&self, p: &[f64]) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let n = self.x.len();
        let d = p.len();
        let h = &self.hyper;
        let mut k = vec![0.0; n];
        let mut dk_dr2 = vec![0.0; n];
        for (i, xi) in self.x.iter().enumerate() {
            let (v, dv) = matern52(sq_dist(xi, p, &h.inv_sq_lengthscales, &self.categorical));
            k[i] = h.kernel_scale * v;
            dk_dr2[i] = h.kernel_scale * dv;
        }
        let mean: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let mut w = k.clone();
        solve_lower(&self.chol, n, &mut w);
        let var = h.kernel_scale - w.iter().map(|v| v * v).sum::<f64>();
        solve_upper_t(&self.chol, n, &mut w);
        let mut dmean = vec![0.0; d];
        let mut dvar = vec![0.0; d];
        for (i, xi) in self.x.iter().enumerate() {
            let (a, b) = (self.alpha[i] * dk_dr2[i], -2.0 * w[i] * dk_dr2[i]);
            for q in 0..d {
                if !self.categorical[q] {
                    // ∂r²/∂p_q = 2 λ_q (p_q − x_iq).
                    let dr2 = 2.0 * h.inv_sq_lengthscales[q] * (p[q] - xi[q]);
                    dmean[q] += a * dr2;
                    dvar[q] += b * dr2;
                }
            }
        }
        if var <= 0.0 {
            dvar.iter_mut().for_each(|v| *v = 0.0);
        }
        (mean, var.max(0.0), dmean, dvar)
    }
}

/// Log marginal likelihood of `y` (without the constant −n/2 ln 2π, as Optuna) and its
/// gradient with respect to `raw = [ln λ_1..ln λ_D, ln s, ln(σ² − MIN_NOISE_VAR)]`:
/// ½ tr((ααᵀ − C⁻¹) ∂C/∂θ) (R&W eq. 5.9).
pub fn log_marginal_likelihood(
    x: &[Vec<f64>],
    categorical: &[bool],
    y: &[f64],
    raw: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let h = GpHyper::from_raw(raw);
    let n = x.len();
    let d = h.inv_sq_lengthscales.len();
    let inputs = Inputs { x, categorical };
    let l = cholesky(inputs.gram(&h), n)?;
    let mut alpha = y.to_vec();
    solve_lower(&l, n, &mut alpha);
    let quad: f64 = alpha.iter().map(|v| v * v).sum();
    solve_upper_t(&l, n, &mut alpha);
    let log_det_half: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
    let lml = -0.5 * quad - log_det_half;
    // C⁻¹ column by column.
    let mut cinv = vec![0.0; n * n];
    let mut e = vec![0.0; n];
    for j in 0..n {
        e.iter_mut().for_each(|v| *v = 0.0);
        e[j] = 1.0;
        solve_lower(&l, n, &mut e);
        solve_upper_t(&l, n, &mut e);
        for i in 0..n {
            cinv[i * n + j] = e[i];
        }
    }
    let mut grad = vec![0.0; d + 2];
    for i in 0..n {
        for j in 0..i {
            // The pair (i, j), (j, i) counts twice, times ½.
            let wij = alpha[i] * alpha[j] - cinv[i * n + j];
            let r2 = sq_dist(&x[i], &x[j], &h.inv_sq_lengthscales, categorical);
            let (kv, dkv) = matern52(r2);
            let c = wij * h.kernel_scale * dkv;
            for q in 0..d {
                let dq = if categorical[q] {
                    if x[i][q] == x[j][q] { 0.0 } else { 1.0 }
                } else {
                    (x[i][q] - x[j][q]).powi(2)
                };
                // ∂C_ij/∂ln λ_q = s m'(r²) λ_q d_q².
                grad[q] += c * h.inv_sq_lengthscales[q] * dq;
            }
            grad[d] += wij * h.kernel_scale * kv;
        }
        let wii = alpha[i] * alpha[i] - cinv[i * n + i];
        grad[d] += 0.5 * wii * h.kernel_scale;
        grad[d + 1] += 0.5 * wii * (h.noise_var - MIN_NOISE_VAR);
    }
    Some((lml, grad))
}
