//! Pruners: stop unpromising trials early from their intermediate values.
//!
//! Each rule is Optuna's, restated:
//! - [`MedianPruner`] (`optuna/pruners/_median.py`, `_percentile.py`): after
//!   `n_startup_trials` complete trials and `n_warmup_steps` steps, at the first report of each
//!   `interval_steps` interval, prune when the trial's best intermediate value so far is worse
//!   than the median of the complete trials' values at the same step.
//! - [`SuccessiveHalvingPruner`] (ASHA, Li et al. 2020, "A System for Massively Parallel
//!   Hyperparameter Tuning"; `_successive_halving.py`): rung `r` is reached at step
//!   `min_resource · η^(min_early_stopping_rate + r)`; there the trial records its value and is
//!   promoted only if it is within the best `⌊n/η⌋` of the `n` values recorded at that rung
//!   (the best one while fewer than η have been recorded), else pruned.
//! - [`HyperbandPruner`] (Li et al. 2018; `_hyperband.py`): `⌊log_η(max/min)⌋ + 1`
//!   successive-halving brackets with `min_early_stopping_rate = bracket`; a trial's bracket is
//!   `crc32("{study}_{number}") mod Σ budgets` walked through the budgets
//!   `⌈n_brackets · η^s / (s + 1)⌉`, `s = n_brackets − 1 − bracket`, and it competes only
//!   with trials of its bracket.

use serde::{Deserialize, Serialize};

use crate::error::{TuneError, invalid};
use crate::trial::{Direction, Trial, TrialState};

/// What a pruner sees when a trial reports.
pub struct PruneContext<'a> {
    /// The study's name (Hyperband hashes it with the trial number to pick a bracket).
    pub study_name: &'a str,
    /// Whether smaller or larger values are better.
    pub direction: Direction,
    /// Every trial of the study, the reporting one included (as stored before this report's
    /// attributes).
    pub trials: &'a [Trial],
    /// The reporting trial, holding the new intermediate value.
    pub trial: &'a Trial,
}

/// A pruner's answer: whether to prune, and attributes to store on the trial.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneDecision {
    /// Whether the trial should stop.
    pub prune: bool,
    /// `(name, value)` attributes to store on the trial (successive halving's
    /// `completed_rung_{r}` values).
    pub attrs: Vec<(String, f64)>,
}

impl PruneDecision {
    fn keep() -> Self {
        PruneDecision::default()
    }
}

/// A pruning rule.
pub trait Pruner: Send {
    /// Decides whether the reporting trial `ctx.trial` should stop.
    fn prune(&self, ctx: &PruneContext<'_>) -> PruneDecision;
    /// The rule's name: `none`, `median`, `asha` or `hyperband`.
    fn name(&self) -> &'static str;
}

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn prune(&self, _: &PruneContext<'_>) -> PruneDecision {
        PruneDecision::keep()
    }
    fn name(&self) -> &'static str {
        "none"
    }
}

/// Optuna's `MedianPruner`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MedianPruner {
    /// Complete trials needed before any pruning. Default 5 (Optuna's).
    pub n_startup_trials: usize,
    /// Steps of a trial before it may be pruned. Default 0.
    pub n_warmup_steps: u64,
    /// Pruning is checked at the first report of each interval of this many steps after the
    /// warmup. Default 1 (every report); 0 counts as 1.
    pub interval_steps: u64,
}

impl Default for MedianPruner {
    fn default() -> Self {
        MedianPruner {
            n_startup_trials: 5,
            n_warmup_steps: 0,
            interval_steps: 1,
        }
    }
}

/// numpy's `percentile` with linear interpolation; `v` non-empty.
fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < v.len() {
        v[i] + frac * (v[i + 1] - v[i])
    } else {
        v[i]
    }
}

impl Pruner for MedianPruner {
    fn prune(&self, ctx: &PruneContext<'_>) -> PruneDecision {
        let complete: Vec<&Trial> = ctx
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .collect();
        let Some(step) = ctx.trial.last_step() else {
            return PruneDecision::keep();
        };
        if complete.is_empty()
            || complete.len() < self.n_startup_trials
            || step < self.n_warmup_steps
        {
            return PruneDecision::keep();
        }
        // Optuna's `_is_first_in_interval_step`: prune only at the first report at or after
        // each `warmup + k · interval` step.
        let interval = self.interval_steps.max(1);
        let lower = (step - self.n_warmup_steps) / interval * interval + self.n_warmup_steps;
        let second_last = ctx.trial.intermediate.keys().rfind(|s| **s != step);
        if second_last.is_some_and(|s| *s >= lower) {
            return PruneDecision::keep();
        }
        let values: Vec<f64> = ctx
            .trial
            .intermediate
            .values()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        if values.is_empty() {
            return PruneDecision {
                prune: true,
                attrs: vec![],
            };
        }
        let best = match ctx.direction {
            Direction::Minimize => values.iter().copied().fold(f64::INFINITY, f64::min),
            Direction::Maximize => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        };
        let others: Vec<f64> = complete
            .iter()
            .filter_map(|t| t.intermediate.get(&step).copied())
            .filter(|v| !v.is_nan())
            .collect();
        if others.is_empty() {
            return PruneDecision::keep();
        }
        let median = percentile(others, 50.0);
        let prune = match ctx.direction {
            Direction::Minimize => best > median,
            Direction::Maximize => best < median,
        };
        PruneDecision {
            prune,
            attrs: vec![],
        }
    }
    fn name(&self) -> &'static str {
        "median"
    }
}

/// Optuna's `SuccessiveHalvingPruner` (asynchronous successive halving).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuccessiveHalvingPruner {
    /// Base step of the rungs: rung `r` is at `min_resource · η^(min_early_stopping_rate + r)`.
    /// Default 1; at least 1.
    pub min_resource: u64,
    /// η: the factor between rungs; the best `1/η` of each rung are promoted. Default 3; at
    /// least 2.
    pub reduction_factor: u64,
    /// `s`, shifting every rung's step by `η^s`. Default 0.
    pub min_early_stopping_rate: u32,
    /// A trial is pruned at a rung while the rung holds at most this many values (its own
    /// included). Default 0.
    pub bootstrap_count: usize,
}

impl Default for SuccessiveHalvingPruner {
    fn default() -> Self {
        SuccessiveHalvingPruner {
            min_resource: 1,
            reduction_factor: 3,
            min_early_stopping_rate: 0,
            bootstrap_count: 0,
        }
    }
}

fn rung_key(rung: u32) -> String {
    format!("completed_rung_{rung}")
}

impl SuccessiveHalvingPruner {
    fn validate(&self, field: &str) -> Result<(), TuneError> {
        if self.min_resource < 1 {
            return Err(invalid(&format!("{field}.min_resource"), "must be >= 1"));
        }
        if self.reduction_factor < 2 {
            return Err(invalid(
                &format!("{field}.reduction_factor"),
                "must be >= 2",
            ));
        }
        Ok(())
    }

    fn prune_among(&self, ctx: &PruneContext<'_>, competitors: &[&Trial]) -> PruneDecision {
        let trial = ctx.trial;
        let Some(step) = trial.last_step() else {
            return PruneDecision::keep();
        };
        let value = trial.intermediate[&step];
        let mut rung = 0;
        while trial.attrs.contains_key(&rung_key(rung)) {
            rung += 1;
        }
        let mut attrs = Vec::new();
        loop {
            let promotion_step = self.min_resource.saturating_mul(
                self.reduction_factor
                    .saturating_pow(self.min_early_stopping_rate + rung),
            );
            if step < promotion_step {
                return PruneDecision {
                    prune: false,
                    attrs,
                };
            }
            if value.is_nan() {
                return PruneDecision { prune: true, attrs };
            }
            let key = rung_key(rung);
            attrs.push((key.clone(), value));
            let mut competing: Vec<f64> = competitors
                .iter()
                .filter(|t| t.number != trial.number)
                .filter_map(|t| t.attrs.get(&key).copied())
                .collect();
            competing.push(value);
            if competing.len() <= self.bootstrap_count {
                return PruneDecision { prune: true, attrs };
            }
            let eta = self.reduction_factor as usize;
            let idx = (competing.len() / eta).saturating_sub(1);
            competing.sort_by(f64::total_cmp);
            let promotable = match ctx.direction {
                Direction::Maximize => value >= competing[competing.len() - 1 - idx],
                Direction::Minimize => value <= competing[idx],
            };
            if !promotable {
                return PruneDecision { prune: true, attrs };
            }
            rung += 1;
        }
    }
}

impl Pruner for SuccessiveHalvingPruner {
    fn prune(&self, ctx: &PruneContext<'_>) -> PruneDecision {
        let all: Vec<&Trial> = ctx.trials.iter().collect();
        self.prune_among(ctx, &all)
    }
    fn name(&self) -> &'static str {
        "asha"
    }
}

/// Optuna's `HyperbandPruner`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HyperbandPruner {
    /// Step of the first rung of the most aggressive bracket. Default 1; at least 1.
    pub min_resource: u64,
    /// The largest step a trial reports; `None` takes the largest last step of the complete
    /// trials plus one, pruning nothing until a trial completes (Optuna's "auto").
    pub max_resource: Option<u64>,
    /// η, as in [`SuccessiveHalvingPruner::reduction_factor`]. Default 3; at least 2.
    pub reduction_factor: u64,
    /// As in [`SuccessiveHalvingPruner::bootstrap_count`]. Default 0.
    pub bootstrap_count: usize,
}

impl Default for HyperbandPruner {
    fn default() -> Self {
        HyperbandPruner {
            min_resource: 1,
            max_resource: None,
            reduction_factor: 3,
            bootstrap_count: 0,
        }
    }
}

impl HyperbandPruner {
    /// Trial-allocation budget of each bracket for this `max_resource`.
    pub fn budgets(&self, max_resource: u64) -> Vec<u64> {
        let ratio = max_resource as f64 / self.min_resource as f64;
        // As Optuna's `math.log(max / min, eta)`, floating-point rounding included.
        let n = (ratio.ln() / (self.reduction_factor as f64).ln())
            .floor()
            .max(0.0) as u64
            + 1;
        (0..n)
            .map(|b| {
                let s = n - 1 - b;
                (n as f64 * (self.reduction_factor as f64).powi(s as i32) / (s + 1) as f64).ceil()
                    as u64
            })
            .collect()
    }

    /// The bracket of trial `number` (Optuna's `_get_bracket_id`).
    pub fn bracket(study_name: &str, number: u64, budgets: &[u64]) -> usize {
        let total: u64 = budgets.iter().sum();
        let mut n = crc32fast::hash(format!("{study_name}_{number}").as_bytes()) as i64
            % total.max(1) as i64;
        for (b, budget) in budgets.iter().enumerate() {
            n -= *budget as i64;
            if n < 0 {
                return b;
            }
        }
        budgets.len() - 1
    }
}

impl Pruner for HyperbandPruner {
    fn prune(&self, ctx: &PruneContext<'_>) -> PruneDecision {
        let max = self.max_resource.or_else(|| {
            ctx.trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .filter_map(Trial::last_step)
                .max()
                .map(|s| s + 1)
        });
        let Some(max) = max else {
            return PruneDecision::keep();
        };
        let budgets = self.budgets(max);
        let bracket = Self::bracket(ctx.study_name, ctx.trial.number, &budgets);
        let same: Vec<&Trial> = ctx
            .trials
            .iter()
            .filter(|t| Self::bracket(ctx.study_name, t.number, &budgets) == bracket)
            .collect();
        let sh = SuccessiveHalvingPruner {
            min_resource: self.min_resource,
            reduction_factor: self.reduction_factor,
            min_early_stopping_rate: bracket as u32,
            bootstrap_count: self.bootstrap_count,
        };
        sh.prune_among(ctx, &same)
    }
    fn name(&self) -> &'static str {
        "hyperband"
    }
}

/// A pruner chosen by name with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PrunerKind {
    /// `kind = "none"`: [`NopPruner`].
    None,
    /// `kind = "median"`: [`MedianPruner`].
    Median(#[serde(default)] MedianPruner),
    /// `kind = "asha"`: [`SuccessiveHalvingPruner`].
    Asha(#[serde(default)] SuccessiveHalvingPruner),
    /// `kind = "hyperband"`: [`HyperbandPruner`].
    Hyperband(#[serde(default)] HyperbandPruner),
}

impl PrunerKind {
    /// `none`, `median`, `asha` or `hyperband` with default settings.
    pub fn parse(name: &str) -> Result<PrunerKind, TuneError> {
        Ok(match name {
            "none" => PrunerKind::None,
            "median" => PrunerKind::Median(MedianPruner::default()),
            "asha" | "successive_halving" => PrunerKind::Asha(SuccessiveHalvingPruner::default()),
            "hyperband" => PrunerKind::Hyperband(HyperbandPruner::default()),
            other => {
                return Err(invalid(
                    "pruner",
                    format!("unknown pruner {other:?}; expected none, median, asha or hyperband"),
                ));
            }
        })
    }

    /// The name [`parse`](Self::parse) takes.
    pub fn name(&self) -> &'static str {
        match self {
            PrunerKind::None => "none",
            PrunerKind::Median(_) => "median",
            PrunerKind::Asha(_) => "asha",
            PrunerKind::Hyperband(_) => "hyperband",
        }
    }

    /// The pruner, its settings validated (`min_resource >= 1`, `reduction_factor >= 2`,
    /// `max_resource >= min_resource`).
    pub fn build(&self) -> Result<Box<dyn Pruner>, TuneError> {
        Ok(match self {
            PrunerKind::None => Box::new(NopPruner),
            PrunerKind::Median(m) => Box::new(m.clone()),
            PrunerKind::Asha(s) => {
                s.validate("pruner")?;
                Box::new(s.clone())
            }
            PrunerKind::Hyperband(h) => {
                if h.min_resource < 1 {
                    return Err(invalid("pruner.min_resource", "must be >= 1"));
                }
                if h.reduction_factor < 2 {
                    return Err(invalid("pruner.reduction_factor", "must be >= 2"));
                }
                if h.max_resource.is_some_and(|m| m < h.min_resource) {
                    return Err(invalid("pruner.max_resource", "must be >= min_resource"));
                }
                Box::new(h.clone())
            }
        })
    }
}

#[cfg(test)]
mod tests;
