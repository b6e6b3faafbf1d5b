//! Per-epoch figures and `metrics.csv`.

use serde::{Deserialize, Serialize};

/// Scores over a set of samples: mean cross-entropy, accuracy and macro-averaged precision,
/// recall and F1 (scikit-learn's `average='macro'`).
///
/// Training scores are accumulated over the epoch's batches as the weights change (what
/// Keras and Lightning log as the training metric), not re-measured at the epoch's end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalScores {
    /// Mean cross-entropy per sample (the data loss, without penalties).
    pub loss: f64,
    /// Share of samples whose arg-max prediction is their class, in `[0, 1]`.
    pub accuracy: f64,
    /// Macro-averaged precision, in `[0, 1]`; a class nothing was predicted as counts 0
    /// (scikit-learn's `zero_division=0`).
    pub precision: f64,
    /// Macro-averaged recall, in `[0, 1]`.
    pub recall: f64,
    /// Macro-averaged F1, in `[0, 1]`: the mean of per-class F1, not the F1 of `precision`
    /// and `recall`.
    pub f1: f64,
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Training scores, accumulated over the epoch's batches.
    pub train: EvalScores,
    /// `None` when `valid_fraction = 0`.
    pub valid: Option<EvalScores>,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Wall time of the epoch: training and validation.
    pub seconds: f64,
    /// The momentum (Adam's `beta1`) of the epoch's last step, when the schedule cycles it
    /// (one-cycle, cyclic). Absent from resume sets of runs that do not cycle it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// The lowest accuracy of a group on the validation split, when `[data] groups` names
    /// them (`valid_worst_group_accuracy`, a monitor for early stopping and tuning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_worst_group_accuracy: Option<f64>,
}

/// Header of `metrics.csv`; the metric columns are also the names `monitor` keys accept.
pub const METRICS_HEADER: &str = "epoch,train_loss,train_accuracy,train_precision,\
     train_recall,train_f1,valid_loss,valid_accuracy,valid_precision,valid_recall,valid_f1,lr,\
     seconds";

/// The column `metrics.csv` gains, after `seconds`, when the schedule cycles momentum.
pub const MOMENTUM_COLUMN: &str = "momentum";

/// The column `metrics.csv` gains last when the run has groups: the validation split's lowest
/// group accuracy; also a name `monitor` keys accept.
pub const WORST_GROUP_COLUMN: &str = "valid_worst_group_accuracy";

/// Whether `name` is a metric a `monitor` may watch: one of [`METRIC_NAMES`] or
/// [`WORST_GROUP_COLUMN`].
pub fn is_metric(name: &str) -> bool {
    METRIC_NAMES.contains(&name) || name == WORST_GROUP_COLUMN
}

/// Names of the per-epoch metrics, as `monitor` settings spell them.
pub const METRIC_NAMES: [&str; 10] = [
    "train_loss",
    "train_accuracy",
    "train_precision",
    "train_recall",
    "train_f1",
    "valid_loss",
    "valid_accuracy",
    "valid_precision",
    "valid_recall",
    "valid_f1",
];

impl EpochMetrics {
    /// The value of metric `name` (one of [`METRIC_NAMES`]); `None` for an unknown name or a
    /// validation metric without a validation split.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let v = self.valid;
        match name {
            "train_loss" => Some(self.train.loss),
            "train_accuracy" => Some(self.train.accuracy),
            "train_precision" => Some(self.train.precision),
            "train_recall" => Some(self.train.recall),
            "train_f1" => Some(self.train.f1),
            "valid_loss" => v.map(|v| v.loss),
            "valid_accuracy" => v.map(|v| v.accuracy),
            "valid_precision" => v.map(|v| v.precision),
            "valid_recall" => v.map(|v| v.recall),
            "valid_f1" => v.map(|v| v.f1),
            WORST_GROUP_COLUMN => self.valid_worst_group_accuracy,
            _ => None,
        }
    }

    /// The CSV row; empty cells where there is no validation set. The momentum cell follows
    /// when the run cycles momentum.
    pub fn csv_row(&self) -> String {
        let mut cells = vec![self.epoch.to_string()];
        cells.extend(
            METRIC_NAMES
                .iter()
                .map(|name| self.metric(name).map(|x| x.to_string()).unwrap_or_default()),
        );
        cells.push(self.lr.to_string());
        cells.push(format!("{:.3}", self.seconds));
        if let Some(momentum) = self.momentum {
            cells.push(momentum.to_string());
        }
        if let Some(worst) = self.valid_worst_group_accuracy {
            cells.push(worst.to_string());
        }
        cells.join(",")
    }
}

/// The whole `metrics.csv` text for `rows`: [`METRICS_HEADER`], then a `momentum` column when
/// the rows carry a cycled momentum.
pub fn metrics_csv(rows: &[EpochMetrics]) -> String {
    let mut out = String::from(METRICS_HEADER);
    if rows.iter().any(|r| r.momentum.is_some()) {
        out.push(',');
        out.push_str(MOMENTUM_COLUMN);
    }
    if rows.iter().any(|r| r.valid_worst_group_accuracy.is_some()) {
        out.push(',');
        out.push_str(WORST_GROUP_COLUMN);
    }
    out.push('\n');
    for r in rows {
        out.push_str(&r.csv_row());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_header_and_blank_valid_cells() {
        let row = EpochMetrics {
            epoch: 1,
            train: EvalScores {
                loss: 0.5,
                accuracy: 0.75,
                precision: 0.5,
                recall: 0.25,
                f1: 0.125,
            },
            valid: None,
            lr: 0.001,
            seconds: 1.23456,
            momentum: None,
            valid_worst_group_accuracy: None,
        };
        assert_eq!(
            metrics_csv(&[row]),
            "epoch,train_loss,train_accuracy,train_precision,train_recall,train_f1,\
             valid_loss,valid_accuracy,valid_precision,valid_recall,valid_f1,lr,seconds\n\
             1,0.5,0.75,0.5,0.25,0.125,,,,,,0.001,1.235\n"
        );
    }

    #[test]
    fn csv_gains_a_momentum_column_when_momentum_cycles() {
        let scores = EvalScores {
            loss: 0.5,
            accuracy: 0.75,
            precision: 0.5,
            recall: 0.25,
            f1: 0.125,
        };
        let row = EpochMetrics {
            epoch: 2,
            train: scores,
            valid: Some(scores),
            lr: 0.004,
            seconds: 2.0,
            momentum: Some(0.85),
            valid_worst_group_accuracy: None,
        };
        assert_eq!(
            metrics_csv(&[row]),
            "epoch,train_loss,train_accuracy,train_precision,train_recall,train_f1,\
             valid_loss,valid_accuracy,valid_precision,valid_recall,valid_f1,lr,seconds,\
             momentum\n\
             2,0.5,0.75,0.5,0.25,0.125,0.5,0.75,0.5,0.25,0.125,0.004,2.000,0.85\n"
        );
    }
}
