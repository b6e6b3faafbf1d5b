//! The best epoch so far and why early stopping stopped, each with the one-line text a report
//! prints.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::MinDeltaMode;

/// The best monitored value so far and its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// The epoch (from 1).
    pub epoch: usize,
    /// The monitored value at that epoch.
    pub value: f64,
}

/// Why [`EarlyStopping`](super::EarlyStopping) asked to stop. `Display` is one line a report can print.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// `epochs` monitored epochs without an improvement larger than the margin.
    Patience {
        /// The monitored metric's name.
        monitor: String,
        /// The margin an improvement had to exceed.
        min_delta: f64,
        /// Whether `min_delta` is absolute or relative.
        min_delta_mode: MinDeltaMode,
        /// Monitored epochs since the last improvement.
        epochs: usize,
        /// The best value so far and its epoch.
        best: Option<Best>,
    },
    /// `epochs` monitored epochs and the best value never beat `baseline`.
    Baseline {
        /// The monitored metric's name.
        monitor: String,
        /// The value to beat.
        baseline: f64,
        /// Monitored epochs without beating it.
        epochs: usize,
        /// The best value so far and its epoch.
        best: Option<Best>,
    },
    /// The value at `epoch` was strictly better than `stopping_threshold`.
    StoppingThreshold {
        /// The monitored metric's name.
        monitor: String,
        /// The value that crossed the threshold.
        value: f64,
        /// Its epoch.
        epoch: usize,
        /// The `stopping_threshold`.
        threshold: f64,
    },
    /// The value at `epoch` was strictly worse than `divergence_threshold`.
    Divergence {
        /// The monitored metric's name.
        monitor: String,
        /// The value that crossed the threshold.
        value: f64,
        /// Its epoch.
        epoch: usize,
        /// The `divergence_threshold`.
        threshold: f64,
    },
    /// The value at `epoch` was NaN or infinite (`check_finite`).
    NotFinite {
        /// The monitored metric's name.
        monitor: String,
        /// The NaN or infinite value.
        value: f64,
        /// Its epoch.
        epoch: usize,
        /// The best value so far and its epoch.
        best: Option<Best>,
    },
}

impl StopReason {
    /// A stable snake_case name: `patience`, `baseline`, `stopping_threshold`, `divergence`,
    /// `not_finite` (for a summary file).
    pub fn name(&self) -> &'static str {
        match self {
            StopReason::Patience { .. } => "patience",
            StopReason::Baseline { .. } => "baseline",
            StopReason::StoppingThreshold { .. } => "stopping_threshold",
            StopReason::Divergence { .. } => "divergence",
            StopReason::NotFinite { .. } => "not_finite",
        }
    }
}

/// `best 0.0312 at epoch 7`, or `no best value yet`.
fn fmt_best(best: &Option<Best>) -> String {
    match best {
        Some(b) => format!("best {} at epoch {}", num(b.value), b.epoch),
        None => "no best value yet".to_string(),
    }
}

/// `1 epoch`, `5 epochs`.
fn epochs_str(n: usize) -> String {
    if n == 1 {
        "1 epoch".to_string()
    } else {
        format!("{n} epochs")
    }
}

/// Four significant digits without trailing zeros (`0.0312`, `12.5`, `1e-7`); NaN and
/// infinities as Rust writes them.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        let s = format!("{x:.3e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exponent}", trim(mantissa));
    }
    trim(&format!("{:.*}", (3 - magnitude).max(0) as usize, x))
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Patience {
                monitor,
                min_delta,
                min_delta_mode,
                epochs,
                best,
            } => {
                let margin = match min_delta_mode {
                    MinDeltaMode::Abs => num(*min_delta),
                    MinDeltaMode::Rel => format!("{}%", num(min_delta * 100.0)),
                };
                write!(
                    f,
                    "{monitor} did not improve by more than {margin} for {} ({})",
                    epochs_str(*epochs),
                    fmt_best(best)
                )
            }
            StopReason::Baseline {
                monitor,
                baseline,
                epochs,
                best,
            } => write!(
                f,
                "{monitor} did not beat the baseline {} in {} ({})",
                num(*baseline),
                epochs_str(*epochs),
                fmt_best(best)
            ),
            StopReason::StoppingThreshold {
                monitor,
                value,
                epoch,
                threshold,
            } => write!(
                f,
                "{monitor} reached {} at epoch {epoch}, better than the stopping threshold {}",
                num(*value),
                num(*threshold)
            ),
            StopReason::Divergence {
                monitor,
                value,
                epoch,
                threshold,
            } => write!(
                f,
                "{monitor} reached {} at epoch {epoch}, worse than the divergence threshold {}",
                num(*value),
                num(*threshold)
            ),
            StopReason::NotFinite {
                monitor,
                value,
                epoch,
                best,
            } => write!(
                f,
                "{monitor} is {value} at epoch {epoch} ({})",
                fmt_best(best)
            ),
        }
    }
}
