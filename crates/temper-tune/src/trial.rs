//! Trials as a study stores them, and the study's direction.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::Params;

/// Whether smaller or larger objective values are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smaller values are better.
    Minimize,
    /// Larger values are better.
    Maximize,
}

impl Direction {
    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }

    /// The value turned into a loss (negated when maximizing).
    pub fn to_loss(self, v: f64) -> f64 {
        match self {
            Direction::Minimize => v,
            Direction::Maximize => -v,
        }
    }

    /// `"minimize"` or `"maximize"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        }
    }

    /// Reads `"minimize"` or `"maximize"`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "minimize" => Some(Direction::Minimize),
            "maximize" => Some(Direction::Maximize),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a trial is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Asked and not yet told.
    Running,
    /// Finished with a final value.
    Complete,
    /// Stopped early by the pruner.
    Pruned,
    /// Failed: the objective returned an error or NaN, the sampler failed, or the trial went
    /// stale.
    Failed,
}

impl TrialState {
    /// `"running"`, `"complete"`, `"pruned"` or `"failed"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        }
    }

    /// Reads the names [`TrialState::as_str`] writes; anything else is `None`.
    pub fn parse(s: &str) -> Option<TrialState> {
        match s {
            "running" => Some(TrialState::Running),
            "complete" => Some(TrialState::Complete),
            "pruned" => Some(TrialState::Pruned),
            "failed" => Some(TrialState::Failed),
            _ => None,
        }
    }

    /// Whether the trial is no longer running.
    pub fn is_finished(self) -> bool {
        self != TrialState::Running
    }
}

/// How a trial ended, as told to [`crate::Study::tell`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrialOutcome {
    /// Finished with this final value (NaN is recorded as a failure).
    Complete(f64),
    /// Stopped after the pruner said so.
    Pruned,
    /// Failed, with the reason.
    Failed(String),
}

/// One trial: its number in the study (0, 1, ...), parameters, state, final and
/// intermediate values, timestamps (seconds since the Unix epoch) and the attributes samplers
/// and pruners keep on it (GP hyperparameters, successive-halving rung values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the study: 0, 1, ...
    pub number: u64,
    /// Where the trial is in its life.
    pub state: TrialState,
    /// The sampled parameters (empty until the sampler has answered).
    pub params: Params,
    /// The final value of a complete trial.
    pub value: Option<f64>,
    /// Intermediate values by step.
    pub intermediate: BTreeMap<u64, f64>,
    /// When the trial was asked, in seconds since the Unix epoch.
    pub started_at: f64,
    /// When the trial finished, in seconds since the Unix epoch; `None` while running.
    pub finished_at: Option<f64>,
    /// Last sign of life (ask, report) of a running trial.
    pub heartbeat_at: f64,
    /// Why a failed trial failed.
    pub message: Option<String>,
    /// Numeric attributes kept by samplers and pruners (GP hyperparameters,
    /// successive-halving rung values, the trial a retry re-runs).
    pub attrs: BTreeMap<String, f64>,
}

impl Trial {
    /// A fresh running trial.
    pub fn new(number: u64, now: f64) -> Trial {
        Trial {
            number,
            state: TrialState::Running,
            params: Params::new(),
            value: None,
            intermediate: BTreeMap::new(),
            started_at: now,
            finished_at: None,
            heartbeat_at: now,
            message: None,
            attrs: BTreeMap::new(),
        }
    }

    /// The largest step reported, if any.
    pub fn last_step(&self) -> Option<u64> {
        self.intermediate.keys().next_back().copied()
    }

    /// Seconds from start to finish, for finished trials.
    pub fn duration(&self) -> Option<f64> {
        self.finished_at.map(|f| f - self.started_at)
    }

    /// The final value when complete, else `None`.
    pub fn complete_value(&self) -> Option<f64> {
        (self.state == TrialState::Complete)
            .then_some(self.value)
            .flatten()
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
