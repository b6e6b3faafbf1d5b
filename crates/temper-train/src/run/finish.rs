//! The end of a run: the kept weights tested, the report and curves drawn, and
//! `summary.toml` written.
//!
//! A run without test images (a caller's empty test set, or a folder data set with
//! `test_fraction = 0`) tests nothing: it writes no `report.md`, `report.json` or confusion
//! matrix — all-zero scores would read as a model that gets everything wrong — and its summary
//! says "no test split" and leaves out the `[test]` table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::Progress;
use super::setup::Setup;
use crate::classifier::ImageClassifier;
use crate::config::loading::kilobytes_field;
use crate::error::TrainError;
use crate::run::run_dir::{SUMMARY_FILE, write_atomic};
use crate::run::steps::StepRow;
use crate::score::confusion::ConfusionMatrix;
use crate::score::html::{run_title, write_report_html};
use crate::score::metrics::{EpochMetrics, EvalScores};
use crate::score::report::{TestReport, write_run_curves};
use crate::score::split_scores::evaluate_noting;

/// What a finished run reports; also written to `summary.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run directory (in `summary.toml` for people to read: a name that is not UTF-8 is
    /// written with U+FFFD in place of its bad bytes; nothing reads it back).
    #[serde(serialize_with = "lossy_path")]
    pub run_dir: PathBuf,
    /// Backend and why it was chosen.
    pub device: String,
    /// Images of the training split (the parent's replayed images included when
    /// fine-tuning with `replay`).
    pub train_images: usize,
    /// Images of the validation split; 0 when `valid_fraction = 0`.
    pub valid_images: usize,
    /// Images of the test split; 0 when there was no test split, and then nothing was tested
    /// (see [`RunSummary::test_scores`]).
    pub test_images: usize,
    /// Per-channel normalization fitted on the training split.
    pub normalization_mean: Vec<f32>,
    /// Per-channel standard deviation of that normalization, in `[0, 1]` pixel units.
    pub normalization_std: Vec<f32>,
    /// Epochs actually run (fewer than asked when early stopping fired).
    pub epochs_run: usize,
    /// The watched metric, the one that picks the best epoch (`[early_stopping] monitor`, else
    /// the validation loss, else the training loss); `monitor` in `summary.toml`.
    #[serde(rename = "monitor")]
    pub watched: String,
    /// Epoch of the `best` checkpoint.
    pub best_epoch: usize,
    /// Why training stopped before its last epoch, when it did.
    pub stop_reason: Option<String>,
    /// Training stopped because the loss became NaN or infinite; the scores are of the
    /// weights kept from before (see `tested_weights`).
    pub diverged: bool,
    /// Epochs this process ran (fewer than `epochs_run` after `--resume`).
    pub epochs_this_process: usize,
    /// The run this one was fine-tuned from (`[finetune] from`, which is UTF-8).
    #[serde(serialize_with = "lossy_optional_path")]
    pub parent: Option<PathBuf>,
    /// Which weights the test scores are of: `"best epoch N"` (restore-best) or `"last epoch
    /// (N)"`; followed by `"; not tested: no test split"` when there was no test split.
    pub tested_weights: String,
    /// Scores of those weights on the test split. **All 0, and meaningless, when there was no
    /// test split** (`test_images == 0`): read them through [`RunSummary::test_scores`].
    #[serde(skip)]
    pub test: EvalScores,
    /// `test` as `summary.toml`'s `[test]` table, absent when there was no test split.
    #[serde(rename = "test", skip_serializing_if = "Option::is_none")]
    test_table: Option<EvalScores>,
    /// Wall time of all epochs and the test pass.
    pub seconds: f64,
    /// Images that could not be read (a streamed folder's corrupt or vanished files), left
    /// out of their batches; each was named in a warning.
    #[serde(skip_serializing_if = "is_zero")]
    pub bad_images: usize,
    /// The process's peak resident memory in bytes (`VmHWM` of `/proc/self/status`), where the
    /// system reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
    /// Per-class test scores, recall gap and confusion matrix (also in `report.json`); all 0
    /// when there was no test split.
    #[serde(skip)]
    pub report: TestReport,
    /// Every epoch's metrics, first to last (the rows of `metrics.csv`).
    #[serde(skip)]
    pub epochs: Vec<EpochMetrics>,
}

impl RunSummary {
    /// The test scores, or `None` when the run had no test split and tested nothing.
    pub fn test_scores(&self) -> Option<&EvalScores> {
        self.test_table.as_ref()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The peak resident set size of this process: `VmHWM` in `/proc/self/status` (Linux).
pub(crate) fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kilobytes_field(&status, "VmHWM:")
}

/// The words `tested_weights` ends with, and the progress says, when nothing was tested.
pub(crate) const NO_TEST_SPLIT: &str = "no test split";

/// What the epochs leave for [`finish`].
pub(super) struct Outcome<M> {
    /// The weights of the best epoch, when one was kept.
    pub best_model: Option<M>,
    /// The last epoch's evaluated weights (the EMA average when EMA is on).
    pub evaluated: M,
    pub history: Vec<EpochMetrics>,
    /// `steps.csv`'s rows, for the per-step loss curve.
    pub steps: Vec<StepRow>,
    pub best_epoch: Option<usize>,
    pub stop_reason: Option<String>,
    pub diverged: bool,
    pub first_epoch: usize,
    pub started: Instant,
}

/// Tests the kept weights and writes the report, the curves and `summary.toml`.
pub(super) fn finish<M: ImageClassifier>(
    setup: &Setup<'_>,
    outcome: Outcome<M>,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let Outcome {
        best_model,
        evaluated,
        history,
        steps,
        best_epoch,
        stop_reason,
        diverged,
        first_epoch,
        started,
    } = outcome;
    let best_epoch = best_epoch.unwrap_or(history.len());
    // Restore-best applies whether or not early stopping fired (unlike Keras, whose
    // `restore_best_weights` only acts when it stops training).
    let (final_model, tested_weights) = match best_model {
        Some(best) if setup.watch.restore_best_weights => {
            (best, format!("best epoch {best_epoch}"))
        }
        _ => (evaluated, format!("last epoch ({})", history.len())),
    };
    let has_test = !setup.data.test.is_empty();
    let (report, tested_weights) = if has_test {
        let report = test_and_report(setup, &final_model, &tested_weights, progress)?;
        (report, tested_weights)
    } else {
        progress.message(&format!(
            "{NO_TEST_SPLIT}: the {tested_weights} weights are kept untested"
        ));
        (
            untested_report(setup),
            format!("{tested_weights}; not tested: {NO_TEST_SPLIT}"),
        )
    };
    write_run_curves(setup.run_dir, &history, &steps)?;
    let summary = RunSummary {
        run_dir: setup.run_dir.to_path_buf(),
        device: setup.selected.reason.clone(),
        train_images: setup.split.train.len(),
        valid_images: setup.split.valid.len(),
        test_images: setup.data.test.len(),
        normalization_mean: setup.normalization.mean.clone(),
        normalization_std: setup.normalization.std.clone(),
        epochs_run: history.len(),
        epochs_this_process: (history.len() + 1).saturating_sub(first_epoch),
        parent: setup
            .exp
            .finetune
            .as_ref()
            .and_then(|f| f.parent())
            .map(Path::to_path_buf),
        watched: setup.watch.monitor.clone(),
        best_epoch,
        stop_reason,
        diverged,
        tested_weights,
        test: report.scores,
        test_table: has_test.then_some(report.scores),
        seconds: started.elapsed().as_secs_f64(),
        bad_images: setup.bad.count(),
        peak_memory_bytes: peak_memory_bytes(),
        report,
        epochs: history,
    };
    let path = setup.run_dir.join(SUMMARY_FILE);
    let text = toml::to_string_pretty(&summary).map_err(|e| TrainError::Checkpoint {
        path: path.clone(),
        message: e.to_string(),
    })?;
    write_atomic(&path, text.as_bytes())?;
    write_report_html(setup.run_dir, &run_title(setup.run_dir), &[])?;
    Ok(summary)
}

/// Scores `model` (the `tested_weights`) on the whole test split and writes `report.md`,
/// `report.json`, `confusion.png` and `confusion.csv`.
fn test_and_report<M: ImageClassifier>(
    setup: &Setup<'_>,
    model: &M,
    tested_weights: &str,
    progress: &mut dyn Progress,
) -> Result<TestReport, TrainError> {
    let test_data = setup.data.test;
    progress.message(&format!(
        "testing the {tested_weights} weights on {} images",
        test_data.len()
    ));
    let all_test: Vec<usize> = (0..test_data.len()).collect();
    let mut predicted = Vec::new();
    let (test, confusion) = evaluate_noting(
        model,
        test_data,
        &all_test,
        &setup.batcher,
        &setup.eval_device,
        &mut |errors| setup.bad.note(errors),
        setup.groups.as_ref().map(|_| &mut predicted),
    );
    setup.bad.warn(progress);
    let mut report = TestReport::new(test, &confusion, &test_data.class_names());
    if let Some(groups) = &setup.groups {
        report.groups = Some(groups.report(test_data, &predicted)?);
    }
    report.write(
        setup.run_dir,
        "Test report",
        &format!(
            "{} weights of `{}` on the {} test images of `{}`; device: {}.",
            tested_weights,
            setup.run_dir.display(),
            test_data.len(),
            setup.data.name,
            setup.selected.reason
        ),
    )?;
    Ok(report)
}

/// The all-zero report of a run with no test split (never written to a file).
fn untested_report(setup: &Setup<'_>) -> TestReport {
    let zero = EvalScores {
        loss: 0.0,
        accuracy: 0.0,
        precision: 0.0,
        recall: 0.0,
        f1: 0.0,
    };
    let classes = setup.data.test.num_classes();
    let names = setup.data.test.class_names();
    TestReport::new(zero, &ConfusionMatrix::new(classes), &names)
}

/// A path as text, its bytes that are not UTF-8 replaced: serde's own `Path` serializer fails
/// on them, which would lose a finished run's summary.
pub(crate) fn lossy_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

fn lossy_optional_path<S: serde::Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => lossy_path(p, s),
        None => s.serialize_none(),
    }
}
