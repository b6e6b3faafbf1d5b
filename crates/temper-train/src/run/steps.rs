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

use std::path::Path;

/// File name inside a run directory.
pub const STEPS_FILE: &str = "steps.csv";
/// The header line of `steps.csv`.
pub const STEPS_HEADER: &str = "step,epoch,loss,lr";

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
}

/// How many epoch steps apart the rows are: a multiple of the read-back interval `read_every`.
pub fn row_every(read_every: usize, total_steps: usize) -> usize {
    read_every * (total_steps / 20_000).max(1)
}

/// `steps.csv`'s text. Numbers are written in Rust's shortest round-trip form, so a file read
/// back and written again is byte-identical.
pub fn steps_csv(rows: &[StepRow]) -> String {
    let mut out = String::with_capacity(32 * (rows.len() + 1));
    out.push_str(STEPS_HEADER);
    out.push('\n');
    for r in rows {
        out.push_str(&format!("{},{},{},{}\n", r.step, r.epoch, r.loss, r.lr));
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

fn parse_row(line: &str) -> Option<StepRow> {
    let mut fields = line.split(',');
    let row = StepRow {
        step: fields.next()?.parse().ok()?,
        epoch: fields.next()?.parse().ok()?,
        loss: fields.next()?.parse().ok()?,
        lr: fields.next()?.parse().ok()?,
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
            },
            StepRow {
                step: 19,
                epoch: 1,
                loss: 0.1 + 0.2,
                lr: 0.000_999_7,
            },
            StepRow {
                step: 29,
                epoch: 2,
                loss: 1.0,
                lr: 5e-4,
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
}
