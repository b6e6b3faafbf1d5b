//! Reduce-on-plateau: cut the learning rate when a monitored metric stops improving.

use serde::{Deserialize, Serialize};

use crate::early_stopping::MonitorMode;

/// Whether `threshold` is a fraction of the best value or an absolute amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdMode {
    /// Better means beyond `best * (1 -/+ threshold)`.
    #[default]
    Rel,
    /// Better means beyond `best -/+ threshold`.
    Abs,
}

/// The `[schedule.plateau]` table: PyTorch `ReduceLROnPlateau`'s parameters and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlateauSettings {
    /// The epoch metric to watch (`valid_loss`, `valid_accuracy`, ...).
    pub monitor: String,
    /// `min` or `max`; `auto` decides from the metric's name as early stopping does.
    pub mode: MonitorMode,
    /// Each reduction multiplies the learning rate by this.
    pub factor: f64,
    /// Epochs without improvement tolerated before a reduction.
    pub patience: usize,
    /// The least change that counts as an improvement.
    pub threshold: f64,
    /// Whether `threshold` is relative to the best value or absolute.
    pub threshold_mode: ThresholdMode,
    /// Epochs after a reduction during which bad epochs are not counted.
    pub cooldown: usize,
    /// Reductions never take the learning rate below this.
    pub min_lr: f64,
    /// A reduction smaller than this is skipped (PyTorch `eps`).
    pub eps: f64,
}

impl Default for PlateauSettings {
    fn default() -> Self {
        Self {
            monitor: "valid_loss".into(),
            mode: MonitorMode::Auto,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

impl PlateauSettings {
    /// Whether the monitored metric is minimized.
    pub fn minimize(&self) -> bool {
        self.mode.resolve(&self.monitor) == MonitorMode::Min
    }
}

/// The state of a plateau detector: PyTorch `ReduceLROnPlateau.step`, except that what it
/// reduces is a *scale* on top of whatever curve the schedule follows, so it composes with
/// warmup and with every other curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Plateau {
    pub(crate) minimize: bool,
    pub(crate) factor: f64,
    pub(crate) patience: usize,
    pub(crate) threshold: f64,
    pub(crate) threshold_mode: ThresholdMode,
    pub(crate) cooldown: usize,
    pub(crate) min_lr: f64,
    pub(crate) eps: f64,
    /// Best value seen so far (`+inf` / `-inf` before the first).
    pub(crate) best: f64,
    pub(crate) num_bad_epochs: usize,
    pub(crate) cooldown_counter: usize,
    /// Product of the reductions made so far.
    pub(crate) scale: f64,
}

impl Plateau {
    pub(crate) fn new(settings: &PlateauSettings) -> Self {
        let minimize = settings.minimize();
        Self {
            minimize,
            factor: settings.factor,
            patience: settings.patience,
            threshold: settings.threshold,
            threshold_mode: settings.threshold_mode,
            cooldown: settings.cooldown,
            min_lr: settings.min_lr,
            eps: settings.eps,
            best: if minimize {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
            num_bad_epochs: 0,
            cooldown_counter: 0,
            scale: 1.0,
        }
    }

    /// The reduced learning rate for a curve value `lr`; `min_lr` binds once a reduction
    /// has happened, so it never lifts a warmup.
    pub(crate) fn apply(&self, lr: f64) -> f64 {
        if self.scale < 1.0 {
            (lr * self.scale).max(self.min_lr)
        } else {
            lr
        }
    }

    /// Feeds one epoch's metric; `lr` is the learning rate that epoch used. Returns whether the
    /// learning rate was reduced.
    pub(crate) fn observe(&mut self, value: f64, lr: f64) -> bool {
        // PyTorch ReduceLROnPlateau.step, line by line.
        if self.is_better(value) {
            self.best = value;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
            let new_lr = (lr * self.factor).max(self.min_lr);
            if lr - new_lr > self.eps {
                self.scale *= self.factor;
                return true;
            }
        }
        false
    }

    fn is_better(&self, a: f64) -> bool {
        // NaN is never better, so a diverging metric counts as a bad epoch.
        let best = self.best;
        match (self.minimize, self.threshold_mode) {
            (true, ThresholdMode::Rel) => a < best * (1.0 - self.threshold),
            (true, ThresholdMode::Abs) => a < best - self.threshold,
            (false, ThresholdMode::Rel) => a > best * (1.0 + self.threshold),
            (false, ThresholdMode::Abs) => a > best + self.threshold,
        }
    }
}
