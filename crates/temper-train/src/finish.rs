//! The end of a run: the kept weights tested, the report and curves drawn, and
//! `summary.toml` written.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use temper_model::Classifier;

use crate::error::TrainError;
use crate::evaluate::evaluate_with_confusion;
use crate::experiment::Experiment;
use crate::metrics::{EpochMetrics, EvalScores};
use crate::report::{TestReport, write_curves};
use crate::run_dir::{SUMMARY_FILE, write_atomic};
use crate::trainer::Progress;

/// What a finished run reports; also written to `summary.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    /// Backend and why it was chosen.
    pub device: String,
    pub train_images: usize,
    pub valid_images: usize,
    pub test_images: usize,
    /// Per-channel normalization fitted on the training split.
    pub normalization_mean: Vec<f32>,
    pub normalization_std: Vec<f32>,
    /// Epochs actually run (fewer than asked when early stopping fired).
    pub epochs_run: usize,
    /// The metric that picks the best epoch (`[early_stopping] monitor`, else the validation
    /// loss, else the training loss).
    pub monitor: String,
    /// Epoch of the `best` checkpoint.
    pub best_epoch: usize,
    /// Why training stopped before its last epoch, when it did.
    pub stop_reason: Option<String>,
    /// Training stopped because the loss became NaN or infinite; the scores are of the
    /// weights kept from before (see `tested_weights`).
    pub diverged: bool,
    /// Epochs this process ran (fewer than `epochs_run` after `--resume`).
    pub epochs_this_process: usize,
    /// The run this one was fine-tuned from (`[finetune] from`).
    pub parent: Option<PathBuf>,
    /// Which weights the test scores are of: `"best epoch N"` (restore-best) or `"last epoch"`.
    pub tested_weights: String,
    /// Scores of those weights on the test split.
    pub test: EvalScores,
    /// Wall time of all epochs and the test pass.
    pub seconds: f64,
    /// Per-class test scores, recall gap and confusion matrix (also in `report.json`).
    #[serde(skip)]
    pub report: TestReport,
    #[serde(skip)]
    pub epochs: Vec<EpochMetrics>,
}

/// What [`finish`] needs of the run's set-up.
pub(crate) struct Finish<'a> {
    pub(crate) exp: &'a Experiment,
    pub(crate) run_dir: &'a Path,
    pub(crate) data: &'a temper_data::DataSplits,
    pub(crate) batcher: &'a temper_data::ImageBatcher,
    pub(crate) eval_device: &'a burn::tensor::Device,
    pub(crate) device_reason: String,
    pub(crate) split: &'a temper_data::Split,
    pub(crate) normalization: &'a temper_data::Normalization,
    pub(crate) monitor: String,
    pub(crate) restore_best: bool,
    pub(crate) best_epoch: Option<usize>,
    pub(crate) started: Instant,
    pub(crate) first_epoch: usize,
    pub(crate) parent: Option<PathBuf>,
}

/// Tests the kept weights and writes the report, the curves and `summary.toml`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    f: Finish<'_>,
    best_model: Option<Classifier>,
    evaluated: Classifier,
    history: Vec<EpochMetrics>,
    stop_reason: Option<String>,
    diverged: bool,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let best_epoch = f.best_epoch.unwrap_or(history.len());
    // Restore-best applies whether or not early stopping fired (unlike Keras, issue #12511).
    let (final_model, tested_weights) = match best_model {
        Some(best) if f.restore_best => (best, format!("best epoch {best_epoch}")),
        _ => (evaluated, format!("last epoch ({})", history.len())),
    };
    progress.message(&format!(
        "testing the {tested_weights} weights on {} images",
        f.data.test.len()
    ));
    let all_test: Vec<usize> = (0..f.data.test.len()).collect();
    let (test, confusion) = evaluate_with_confusion(
        &final_model,
        &f.data.test,
        &all_test,
        f.batcher,
        f.eval_device,
    );
    let report = TestReport::new(test, &confusion, f.data.test.class_names());
    report.write(
        f.run_dir,
        "Test report",
        &format!(
            "{} weights of `{}` on the {} test images of `{}`; device: {}.",
            tested_weights,
            f.run_dir.display(),
            f.data.test.len(),
            f.exp.data.source,
            f.device_reason
        ),
    )?;
    write_curves(f.run_dir, &history)?;
    let summary = RunSummary {
        run_dir: f.run_dir.to_path_buf(),
        device: f.device_reason,
        train_images: f.split.train.len(),
        valid_images: f.split.valid.len(),
        test_images: f.data.test.len(),
        normalization_mean: f.normalization.mean.clone(),
        normalization_std: f.normalization.std.clone(),
        epochs_run: history.len(),
        epochs_this_process: (history.len() + 1).saturating_sub(f.first_epoch),
        parent: f.parent,
        monitor: f.monitor,
        best_epoch,
        stop_reason,
        diverged,
        tested_weights,
        test,
        seconds: f.started.elapsed().as_secs_f64(),
        report,
        epochs: history,
    };
    let text = toml::to_string_pretty(&summary).expect("summary serializes");
    write_atomic(&f.run_dir.join(SUMMARY_FILE), text.as_bytes())?;
    Ok(summary)
}
