//! `temper eval RUN_DIR`: score a saved run's best weights again, on its own data or new data.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use temper_data::{ImageBatcher, Normalization};

use crate::device::{DeviceChoice, select_device};
use crate::error::TrainError;
use crate::experiment::Experiment;
use crate::report::TestReport;
use crate::run_dir::{BEST_MODEL, CONFIG_FILE, LAST_MODEL, SUMMARY_FILE};
use crate::trainer::{Progress, evaluate_with_confusion, load_data};

/// What `eval_run` scored.
#[derive(Debug, Clone)]
pub struct EvalRun {
    pub report: TestReport,
    /// The checkpoint the weights came from.
    pub weights: PathBuf,
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
    let config = run_dir.join(CONFIG_FILE);
    if !config.exists() {
        return Err(TrainError::Config(format!(
            "{}: not a temper run directory (no {CONFIG_FILE})",
            run_dir.display()
        )));
    }
    let mut exp = Experiment::load(&config)?;
    if let Some(source) = data {
        exp.data.source = source.to_string();
    }
    if let Some(d) = device {
        exp.train.device = d;
    }
    let weights = [BEST_MODEL, LAST_MODEL]
        .iter()
        .map(|f| run_dir.join(f))
        .find(|p| p.exists())
        .ok_or_else(|| {
            TrainError::Config(format!("{}: no checkpoint to evaluate", run_dir.display()))
        })?;
    progress.message(&format!("loading data: {}", exp.data.source));
    let loaded = load_data(&exp.data.data_source()?)?;
    let plan = exp
        .model
        .plan(loaded.test.image_shape(), loaded.test.num_classes())?;
    let selected = select_device(exp.train.device)?;
    progress.message(&format!("device: {}", selected.reason));
    let record = ModuleRecord::load(&weights).map_err(|e| TrainError::Checkpoint {
        path: weights.clone(),
        message: e.to_string(),
    })?;
    let model = plan
        .init(&selected.device)
        .try_load_record(record)
        .map_err(|e| TrainError::Checkpoint {
            path: weights.clone(),
            message: format!("does not fit the model of {CONFIG_FILE}: {e}"),
        })?
        .valid();
    let normalization = match run_normalization(run_dir) {
        Some(n) => n,
        // No summary (the run was killed): the same split and seed give the same statistics.
        None => {
            let split = exp.split(loaded.train.len())?;
            Normalization::fit(&loaded.train, &split.train)
        }
    };
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

/// The normalization the run fitted, from its `summary.toml`.
fn run_normalization(run_dir: &Path) -> Option<Normalization> {
    let text = std::fs::read_to_string(run_dir.join(SUMMARY_FILE)).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let floats = |key: &str| -> Option<Vec<f32>> {
        table
            .get(key)?
            .as_array()?
            .iter()
            .map(|v| v.as_float().map(|f| f as f32))
            .collect()
    };
    Some(Normalization {
        mean: floats("normalization_mean")?,
        std: floats("normalization_std")?,
    })
}
