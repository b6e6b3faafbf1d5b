//! `temper eval RUN_DIR`: score a saved run's best weights again, on its own data or new data.

use std::path::{Path, PathBuf};

use temper_data::ImageBatcher;

use crate::config::device::DeviceChoice;
use crate::error::TrainError;
use crate::run::run_dir::check_run_dir;
use crate::run::{Progress, load_data};
use crate::score::report::TestReport;
use crate::score::saved_run::{LoadedModel, SavedRun};
use crate::score::split_scores::evaluate_with_confusion;

/// What `eval_run` scored.
#[derive(Debug, Clone)]
pub struct EvalRun {
    /// The report of those weights on the test split of the data scored.
    pub report: TestReport,
    /// The checkpoint the weights came from.
    pub weights: PathBuf,
    /// Test images scored.
    pub images: usize,
}

/// Scores `run_dir`'s best checkpoint (its last when there is no best) on the test split of
/// `data` (default: the run's own source), normalized as the run was, and writes `report.md`,
/// `report.json` and `confusion.png` into `out`.
pub fn eval_run(
    run_dir: &Path,
    data: Option<&str>,
    device: Option<DeviceChoice>,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<EvalRun, TrainError> {
    let mut saved = SavedRun::open(run_dir, device)?;
    // Like `train --out`: a report never lands among another run's files.
    check_run_dir(out)?;
    if let Some(source) = data {
        saved.exp.data.source = source.to_string();
    }
    let exp = &saved.exp;
    progress.message(&format!("loading data: {}", exp.data.source));
    let loaded = load_data(&exp.data.data_source()?, progress)?;
    let LoadedModel {
        model,
        device: selected,
        normalization,
    } = saved.load_model(&loaded, progress)?;
    let weights = saved.weights.clone();
    let batcher = ImageBatcher::new(normalization, loaded.test.image_shape());
    let all: Vec<usize> = (0..loaded.test.len()).collect();
    let (scores, confusion) =
        evaluate_with_confusion(&model, &loaded.test, &all, &batcher, &selected.device);
    let report = TestReport::new(scores, &confusion, loaded.test.class_names());
    std::fs::create_dir_all(out).map_err(crate::error::io_err(out))?;
    report.write(
        out,
        "Evaluation report",
        &format!(
            "Weights `{}` on the {} test images of `{}`; device: {}.",
            weights.display(),
            loaded.test.len(),
            exp.data.source,
            selected.reason
        ),
    )?;
    Ok(EvalRun {
        report,
        weights,
        images: loaded.test.len(),
    })
}
