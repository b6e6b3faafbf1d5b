//! Tree-structured Parzen Estimator (Bergstra et al. 2011, "Algorithms for Hyper-Parameter
//! Optimization"), following Optuna's `TPESampler`:
//!
//! - the first `n_startup_trials` (10) trials are random;
//! - finished trials are ranked (complete by value, then pruned by the last step reached,
//!   deeper first, then by their last intermediate value) and the best `gamma(n) =
//!   min(ceil(0.1 n), 25)` form the "below" group, the rest "above" (`default_gamma`);
//! - each group gets a Parzen estimator (`default_weights`, prior weight 1, magic clip);
//! - `n_ei_candidates` (24) draws from l(x) are scored by log l(x) − log g(x) and the best
//!   wins.
//!
//! With `multivariate` (Falkner et al. 2018, BOHB; Optuna's `multivariate=True`), the
//! unconditional parameters are modelled jointly, one kernel per trial over all of them,
//! bandwidth 0.2 · n^(−1/(d+4)) · range; conditional parameters (and everything, without
//! `multivariate`) are modelled one at a time from the trials in which they were active.

use serde::{Deserialize, Serialize};

use super::parzen::{Parzen, ParzenParams};
use super::{RandomSampler, SampleContext, Sampler, Suggestion};
use crate::error::{TuneError, invalid};
use crate::space::{ParamSpec, Space};
use crate::trial::{Trial, TrialState};
use crate::value::Params;

/// TPE settings; the defaults are Optuna's (`multivariate` is on, as BOHB recommends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TpeSettings {
    /// Trials sampled at random before TPE is used. Default 10.
    pub n_startup_trials: usize,
    /// Draws from l(x) scored per suggestion. Default 24; at least 1.
    pub n_ei_candidates: usize,
    /// Weight of the prior kernel in each Parzen estimator. Default 1.0; must be > 0.
    pub prior_weight: f64,
    /// Clamp each numeric bandwidth below at `range / min(100, n + 2)` (Optuna's magic clip).
    /// Default true.
    pub consider_magic_clip: bool,
    /// Let the outermost observations' bandwidths reach the range ends (univariate only).
    /// Default false.
    pub consider_endpoints: bool,
    /// Model the unconditional parameters jointly (BOHB). Default true.
    pub multivariate: bool,
}

impl Default for TpeSettings {
    fn default() -> Self {
        TpeSettings {
            n_startup_trials: 10,
            n_ei_candidates: 24,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
            multivariate: true,
        }
    }
}

/// The TPE sampler.
#[derive(Debug, Clone)]
pub struct TpeSampler {
    settings: TpeSettings,
}

impl TpeSampler {
    /// A sampler with these settings; an error when `n_ei_candidates` is 0 or
    /// `prior_weight` is not a positive finite number.
    pub fn new(settings: TpeSettings) -> Result<Self, TuneError> {
        if settings.n_ei_candidates == 0 {
            return Err(invalid("sampler.n_ei_candidates", "must be >= 1"));
        }
        if !(settings.prior_weight > 0.0 && settings.prior_weight.is_finite()) {
            return Err(invalid("sampler.prior_weight", "must be > 0"));
        }
        Ok(TpeSampler { settings })
    }

    fn parzen_params(&self, multivariate: bool) -> ParzenParams {
        ParzenParams {
            prior_weight: self.settings.prior_weight,
            consider_magic_clip: self.settings.consider_magic_clip,
            consider_endpoints: self.settings.consider_endpoints,
            multivariate,
        }
    }
}

/// Optuna's `default_gamma`.
pub(crate) fn default_gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// Splits finished trials into (below, above), each in trial-number order.
fn split<'t>(ctx: &SampleContext<'t>) -> (Vec<&'t Trial>, Vec<&'t Trial>) {
    let dir = ctx.direction;
    let mut complete: Vec<&Trial> = ctx.complete().collect();
    complete.sort_by(|a, b| {
        let (va, vb) = (a.value.unwrap_or(f64::NAN), b.value.unwrap_or(f64::NAN));
        dir.to_loss(va).total_cmp(&dir.to_loss(vb))
    });
    let mut pruned: Vec<&Trial> = ctx
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    let key = |t: &Trial| {
        let step = t.last_step().map_or(-1.0, |s| s as f64);
        let v = t
            .intermediate
            .values()
            .next_back()
            .copied()
            .unwrap_or(f64::NAN);
        let loss = dir.to_loss(v);
        (-step, if loss.is_nan() { f64::INFINITY } else { loss })
    };
    pruned.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    complete.extend(pruned);
    let n_below = default_gamma(complete.len());
    let mut above = complete.split_off(n_below);
    complete.sort_by_key(|t| t.number);
    above.sort_by_key(|t| t.number);
    (complete, above)
}

/// Internal-scale values of `specs` in each trial holding all of them.
fn observations(specs: &[&ParamSpec], trials: &[&Trial]) -> Vec<Vec<f64>> {
    trials
        .iter()
        .filter_map(|t| {
            specs
                .iter()
                .map(|s| t.params.get(&s.name).and_then(|v| s.to_internal(v)))
                .collect::<Option<Vec<f64>>>()
        })
        .collect()
}

impl Sampler for TpeSampler {
    fn sample(&self, ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError> {
        let n_finished = ctx.complete().count()
            + ctx
                .trials
                .iter()
                .filter(|t| t.state == TrialState::Pruned)
                .count();
        if n_finished < self.settings.n_startup_trials.max(1) {
            return RandomSampler.sample(ctx);
        }
        let mut rng = ctx.rng();
        let (below, above) = split(ctx);
        let space = ctx.space;
        let mut params = Params::new();

        let mut sample_group = |specs: &[&ParamSpec], multivariate: bool, params: &mut Params| {
            let p = self.parzen_params(multivariate);
            let l = Parzen::new(specs, &observations(specs, &below), p);
            let g = Parzen::new(specs, &observations(specs, &above), p);
            let candidates = l.sample(&mut rng, self.settings.n_ei_candidates);
            let best = candidates
                .iter()
                .map(|c| (l.log_pdf(c) - g.log_pdf(c), c))
                .fold(None::<(f64, &Vec<f64>)>, |acc, (s, c)| match acc {
                    Some((bs, _)) if bs >= s => acc,
                    _ => Some((s, c)),
                });
            if let Some((_, c)) = best {
                for (spec, x) in specs.iter().zip(c) {
                    params.insert(spec.name.clone(), spec.from_internal(*x));
                }
            }
        };

        let joint: Vec<&ParamSpec> = space
            .params()
            .iter()
            .filter(|s| s.when.is_empty())
            .collect();
        let multivariate = self.settings.multivariate && joint.len() > 1;
        if multivariate {
            sample_group(&joint, true, &mut params);
        }
        for spec in space.params() {
            if (multivariate && spec.when.is_empty()) || !Space::is_active(spec, &params) {
                continue;
            }
            sample_group(&[spec], false, &mut params);
        }
        Ok(params.into())
    }

    fn name(&self) -> &'static str {
        "tpe"
    }
}
