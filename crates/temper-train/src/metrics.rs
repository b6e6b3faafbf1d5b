//! Per-epoch figures and `metrics.csv`.

use serde::Serialize;

/// Loss and accuracy over a set of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Mean cross-entropy per sample.
    pub loss: f64,
    /// Fraction of samples whose arg-max logit is the label.
    pub accuracy: f64,
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train: Scores,
    /// `None` when `valid_fraction = 0`.
    pub valid: Option<Scores>,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Wall time of the epoch: training and validation.
    pub seconds: f64,
}

/// Header of `metrics.csv`.
pub const METRICS_HEADER: &str =
    "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,lr,seconds";

impl EpochMetrics {
    /// The CSV row; empty cells where there is no validation set.
    pub fn csv_row(&self) -> String {
        let (vl, va) = self
            .valid
            .map(|v| (v.loss.to_string(), v.accuracy.to_string()))
            .unwrap_or_default();
        format!(
            "{},{},{},{},{},{},{:.3}",
            self.epoch, self.train.loss, self.train.accuracy, vl, va, self.lr, self.seconds
        )
    }
}

/// The whole `metrics.csv` text for `rows`.
pub fn metrics_csv(rows: &[EpochMetrics]) -> String {
    let mut out = String::from(METRICS_HEADER);
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
            train: Scores {
                loss: 0.5,
                accuracy: 0.75,
            },
            valid: None,
            lr: 0.001,
            seconds: 1.23456,
        };
        assert_eq!(
            metrics_csv(&[row]),
            "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,lr,seconds\n\
             1,0.5,0.75,,,0.001,1.235\n"
        );
    }
}
