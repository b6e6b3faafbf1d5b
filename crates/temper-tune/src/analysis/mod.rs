//! What the `temper tune` command prints and plots: the trials as CSV, the best-so-far
//! history, and parameter importance.
//!
//! Importance is fANOVA's first-order (main-effect) share of variance (Hutter, Hoos &
//! Leyton-Brown 2014), computed as Optuna's default `FanovaImportanceEvaluator` does
//! (`optuna/importance/_fanova/`): a random forest of 64 CART trees (`forest.rs`) is fitted to
//! the complete trials' values, each tree's piecewise-constant prediction is decomposed
//! exactly (`fanova.rs`), parameter `i` gets the mean over the trees of `V_i / V` (its main
//! effect's variance over the tree's total variance), and the shares are normalized to sum to
//! 1, as `optuna.importance.get_param_importances(normalize=True)` does. The interactions'
//! share is left out before normalizing, as in Optuna.
//!
//! A parameter is measured on the scale its samplers draw on: numeric parameters on their
//! unit scale (log parameters in log, integers at the centres of their cells), so the
//! variance is taken under the uniform measure on that scale, as the original fANOVA does
//! on ConfigSpace's unit-cube vectors; Optuna's evaluator instead measures log parameters on
//! the linear scale (`transform_log=False`), where most of their range's volume is its top
//! decade. Categoricals are category indices whose tree splits group categories into two
//! sets (see `forest.rs`), not Optuna's one-hot columns.
//!
//! Conditional parameters: Optuna keeps only the parameters every complete trial has (the
//! intersection search space) and leaves the others out. Here an inactive parameter does not
//! affect the value, so the objective extends to the whole product space as a function
//! constant along it: the trials where a parameter is inactive get a seeded uniform draw from
//! its domain, from which the forest learns that it has no effect there. A conditional
//! parameter's main effect is then its effect averaged over its parents' choices (zero where
//! it is inactive), and its parent keeps its own. A parameter that fewer than 2 complete
//! trials hold gets 0, as do all when fewer than 2 trials completed with a finite value or the
//! value is constant.
//!
//! The forest is only as good as its data: on the same points this gives Optuna 5.1's
//! importances to within the spread of their forest seeds (about 0.015), but with many
//! parameters and few trials the trees seldom split on weak ones, whose shares come out low
//! and the strong ones' high (see `tests/importance.rs`). 1,000 trials of 10 parameters take
//! 0.25 s in release on one core (Optuna: 47 s), from the test
//! `ten_parameter_importances_match_optunas_fanova_on_the_same_points`.

mod fanova;
mod forest;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::space::{Distribution, Space};
use crate::trial::{Direction, Trial};
use forest::{FeatureKind, Forest, ForestSettings};

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `number,state,value,duration_s,<param keys...>`, one row per trial; empty cells where a
/// value is missing (an inactive parameter, an unfinished trial).
pub fn trials_csv(trials: &[Trial]) -> String {
    let mut keys: Vec<&String> = trials.iter().flat_map(|t| t.params.0.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("number,state,value,duration_s");
    for k in &keys {
        out.push(',');
        out.push_str(&csv_field(k));
    }
    out.push('\n');
    for t in trials {
        out.push_str(&format!(
            "{},{},{},{}",
            t.number,
            t.state.as_str(),
            t.value.map(|v| v.to_string()).unwrap_or_default(),
            t.duration().map(|d| format!("{d:.3}")).unwrap_or_default()
        ));
        for k in &keys {
            out.push(',');
            if let Some(v) = t.params.get(k) {
                out.push_str(&csv_field(&v.to_string()));
            }
        }
        out.push('\n');
    }
    out
}

/// `(trial number, best complete value so far)` at each complete trial, in number order.
pub fn best_so_far(trials: &[Trial], direction: Direction) -> Vec<(u64, f64)> {
    let mut sorted: Vec<&Trial> = trials.iter().collect();
    sorted.sort_by_key(|t| t.number);
    let mut best: Option<f64> = None;
    let mut out = Vec::new();
    for t in sorted {
        if let Some(v) = t.complete_value().filter(|v| !v.is_nan()) {
            if best.is_none_or(|b| direction.better(v, b)) {
                best = Some(v);
            }
            out.push((t.number, best.unwrap_or(v)));
        }
    }
    out
}

/// The seed of the forest and of the inactive parameters' draws: importance depends only on
/// the trials.
const SEED: u64 = 0;

/// fANOVA importance of each parameter (see the module doc), in space order, normalized to
/// sum to 1 (all zeros when nothing varies or fewer than 2 trials are complete).
pub fn param_importance(space: &Space, trials: &[Trial]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = space
        .params()
        .iter()
        .map(|p| (p.name.clone(), 0.0))
        .collect();
    let complete: Vec<(&Trial, f64)> = trials
        .iter()
        .filter_map(|t| Some((t, t.complete_value().filter(|v| v.is_finite())?)))
        .collect();
    if complete.len() < 2 {
        return out;
    }
    let y: Vec<f64> = complete.iter().map(|c| c.1).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let (mut columns, mut kinds, mut slots) = (Vec::new(), Vec::new(), Vec::new());
    for (slot, spec) in space.params().iter().enumerate() {
        let kind = match &spec.distribution {
            Distribution::Categorical { choices } => FeatureKind::Categorical(choices.len()),
            _ => FeatureKind::Numeric,
        };
        let observed: Vec<Option<f64>> = complete
            .iter()
            .map(|(t, _)| {
                let v = t.params.get(&spec.name)?;
                match kind {
                    FeatureKind::Categorical(_) => spec.to_internal(v),
                    FeatureKind::Numeric => spec.to_unit(v),
                }
            })
            .collect();
        if observed.iter().flatten().count() < 2 {
            continue;
        }
        let column = observed
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| match kind {
                    FeatureKind::Categorical(n) => rng.random_range(0..n) as f64,
                    FeatureKind::Numeric => rng.random::<f64>(),
                })
            })
            .collect();
        columns.push(column);
        kinds.push(kind);
        slots.push(slot);
    }
    if columns.is_empty() {
        return out;
    }
    let settings = ForestSettings {
        seed: SEED,
        ..ForestSettings::default()
    };
    let forest = Forest::fit(&columns, &kinds, &y, &settings);
    let raw = fanova::first_order(&forest, &kinds);
    let total: f64 = raw.iter().sum();
    if total > 0.0 {
        for (slot, r) in slots.into_iter().zip(raw) {
            out[slot].1 = r / total;
        }
    }
    out
}

#[cfg(test)]
mod tests;
