//! Search spaces: float (uniform, log), int (uniform, log, step), categorical, and conditional
//! parameters, read from the `[tune.space]` table of an experiment file.
//!
//! ```toml
//! [tune.space]
//! "optim.lr" = { log_uniform = [1e-4, 1e-1] }
//! "model.dropout.p" = { uniform = [0.0, 0.5] }
//! "train.batch_size" = { int = [32, 256], step = 32 }       # also `log = true`
//! "optim.kind" = { choice = ["adam", "sgd"] }
//! "optim.momentum" = { uniform = [0.0, 0.99], when = { "optim.kind" = ["sgd"] } }
//! ```
//!
//! Every entry may also carry `grid = [..]`, the values the grid sampler tries for it.
//!
//! Samplers see a parameter through its *internal* scale (log for log parameters, the index
//! for categoricals) and the *unit* scale, the internal scale mapped onto [0, 1]; an integer
//! owns the cell of width `step` around it, as in Optuna's `IntDistribution` handling.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{TuneError, invalid};
use crate::value::{ParamValue, Params};

/// The range a parameter is drawn from.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// `low <= x <= high`, uniform on the log scale when `log`.
    Float {
        /// Lower bound, inclusive.
        low: f64,
        /// Upper bound, inclusive.
        high: f64,
        /// Uniform on the log scale (needs `low > 0`).
        log: bool,
    },
    /// `low, low + step, ..., high`; `log` (step 1 only) draws uniformly on the log scale.
    Int {
        /// Lower bound, inclusive.
        low: i64,
        /// Upper bound, inclusive.
        high: i64,
        /// Spacing of the values from `low`.
        step: i64,
        /// Uniform on the log scale (needs `step = 1` and `low >= 1`).
        log: bool,
    },
    /// One of `choices` (strings, numbers or booleans).
    Categorical {
        /// The values, non-empty and distinct; a sampler sees their index.
        choices: Vec<ParamValue>,
    },
}

/// One parameter: its dotted key, range, condition and optional grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// The dotted experiment key it patches (`"optim.lr"`).
    pub name: String,
    /// The range it is drawn from.
    pub distribution: Distribution,
    /// Active only when each named categorical parent holds one of the listed values.
    pub when: BTreeMap<String, Vec<ParamValue>>,
    /// Values the grid sampler tries (default: every choice / integer, or n points for floats).
    pub grid: Option<Vec<ParamValue>>,
}

impl ParamSpec {
    /// An unconditional parameter without an explicit grid.
    pub fn new(name: impl Into<String>, distribution: Distribution) -> Self {
        ParamSpec {
            name: name.into(),
            distribution,
            when: BTreeMap::new(),
            grid: None,
        }
    }

    /// Makes the parameter conditional on `parent` holding one of `values`.
    pub fn when(mut self, parent: impl Into<String>, values: Vec<ParamValue>) -> Self {
        self.when.insert(parent.into(), values);
        self
    }

    /// Whether the distribution is [`Distribution::Categorical`].
    pub fn is_categorical(&self) -> bool {
        matches!(self.distribution, Distribution::Categorical { .. })
    }

    /// Bounds on the internal scale: log for log parameters, integers widened by half a step,
    /// categoricals `[0, n_choices]`.
    pub fn internal_bounds(&self) -> (f64, f64) {
        match &self.distribution {
            Distribution::Float { low, high, log } => {
                if *log {
                    (low.ln(), high.ln())
                } else {
                    (*low, *high)
                }
            }
            Distribution::Int {
                low,
                high,
                step,
                log,
            } => {
                let half = *step as f64 / 2.0;
                if *log {
                    ((*low as f64 - half).ln(), (*high as f64 + half).ln())
                } else {
                    (*low as f64 - half, *high as f64 + half)
                }
            }
            Distribution::Categorical { choices } => (0.0, choices.len() as f64),
        }
    }

    /// A value on the internal scale; `None` if it does not belong to this parameter.
    pub fn to_internal(&self, value: &ParamValue) -> Option<f64> {
        match &self.distribution {
            Distribution::Float { log, .. } | Distribution::Int { log, .. } => {
                let v = value.as_f64()?;
                Some(if *log { v.ln() } else { v })
            }
            Distribution::Categorical { choices } => {
                choices.iter().position(|c| c == value).map(|i| i as f64)
            }
        }
    }

    /// The value at internal coordinate `x` (clamped into range, snapped to the int grid).
    pub fn from_internal(&self, x: f64) -> ParamValue {
        match &self.distribution {
            Distribution::Float { low, high, log } => {
                let v = if *log { x.exp() } else { x };
                ParamValue::Float(v.clamp(*low, *high))
            }
            Distribution::Int {
                low,
                high,
                step,
                log,
            } => {
                let v = if *log { x.exp() } else { x };
                let n = (high - low) / step;
                let k = ((v - *low as f64) / *step as f64).round();
                let k = if k.is_nan() {
                    0
                } else {
                    (k as i64).clamp(0, n)
                };
                ParamValue::Int(low + k * step)
            }
            Distribution::Categorical { choices } => {
                let i = if x.is_nan() {
                    0
                } else {
                    x.floor().max(0.0) as usize
                };
                choices[i.min(choices.len() - 1)].clone()
            }
        }
    }

    /// The value at unit coordinate `u` in [0, 1].
    pub fn from_unit(&self, u: f64) -> ParamValue {
        let (lo, hi) = self.internal_bounds();
        self.from_internal(lo + u.clamp(0.0, 1.0) * (hi - lo))
    }

    /// A value's unit coordinate (the centre of its cell for ints and categoricals).
    pub fn to_unit(&self, value: &ParamValue) -> Option<f64> {
        let (lo, hi) = self.internal_bounds();
        let mut x = self.to_internal(value)?;
        if self.is_categorical() {
            x += 0.5;
        }
        Some(((x - lo) / (hi - lo)).clamp(0.0, 1.0))
    }

    /// The values the grid sampler tries: the explicit `grid`, else every choice or integer,
    /// else `n_float` evenly spaced points (on the log scale for log floats), ends included.
    pub fn grid_values(&self, n_float: usize) -> Vec<ParamValue> {
        if let Some(g) = &self.grid {
            return g.clone();
        }
        match &self.distribution {
            Distribution::Categorical { choices } => choices.clone(),
            Distribution::Int {
                low, high, step, ..
            } => (0..=(high - low) / step)
                .map(|k| ParamValue::Int(low + k * step))
                .collect(),
            Distribution::Float { .. } => {
                let (lo, hi) = self.internal_bounds();
                let n = n_float.max(1);
                (0..n)
                    .map(|i| {
                        let t = if n == 1 {
                            0.5
                        } else {
                            i as f64 / (n - 1) as f64
                        };
                        self.from_internal(lo + t * (hi - lo))
                    })
                    .collect()
            }
        }
    }

    fn contains(&self, value: &ParamValue) -> bool {
        match &self.distribution {
            Distribution::Float { low, high, .. } => {
                matches!(value, ParamValue::Float(_) | ParamValue::Int(_))
                    && value.as_f64().is_some_and(|v| v >= *low && v <= *high)
            }
            Distribution::Int {
                low, high, step, ..
            } => match value {
                ParamValue::Int(v) => v >= low && v <= high && (v - low) % step == 0,
                _ => false,
            },
            Distribution::Categorical { choices } => choices.contains(value),
        }
    }
}

/// A validated search space, its parameters ordered parents-first (then by key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, RawParam>",
    into = "BTreeMap<String, RawParam>"
)]
pub struct Space {
    params: Vec<ParamSpec>,
}

impl Space {
    /// Validates the parameters: ranges (`low < high`, log needs `low > 0`), non-empty and
    /// distinct choices, grids inside their range, conditions on existing categorical parents
    /// with values among their choices, and no cycles.
    pub fn new(params: Vec<ParamSpec>) -> Result<Space, TuneError> {
        let mut by_name = BTreeMap::new();
        for p in params {
            validate_distribution(&p)?;
            if by_name.contains_key(&p.name) {
                return Err(invalid(&p.name, "defined twice"));
            }
            by_name.insert(p.name.clone(), p);
        }
        for p in by_name.values() {
            for (parent, values) in &p.when {
                let Some(pp) = by_name.get(parent) else {
                    return Err(invalid(
                        &p.name,
                        format!("`when` names unknown parameter {parent:?}"),
                    ));
                };
                let Distribution::Categorical { choices } = &pp.distribution else {
                    return Err(invalid(
                        &p.name,
                        format!("`when` parent {parent:?} must be a `choice` parameter"),
                    ));
                };
                if values.is_empty() {
                    return Err(invalid(&p.name, format!("`when.{parent}` lists no values")));
                }
                if let Some(v) = values.iter().find(|v| !choices.contains(v)) {
                    return Err(invalid(
                        &p.name,
                        format!("`when.{parent}` value {v} is not one of its choices"),
                    ));
                }
            }
        }
        // Topological order (Kahn), ties by name, so parents come before children.
        let mut order = Vec::with_capacity(by_name.len());
        let mut placed = BTreeSet::new();
        while order.len() < by_name.len() {
            let ready: Vec<String> = by_name
                .values()
                .filter(|p| !placed.contains(&p.name))
                .filter(|p| p.when.keys().all(|k| placed.contains(k)))
                .map(|p| p.name.clone())
                .collect();
            if ready.is_empty() {
                let stuck = by_name.keys().find(|k| !placed.contains(*k)).unwrap();
                return Err(invalid(stuck, "`when` conditions form a cycle"));
            }
            for name in ready {
                placed.insert(name.clone());
                order.push(by_name[&name].clone());
            }
        }
        Ok(Space { params: order })
    }

    /// Parses a `[tune.space]` table given as TOML text.
    pub fn from_toml_str(text: &str) -> Result<Space, TuneError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| invalid("tune.space", one_line(&e.to_string())))?;
        Space::from_table(&table)
    }

    /// Parses a `[tune.space]` table already read from an experiment file.
    pub fn from_table(table: &toml::Table) -> Result<Space, TuneError> {
        let mut raw = BTreeMap::new();
        for (key, value) in table {
            let p: RawParam = value
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| invalid(key, one_line(e.message())))?;
            raw.insert(key.clone(), p);
        }
        Space::try_from(raw)
    }

    /// Parameters, parents before children.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// The parameter with dotted key `name`, if any.
    pub fn get(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the space has no parameter.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Whether `spec`'s condition holds given the (parent) values already in `params`.
    pub fn is_active(spec: &ParamSpec, params: &Params) -> bool {
        spec.when
            .iter()
            .all(|(parent, values)| params.get(parent).is_some_and(|v| values.contains(v)))
    }

    /// Checks that `params` holds exactly the active parameters, each inside its range.
    pub fn check(&self, params: &Params) -> Result<(), TuneError> {
        for spec in &self.params {
            match (Space::is_active(spec, params), params.get(&spec.name)) {
                (true, Some(v)) if spec.contains(v) => {}
                (true, Some(v)) => return Err(invalid(&spec.name, format!("{v} is out of range"))),
                (true, None) => return Err(invalid(&spec.name, "missing")),
                (false, Some(_)) => {
                    return Err(invalid(&spec.name, "set although its `when` does not hold"));
                }
                (false, None) => {}
            }
        }
        if let Some(k) = params.0.keys().find(|k| self.get(k).is_none()) {
            return Err(invalid(k, "not in the search space"));
        }
        Ok(())
    }

    /// Builds parameters parents-first: `pick` is called for each active parameter in order.
    pub fn build(&self, mut pick: impl FnMut(usize, &ParamSpec, &Params) -> ParamValue) -> Params {
        let mut params = Params::new();
        for (i, spec) in self.params.iter().enumerate() {
            if Space::is_active(spec, &params) {
                let v = pick(i, spec, &params);
                params.insert(spec.name.clone(), v);
            }
        }
        params
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn validate_distribution(p: &ParamSpec) -> Result<(), TuneError> {
    let name = &p.name;
    if name.is_empty() {
        return Err(invalid("tune.space", "empty parameter name"));
    }
    match &p.distribution {
        Distribution::Float { low, high, log } => {
            if !low.is_finite() || !high.is_finite() {
                return Err(invalid(name, "bounds must be finite"));
            }
            if low >= high {
                return Err(invalid(
                    name,
                    format!("need low < high, got [{low}, {high}]"),
                ));
            }
            if *log && *low <= 0.0 {
                return Err(invalid(name, format!("log scale needs low > 0, got {low}")));
            }
        }
        Distribution::Int {
            low,
            high,
            step,
            log,
        } => {
            if low >= high {
                return Err(invalid(
                    name,
                    format!("need low < high, got [{low}, {high}]"),
                ));
            }
            if *step < 1 {
                return Err(invalid(name, format!("step must be >= 1, got {step}")));
            }
            if (high - low) % step != 0 {
                return Err(invalid(
                    name,
                    format!(
                        "high - low = {} is not a multiple of step {step}",
                        high - low
                    ),
                ));
            }
            if *log && *low < 1 {
                return Err(invalid(
                    name,
                    format!("log scale needs low >= 1, got {low}"),
                ));
            }
            if *log && *step != 1 {
                return Err(invalid(name, "log scale needs step = 1"));
            }
        }
        Distribution::Categorical { choices } => {
            if choices.is_empty() {
                return Err(invalid(name, "`choice` is empty"));
            }
            for (i, c) in choices.iter().enumerate() {
                if choices[..i].contains(c) {
                    return Err(invalid(name, format!("choice {c} is listed twice")));
                }
            }
        }
    }
    if let Some(g) = &p.grid {
        if g.is_empty() {
            return Err(invalid(name, "`grid` is empty"));
        }
        if let Some(v) = g.iter().find(|v| !p.contains(v)) {
            return Err(invalid(
                name,
                format!("grid value {v} is outside the range"),
            ));
        }
    }
    Ok(())
}

mod raw;
pub use raw::RawParam;

#[cfg(test)]
mod tests;
