//! Early stopping: stop training when a monitored metric stops improving, and remember the
//! best epoch so the runner can restore its weights.
//!
//! The `[early_stopping]` section ([`EarlyStoppingSettings`]) combines the options of Keras'
//! [`EarlyStopping`](https://keras.io/api/callbacks/early_stopping/) (`monitor`, `mode`
//! including `auto`, `min_delta`, `patience`, `baseline`, `start_from_epoch`,
//! `restore_best_weights`) and Lightning's
//! [`EarlyStopping`](https://lightning.ai/docs/pytorch/stable/api/lightning.pytorch.callbacks.EarlyStopping.html)
//! (`check_finite`, `stopping_threshold`, `divergence_threshold`), plus a relative `min_delta`
//! (PyTorch `ReduceLROnPlateau`'s `threshold_mode = "rel"`).
//!
//! [`EarlyStopping`] is the decision itself: a pure state machine fed one value per epoch.
//! temper's runner drives it directly; [`LearnerEarlyStopping`] wraps the same machine as a
//! burn-train [`EarlyStoppingStrategy`](burn::train::EarlyStoppingStrategy), so a Burn
//! `Learner` makes identical decisions.
//!
//! # Semantics, epoch by epoch
//!
//! Epochs are numbered from 1, as in temper's runner and burn-train.
//!
//! 1. Epochs `1..=start_from_epoch` are ignored entirely: never best, never counted, never a
//!    reason to stop (Keras `start_from_epoch`, whose 0-based `epoch < start_from_epoch` is
//!    the same set of epochs).
//! 2. With `check_finite`, a NaN or infinite value stops training at once (Lightning).
//! 3. The value *improves* when it beats the best so far by more than the margin: `min_delta`,
//!    or `min_delta * |best|` with `min_delta_mode = "rel"`. The first monitored value always
//!    improves (unless NaN). An improving epoch becomes the best epoch, **whether or not
//!    stopping ever fires**, so the best weights can always be restored at the end (Keras
//!    restored them only when stopping fired, keras-team/keras#12511).
//! 4. A counter `wait` grows by one each monitored epoch and returns to 0 on an improvement
//!    that also beats `baseline` (when set) — exactly Keras' `wait`.
//! 5. Stop, first reason that applies: the value is strictly better than
//!    `stopping_threshold`, or strictly worse than `divergence_threshold` (Lightning); or
//!    `wait >= max(patience, 1)` — "no improvement for `patience` epochs", or, when the
//!    baseline was never beaten, "did not beat the baseline within `patience` epochs".
//!
//! Two deliberate differences from the reference code, both toward the documented intent:
//! Keras only checks patience on non-improving epochs, so a run that keeps improving without
//! ever beating `baseline` never stops, although its documentation says "if no epoch improves
//! on baseline, training will run for patience epochs"; temper follows the documentation.
//! Lightning does not record the epoch that crosses `stopping_threshold` as its best; temper
//! does (it restores weights, Lightning does not). `patience = 0` behaves as `patience = 1`,
//! as it does in both references (their counter is incremented before the comparison).

#[cfg(feature = "burn-train")]
mod learner;
mod reason;

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

#[cfg(feature = "burn-train")]
pub use learner::LearnerEarlyStopping;
pub use reason::{Best, StopReason};

/// Whether lower or higher values of the monitored metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorMode {
    /// Lower is better (losses, errors).
    Min,
    /// Higher is better (accuracy, F1, AUC).
    Max,
    /// Decided from the metric's name: `max` when it contains `acc`, `precision`, `recall`,
    /// `f1` or `auc` (case-insensitive), `min` otherwise. Keras' default mode; the name rule
    /// is tf.keras 2's `"acc" in monitor` heuristic widened to the usual "higher is better"
    /// classification scores.
    #[default]
    Auto,
}

impl MonitorMode {
    /// `Min` or `Max` for the metric `name`; `Auto` resolved by the name rule above.
    pub fn resolve(self, name: &str) -> MonitorMode {
        match self {
            MonitorMode::Auto => {
                let name = name.to_ascii_lowercase();
                let higher = ["acc", "precision", "recall", "f1", "auc"]
                    .iter()
                    .any(|k| name.contains(k));
                if higher {
                    MonitorMode::Max
                } else {
                    MonitorMode::Min
                }
            }
            m => m,
        }
    }
}

/// How `min_delta` is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinDeltaMode {
    /// An improvement must exceed `min_delta` (Keras, Lightning).
    #[default]
    Abs,
    /// An improvement must exceed `min_delta * |best|` (PyTorch `ReduceLROnPlateau`
    /// `threshold_mode = "rel"`, which writes `best * (1 - threshold)`; `|best|` keeps the
    /// rule right for negative scores).
    Rel,
}

/// The `[early_stopping]` section.
///
/// The runner stops early only when the experiment has this section: it holds an
/// `Option<EarlyStoppingSettings>`, and an experiment without the section trains every epoch
/// (there is no `enabled` key; the section's presence is the switch). Present with no keys,
/// it stops after 5 epochs without improvement of `valid_loss` and restores the best weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStoppingSettings {
    /// The metric to watch, by its `metrics.csv` column name (`valid_loss`,
    /// `valid_accuracy`, `train_loss`, ...). Default `valid_loss` (Keras: `val_loss`).
    pub monitor: String,
    /// Whether lower or higher is better. Default `auto` (Keras).
    pub mode: MonitorMode,
    /// The margin an improvement must exceed. Default 0 (Keras, Lightning).
    pub min_delta: f64,
    /// Whether `min_delta` is absolute or relative to `|best|`. Default `abs`.
    pub min_delta_mode: MinDeltaMode,
    /// Epochs without improvement before stopping. Default 5 (Keras 0, Lightning 3; temper
    /// trains for tens of epochs, where 5 rides out a noisy validation split).
    pub patience: usize,
    /// A value the metric must beat within `patience` epochs (Keras). Default none.
    pub baseline: Option<f64>,
    /// Epochs `1..=start_from_epoch` are not monitored at all (Keras). Default 0.
    pub start_from_epoch: usize,
    /// Stop as soon as the metric is strictly better than this (Lightning). Default none.
    pub stopping_threshold: Option<f64>,
    /// Stop as soon as the metric is strictly worse than this (Lightning). Default none.
    pub divergence_threshold: Option<f64>,
    /// Stop when the metric is NaN or infinite (Lightning). Default true.
    pub check_finite: bool,
    /// Whether the runner puts back the best epoch's weights at the end (Keras, default false
    /// there; true here, since the best epoch is always known). Default true.
    pub restore_best_weights: bool,
}

impl Default for EarlyStoppingSettings {
    fn default() -> Self {
        Self {
            monitor: "valid_loss".to_string(),
            mode: MonitorMode::Auto,
            min_delta: 0.0,
            min_delta_mode: MinDeltaMode::Abs,
            patience: 5,
            baseline: None,
            start_from_epoch: 0,
            stopping_threshold: None,
            divergence_threshold: None,
            check_finite: true,
            restore_best_weights: true,
        }
    }
}

impl EarlyStoppingSettings {
    /// `Min` or `Max`, with `auto` decided from `monitor`.
    pub fn resolved_mode(&self) -> MonitorMode {
        self.mode.resolve(&self.monitor)
    }

    /// Checks every value; an error names the field as `early_stopping.<field>`.
    pub fn validate(&self) -> Result<(), OptimError> {
        if self.monitor.trim().is_empty() {
            return Err(invalid(
                "early_stopping.monitor",
                "must name a metric, e.g. \"valid_loss\"",
            ));
        }
        let rel = self.min_delta_mode == MinDeltaMode::Rel;
        let d = self.min_delta;
        if !(d.is_finite() && d >= 0.0 && (!rel || d < 1.0)) {
            let range = if rel {
                "[0, 1) with min_delta_mode = \"rel\""
            } else {
                ">= 0"
            };
            return Err(invalid(
                "early_stopping.min_delta",
                format!("must be {range}, got {d}"),
            ));
        }
        for (name, v) in [
            ("baseline", self.baseline),
            ("stopping_threshold", self.stopping_threshold),
            ("divergence_threshold", self.divergence_threshold),
        ] {
            if let Some(x) = v.filter(|x| !x.is_finite()) {
                return Err(invalid(
                    &format!("early_stopping.{name}"),
                    format!("must be a finite number, got {x}"),
                ));
            }
        }
        if let (Some(stop), Some(diverge)) = (self.stopping_threshold, self.divergence_threshold) {
            let max = self.resolved_mode() == MonitorMode::Max;
            if (max && diverge >= stop) || (!max && diverge <= stop) {
                let (side, mode) = if max {
                    ("below", "max")
                } else {
                    ("above", "min")
                };
                return Err(invalid(
                    "early_stopping.divergence_threshold",
                    format!(
                        "must be {side} stopping_threshold = {stop} when {} is {mode}imized, got {diverge}",
                        self.monitor
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What one epoch's value meant.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The epoch is the new best epoch (save its weights if restoring).
    pub improved: bool,
    /// Stop training after this epoch, and why.
    pub stop: Option<StopReason>,
}

/// What an [`EarlyStopping`] has learned so far: the part of it a checkpoint keeps so a
/// resumed run decides exactly as an uninterrupted one would.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingState {
    /// The best value so far and its epoch; `None` before the first monitored value.
    pub best: Option<Best>,
    /// Monitored epochs since the last improvement that counted (Keras' `wait`).
    pub wait: usize,
    /// Whether an improvement has beaten `baseline` (or improved, without a baseline).
    pub beat_baseline: bool,
}

/// The early-stopping decision, fed one value per epoch by [`update`](Self::update).
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopping {
    settings: EarlyStoppingSettings,
    maximize: bool,
    best: Option<Best>,
    wait: usize,
    beat_baseline: bool,
    stopped: Option<StopReason>,
}

impl EarlyStopping {
    /// Validates `settings` and starts with no best epoch.
    pub fn new(settings: &EarlyStoppingSettings) -> Result<Self, OptimError> {
        settings.validate()?;
        Ok(Self {
            maximize: settings.resolved_mode() == MonitorMode::Max,
            settings: settings.clone(),
            best: None,
            wait: 0,
            beat_baseline: false,
            stopped: None,
        })
    }

    /// Feeds the monitored `value` of `epoch` (1-based; see the module docs for the rules).
    /// Calls after a stop keep being evaluated, so a caller that trains on anyway still gets
    /// the best epoch right.
    pub fn update(&mut self, epoch: usize, value: f64) -> Update {
        let s = &self.settings;
        if epoch <= s.start_from_epoch {
            return Update {
                improved: false,
                stop: None,
            };
        }
        if s.check_finite && !value.is_finite() {
            let reason = StopReason::NotFinite {
                monitor: s.monitor.clone(),
                value,
                epoch,
                best: self.best,
            };
            return self.finish(false, Some(reason));
        }
        let improved = match self.best {
            None => !value.is_nan(),
            Some(b) => self.beats(value, b.value),
        };
        self.wait += 1;
        if improved {
            self.best = Some(Best { epoch, value });
            if s.baseline.is_none_or(|b| self.beats(value, b)) {
                self.wait = 0;
                self.beat_baseline = true;
            }
        }
        let s = &self.settings;
        let stop = if let Some(threshold) = s
            .stopping_threshold
            .filter(|&t| self.strictly_better(value, t))
        {
            Some(StopReason::StoppingThreshold {
                monitor: s.monitor.clone(),
                value,
                epoch,
                threshold,
            })
        } else if let Some(threshold) = s
            .divergence_threshold
            .filter(|&t| self.strictly_better(t, value))
        {
            Some(StopReason::Divergence {
                monitor: s.monitor.clone(),
                value,
                epoch,
                threshold,
            })
        } else if self.wait >= s.patience.max(1) {
            Some(match s.baseline {
                Some(baseline) if !self.beat_baseline => StopReason::Baseline {
                    monitor: s.monitor.clone(),
                    baseline,
                    epochs: self.wait,
                    best: self.best,
                },
                _ => StopReason::Patience {
                    monitor: s.monitor.clone(),
                    min_delta: s.min_delta,
                    min_delta_mode: s.min_delta_mode,
                    epochs: self.wait,
                    best: self.best,
                },
            })
        } else {
            None
        };
        self.finish(improved, stop)
    }

    fn finish(&mut self, improved: bool, stop: Option<StopReason>) -> Update {
        if self.stopped.is_none() {
            self.stopped.clone_from(&stop);
        }
        Update { improved, stop }
    }

    /// `value` beats `reference` by more than the margin, in the monitored direction.
    fn beats(&self, value: f64, reference: f64) -> bool {
        let margin = match self.settings.min_delta_mode {
            MinDeltaMode::Abs => self.settings.min_delta,
            MinDeltaMode::Rel if reference.is_finite() => self.settings.min_delta * reference.abs(),
            MinDeltaMode::Rel => 0.0,
        };
        if self.maximize {
            value > reference + margin
        } else {
            value < reference - margin
        }
    }

    fn strictly_better(&self, a: f64, b: f64) -> bool {
        if self.maximize { a > b } else { a < b }
    }

    /// The epoch with the best monitored value so far, stop or no stop.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|b| b.epoch)
    }

    /// The best monitored value so far.
    pub fn best_value(&self) -> Option<f64> {
        self.best.map(|b| b.value)
    }

    /// The best epoch and value so far.
    pub fn best(&self) -> Option<Best> {
        self.best
    }

    /// Monitored epochs since the last improvement that counted (Keras' `wait`).
    pub fn wait(&self) -> usize {
        self.wait
    }

    /// The first reason to stop that [`update`](Self::update) returned, if any.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.stopped.as_ref()
    }

    /// Whether higher values are better (the resolved `mode`).
    pub fn maximizes(&self) -> bool {
        self.maximize
    }

    /// The settings this was built from.
    pub fn settings(&self) -> &EarlyStoppingSettings {
        &self.settings
    }

    /// The state a checkpoint keeps (a stop already decided is not part of it: a run that
    /// stopped has nothing to resume).
    pub fn state(&self) -> EarlyStoppingState {
        EarlyStoppingState {
            best: self.best,
            wait: self.wait,
            beat_baseline: self.beat_baseline,
        }
    }

    /// Continues from a checkpoint's [`state`](Self::state).
    pub fn restore(&mut self, state: EarlyStoppingState) {
        self.best = state.best;
        self.wait = state.wait;
        self.beat_baseline = state.beat_baseline;
        self.stopped = None;
    }
}

#[cfg(test)]
mod tests;
