//! The value checks every kind shares, each error naming `path.key`.

use crate::error::{OptimError, invalid};

/// The checks of one schedule table, at `path` (`schedule`, `schedule.phases[1]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Check<'a> {
    path: &'a str,
}

impl<'a> Check<'a> {
    pub(crate) fn new(path: &'a str) -> Self {
        Self { path }
    }

    /// The table's path, for nested tables.
    pub(crate) fn path(&self) -> &'a str {
        self.path
    }

    /// `path.name`.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// An error about key `name`.
    pub(crate) fn error(&self, name: &str, message: impl Into<String>) -> OptimError {
        invalid(&self.key(name), message)
    }

    /// A count of units that must be at least 1.
    pub(crate) fn positive(
        &self,
        name: &str,
        value: Option<u64>,
        default: u64,
    ) -> Result<u64, OptimError> {
        match value.unwrap_or(default) {
            0 => Err(self.error(name, "must be at least 1")),
            v => Ok(v),
        }
    }

    /// A finite rate `>= 0`.
    pub(crate) fn rate(
        &self,
        name: &str,
        value: Option<f64>,
        default: f64,
    ) -> Result<f64, OptimError> {
        let v = value.unwrap_or(default);
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.error(name, format!("must be a finite rate >= 0, got {v}")))
        }
    }

    /// A finite rate `> 0`.
    pub(crate) fn positive_rate(&self, name: &str, v: f64) -> Result<f64, OptimError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.error(name, format!("must be a finite rate > 0, got {v}")))
        }
    }

    /// A finite value in `[lo, hi]`; `what` says the range in the message.
    pub(crate) fn in_range(
        &self,
        name: &str,
        v: f64,
        lo: f64,
        hi: f64,
        what: &str,
    ) -> Result<f64, OptimError> {
        if v.is_finite() && v >= lo && v <= hi {
            Ok(v)
        } else {
            Err(self.error(name, format!("must be {what}, got {v}")))
        }
    }

    /// A decay factor `gamma` in `(0, 1]`, default 0.1 (PyTorch `StepLR`, `MultiStepLR`).
    pub(crate) fn decay_gamma(&self, value: Option<f64>) -> Result<f64, OptimError> {
        self.in_range(
            "gamma",
            value.unwrap_or(0.1),
            f64::MIN_POSITIVE,
            1.0,
            "in (0, 1]",
        )
    }

    /// A cosine floor `min_lr` in `[0, lr]`, default 0.
    pub(crate) fn floor(&self, min_lr: Option<f64>, lr: f64) -> Result<f64, OptimError> {
        let min_lr = min_lr.unwrap_or(0.0);
        if min_lr.is_finite() && (0.0..=lr).contains(&min_lr) {
            Ok(min_lr)
        } else {
            Err(self.error(
                "min_lr",
                format!("must be in [0, optim.lr = {lr}], got {min_lr}"),
            ))
        }
    }
}
