//! `steps.csv`: the training loss and learning rate along the optimizer steps, for a loss
//! curve finer than `metrics.csv`'s one row per epoch.
//!
//! Columns `step,epoch,loss,lr`: the global optimizer step (1-based, counted over the whole
//! run), its epoch, the mean training loss of the steps since the row before in the same epoch
//! (each image weighted alike), and the learning rate that step used. Rows come only from the
//! read-backs the progress bar already makes every 10 steps (no extra device sync): one at
//! every epoch step that is a multiple of `N = 10 · max(1, total_steps / 20_000)` and one at
//! each epoch's last step, so a run has at most about 2,000 rows plus one per epoch. The file
//! is rewritten atomically at each epoch's end with the rows of the completed epochs; a
//! resumed run keeps the rows of the epochs before from the file on disk.
//!
//! When the schedule cycles momentum (one-cycle, cyclic), a fifth column `momentum` holds the
//! momentum (Adam's `beta1`) that step used.

use std::path::Path;

/// File name inside a run directory.
pub const STEPS_FILE: &str = "steps.csv";
/// The header line of `steps.csv`.
pub const STEPS_HEADER: &str = "step,epoch,loss,lr";
/// The header line of `steps.csv` when the schedule cycles momentum.
pub const STEPS_HEADER_MOMENTUM: &str = "step,epoch,loss,lr,momentum";

/// One row of `steps.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRow {
    /// Global optimizer step, 1-based.
    pub step: usize,
    /// The step's epoch, 1-based.
    pub epoch: usize,
    /// Mean training loss of the steps since the row before (within the epoch).
    pub loss: f64,
    /// Learning rate of this step.
    pub lr: f64,
    /// The cycled momentum (Adam's `beta1`) of this step, when the schedule cycles it.
    pub momentum: Option<f64>,
}

/// How many epoch steps apart the rows are: a multiple of the read-back interval `read_every`.
pub fn row_every(read_every: usize, total_steps: usize) -> usize {
    read_every * (total_steps / 20_000).max(1)
}

/// `steps.csv`'s text, with the momentum column when the rows carry one. Numbers are written in
/// Rust's shortest round-trip form, so a file read back and written again is byte-identical.
pub fn steps_csv(rows: &[StepRow]) -> String {
    let cycled = rows.iter().any(|r| r.momentum.is_some());
    let mut out = String::with_capacity(40 * (rows.len() + 1));
    out.push_str(if cycled {
        STEPS_HEADER_MOMENTUM
    } else {
        STEPS_HEADER
    });
    out.push('\n');
    for r in rows {
        out.push_str(&format!("{},{},{},{}", r.step, r.epoch, r.loss, r.lr));
        if let Some(m) = r.momentum {
            out.push_str(&format!(",{m}"));
        }
        out.push('\n');
    }
    out
}

/// The rows of `steps.csv` in `dir` of the epochs before `first_epoch`; none when the file
/// is missing or unreadable (the curve then starts at the resumed epoch). Rows that do not
/// parse are skipped.
pub fn read_rows_before(dir: &Path, first_epoch: usize) -> Vec<StepRow> {
    let Ok(text) = std::fs::read_to_string(dir.join(STEPS_FILE)) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(parse_row)
        .filter(|r| r.epoch < first_epoch)
        .collect()
}

pub(crate) fn parse_row(line: &str) -> Option<StepRow> {
    let mut fields = line.split(',');
    let row = StepRow {
        step: fields.next()?.parse().ok()?,
        epoch: fields.next()?.parse().ok()?,
        loss: fields.next()?.parse().ok()?,
        lr: fields.next()?.parse().ok()?,
        momentum: match fields.next() {
            Some(m) => Some(m.parse().ok()?),
            None => None,
        },
    };
    fields.next().is_none().then_some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_byte_identical_and_resume_keeps_earlier_epochs() {
        let rows = [
            StepRow {
                step: 10,
                epoch: 1,
                loss: 2.25,
                lr: 1e-3,
                momentum: None,
            },
            StepRow {
                step: 19,
                epoch: 1,
                loss: 0.1 + 0.2,
                lr: 0.000_999_7,
                momentum: None,
            },
            StepRow {
                step: 29,
                epoch: 2,
                loss: 1.0,
                lr: 5e-4,
                momentum: None,
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STEPS_FILE), steps_csv(&rows)).unwrap();
        assert_eq!(read_rows_before(dir.path(), 3), rows);
        assert_eq!(read_rows_before(dir.path(), 2), rows[..2]);
        assert_eq!(
            steps_csv(&read_rows_before(dir.path(), 3)),
            steps_csv(&rows)
        );
        assert!(read_rows_before(&dir.path().join("none"), 2).is_empty());
        assert_eq!(row_every(10, 500), 10);
        assert_eq!(row_every(10, 100_000), 50);
    }

    #[test]
    fn a_cycled_momentum_is_a_fifth_column_that_round_trips() {
        let rows = [
            StepRow {
                step: 10,
                epoch: 1,
                loss: 2.0,
                lr: 4e-5,
                momentum: Some(0.95),
            },
            StepRow {
                step: 20,
                epoch: 2,
                loss: 1.5,
                lr: 1e-3,
                momentum: Some(0.850_000_000_000_000_1),
            },
        ];
        let text = steps_csv(&rows);
        assert_eq!(
            text,
            "step,epoch,loss,lr,momentum\n10,1,2,0.00004,0.95\n20,2,1.5,0.001,0.8500000000000001\n"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STEPS_FILE), &text).unwrap();
        assert_eq!(read_rows_before(dir.path(), 3), rows);
        assert_eq!(steps_csv(&read_rows_before(dir.path(), 3)), text);
    }
}
