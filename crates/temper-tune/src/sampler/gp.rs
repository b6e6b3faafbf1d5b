//! GP-EI Bayesian optimization (Snoek, Larochelle & Adams 2012, "Practical Bayesian
//! Optimization of Machine Learning Algorithms").
//!
//! - Inputs: every parameter on its unit scale (log parameters in log), categoricals one-hot;
//!   an inactive conditional parameter encodes as 0.5 (all zeros when categorical).
//! - Outputs: the losses (values negated when maximizing), standardized.
//! - Kernel: Matérn-5/2 with one lengthscale per input (ARD), signal and noise variance fitted
//!   by maximizing the log marginal likelihood plus weak log-normal priors (MAP), with the
//!   box-constrained L-BFGS in [`super::lbfgs`], started from the previous trial's fitted
//!   values (stored in its `attrs`, so a resumed study refits the same way) and from a
//!   default start. Noise variance is kept ≥ 1e-6 (standardized units).
//! - Acquisition: expected improvement over the best observed loss, maximized by scoring
//!   `n_candidates` random points and refining the best `n_local` with a shrinking-radius
//!   local search (60 steps each); integers and categoricals are snapped before scoring.
//! - The first `n_startup_trials` (Optuna's GPSampler default 10) are random.
//! - At most `max_history` trials (default 100) enter the model: the best half and the most
//!   recent of the rest, which bounds a suggestion's cost at about O(max_history³).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::gp_model::{GaussianProcess, GpHyper, expected_improvement, log_marginal_likelihood};
use super::lbfgs::minimize_box;
use super::{RandomSampler, SampleContext, Sampler, Suggestion};
use crate::error::{TuneError, invalid};
use crate::space::{Distribution, Space};
use crate::trial::Trial;
use crate::value::Params;

/// GP sampler settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpSettings {
    /// Trials sampled at random before the GP is fitted. Default 10 (Optuna's `GPSampler`).
    pub n_startup_trials: usize,
    /// Random points scored by expected improvement per suggestion. Default 1024; at least 1.
    pub n_candidates: usize,
    /// Best candidates refined by local search. Default 8.
    pub n_local: usize,
    /// Most trials entering the model (the best half and the most recent of the rest).
    /// Default 100; at least 2.
    pub max_history: usize,
}

impl Default for GpSettings {
    fn default() -> Self {
        GpSettings {
            n_startup_trials: 10,
            n_candidates: 1024,
            n_local: 8,
            max_history: 100,
        }
    }
}

/// The GP-EI sampler.
#[derive(Debug, Clone)]
pub struct GpSampler {
    settings: GpSettings,
}

/// Steps of the local search around each of the best candidates.
const LOCAL_STEPS: usize = 60;
const ATTR_PREFIX: &str = "gp.theta.";
// Bounds and prior of the log hyperparameters (unit-cube inputs, standardized outputs).
const LOG_LS: (f64, f64) = (-4.6, 3.0); // lengthscale in [0.01, 20]
const LOG_SIGNAL: (f64, f64) = (-4.6, 4.6); // signal variance in [0.01, 100]
const LOG_NOISE: (f64, f64) = (-13.8, 0.0); // noise variance in [1e-6, 1]
const PRIOR_LS: (f64, f64) = (-0.7, 1.0); // ln l ~ N(ln 0.5, 1)
const PRIOR_SIGNAL: (f64, f64) = (0.0, 1.0); // ln s² ~ N(0, 1)
const PRIOR_NOISE: (f64, f64) = (-9.2, 3.0); // ln σn² ~ N(ln 1e-4, 3²)

impl GpSampler {
    /// A sampler with these settings; an error when `n_candidates` is 0 or `max_history`
    /// below 2.
    pub fn new(settings: GpSettings) -> Result<Self, TuneError> {
        if settings.n_candidates == 0 {
            return Err(invalid("sampler.n_candidates", "must be >= 1"));
        }
        if settings.max_history < 2 {
            return Err(invalid("sampler.max_history", "must be >= 2"));
        }
        Ok(GpSampler { settings })
    }
}

/// Unit-cube features of a parameter set.
pub(crate) fn encode(space: &Space, params: &Params) -> Vec<f64> {
    let mut out = Vec::new();
    for spec in space.params() {
        let v = params.get(&spec.name);
        match &spec.distribution {
            Distribution::Categorical { choices } => {
                out.extend(choices.iter().map(|c| if Some(c) == v { 1.0 } else { 0.0 }));
            }
            _ => out.push(v.and_then(|v| spec.to_unit(v)).unwrap_or(0.5)),
        }
    }
    out
}

fn neg_log_posterior(x: &[Vec<f64>], y: &[f64], theta: &[f64]) -> Option<(f64, Vec<f64>)> {
    let (lml, mut grad) = log_marginal_likelihood(x, y, theta)?;
    let d = theta.len() - 2;
    let mut lp = lml;
    for (i, t) in theta.iter().enumerate() {
        let (m, s) = if i < d {
            PRIOR_LS
        } else if i == d {
            PRIOR_SIGNAL
        } else {
            PRIOR_NOISE
        };
        lp -= 0.5 * ((t - m) / s).powi(2);
        grad[i] -= (t - m) / (s * s);
    }
    Some((-lp, grad.iter().map(|g| -g).collect()))
}

/// Fits hyperparameters by MAP from each start; returns the best log-parameters.
pub(crate) fn fit_hyper(x: &[Vec<f64>], y: &[f64], starts: &[Vec<f64>]) -> Option<Vec<f64>> {
    let d = x.first()?.len();
    let mut lo = vec![LOG_LS.0; d];
    let mut hi = vec![LOG_LS.1; d];
    lo.extend([LOG_SIGNAL.0, LOG_NOISE.0]);
    hi.extend([LOG_SIGNAL.1, LOG_NOISE.1]);
    let mut best: Option<(Vec<f64>, f64)> = None;
    for s in starts {
        let mut f = |t: &[f64]| neg_log_posterior(x, y, t);
        let (theta, v) = minimize_box(&mut f, s, &lo, &hi, 60);
        if v.is_finite() && best.as_ref().is_none_or(|b| v < b.1) {
            best = Some((theta, v));
        }
    }
    best.map(|b| b.0)
}

/// The trials that enter the model: all when few, else the best half by loss and the most
/// recent of the rest.
fn history<'t>(ctx: &SampleContext<'t>, max: usize) -> Vec<(&'t Trial, f64)> {
    let mut all: Vec<(&Trial, f64)> = ctx
        .complete()
        .map(|t| (t, ctx.direction.to_loss(t.value.unwrap_or(f64::NAN))))
        .collect();
    if all.len() <= max {
        return all;
    }
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut rest = all.split_off(max / 2);
    rest.sort_by_key(|(t, _)| std::cmp::Reverse(t.number));
    rest.truncate(max - all.len());
    all.extend(rest);
    all.sort_by_key(|(t, _)| t.number);
    all
}

impl Sampler for GpSampler {
    fn sample(&self, ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError> {
        let hist = history(ctx, self.settings.max_history);
        if hist.len() < self.settings.n_startup_trials.max(2) {
            return RandomSampler.sample(ctx);
        }
        let space = ctx.space;
        let x: Vec<Vec<f64>> = hist.iter().map(|(t, _)| encode(space, &t.params)).collect();
        let losses: Vec<f64> = hist.iter().map(|(_, l)| *l).collect();
        let mean = losses.iter().sum::<f64>() / losses.len() as f64;
        let var = losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / losses.len() as f64;
        let std = if var > 1e-300 { var.sqrt() } else { 1.0 };
        let y: Vec<f64> = losses.iter().map(|l| (l - mean) / std).collect();
        let dim = x[0].len();

        // Warm start from the previous fit; every 10th trial (and whenever there is no
        // previous fit) also from the prior's centre, to escape a poor local optimum.
        let default_start = {
            let mut s = vec![PRIOR_LS.0; dim];
            s.extend([PRIOR_SIGNAL.0, PRIOR_NOISE.0]);
            s
        };
        let mut starts = Vec::new();
        if let Some(prev) = previous_theta(ctx.trials, ctx.number, dim) {
            starts.push(prev);
        }
        if starts.is_empty() || ctx.number.is_multiple_of(10) {
            starts.push(default_start);
        }
        let theta = fit_hyper(&x, &y, &starts).unwrap_or_else(|| starts[0].clone());
        let gp = GaussianProcess::fit(x, &y, GpHyper::from_log(&theta))
            .or_else(|| {
                let mut t = theta.clone();
                t[dim + 1] = -4.6; // fall back on a large noise floor
                GaussianProcess::fit(encode_all(space, &hist), &y, GpHyper::from_log(&t))
            })
            .ok_or_else(|| invalid("sampler", "gp: the kernel matrix is not positive definite"))?;
        let best = y.iter().copied().fold(f64::INFINITY, f64::min);

        let mut rng = ctx.rng();
        let params = maximize_ei(space, &gp, best, &self.settings, &mut rng);
        let attrs = theta
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("{ATTR_PREFIX}{i}"), *t))
            .collect();
        Ok(Suggestion { params, attrs })
    }

    fn name(&self) -> &'static str {
        "gp"
    }
}

fn encode_all(space: &Space, hist: &[(&Trial, f64)]) -> Vec<Vec<f64>> {
    hist.iter().map(|(t, _)| encode(space, &t.params)).collect()
}

/// The log hyperparameters stored by the latest earlier trial, if it has `dim + 2` of them.
fn previous_theta(trials: &[Trial], number: u64, dim: usize) -> Option<Vec<f64>> {
    trials
        .iter()
        .filter(|t| t.number < number)
        .rev()
        .find_map(|t| {
            let theta: Vec<f64> = (0..dim + 2)
                .map_while(|i| t.attrs.get(&format!("{ATTR_PREFIX}{i}")).copied())
                .collect();
            (theta.len() == dim + 2 && !t.attrs.contains_key(&format!("{ATTR_PREFIX}{}", dim + 2)))
                .then_some(theta)
        })
}

fn ei_at(space: &Space, gp: &GaussianProcess, best: f64, params: &Params) -> f64 {
    let (m, v) = gp.predict(&encode(space, params));
    expected_improvement(m, v.sqrt(), best)
}

fn maximize_ei(
    space: &Space,
    gp: &GaussianProcess,
    best: f64,
    s: &GpSettings,
    rng: &mut ChaCha8Rng,
) -> Params {
    let mut scored: Vec<(f64, Params)> = (0..s.n_candidates)
        .map(|_| {
            let p = space.build(|_, spec, _| spec.from_unit(rng.random::<f64>()));
            (ei_at(space, gp, best, &p), p)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(s.n_local.max(1));
    let mut winner = scored[0].clone();
    for (mut ei, mut p) in scored {
        // Shrinking-radius local search over the active numeric parameters.
        let mut radius = 0.1;
        for _ in 0..LOCAL_STEPS {
            let mut q = Params::new();
            for spec in space.params() {
                if !Space::is_active(spec, &q) {
                    continue;
                }
                let cur = p.get(&spec.name).cloned();
                let v = match (&spec.distribution, cur) {
                    (Distribution::Categorical { .. }, Some(c)) => c,
                    (_, Some(c)) => {
                        let u = spec.to_unit(&c).unwrap_or(0.5);
                        let step: f64 = rng.random_range(-1.0..1.0);
                        spec.from_unit(u + radius * step)
                    }
                    (_, None) => spec.from_unit(rng.random::<f64>()),
                };
                q.insert(spec.name.clone(), v);
            }
            let e = ei_at(space, gp, best, &q);
            if e > ei {
                ei = e;
                p = q;
            } else {
                radius = (radius * 0.85).max(1e-4);
            }
        }
        if ei > winner.0 {
            winner = (ei, p);
        }
    }
    winner.1
}
