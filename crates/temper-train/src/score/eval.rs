//! `temper eval RUN_DIR`: score a saved run's best weights again, on its own data or new data.

use std::path::{Path, PathBuf};

use burn::module::Module;
use temper_data::{DataSplits, ImageBatcher, Normalization};
use temper_model::Classifier;

use crate::config::device::{DeviceChoice, SelectedDevice, select_device};
use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::finetune::{check_channels, read_normalization};
use crate::run::run_dir::{
    BEST_MODEL, CONFIG_FILE, LAST_MODEL, check_run_dir, load_run_config, load_weights,
};
use crate::run::{Progress, load_data};
use crate::score::evaluate::evaluate_with_confusion;
use crate::score::report::TestReport;

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

/// A saved run opened for scoring (`temper eval`, `temper monitor`): its experiment and the
/// checkpoint to load.
pub(crate) struct SavedRun {
    pub dir: PathBuf,
    /// `config.toml`, with the device override applied.
    pub exp: Experiment,
    /// The best checkpoint, or the last when there is no best.
    pub weights: PathBuf,
}

/// A saved run's model, loaded and in validation mode, with what scoring it needs.
pub(crate) struct LoadedModel {
    pub model: Classifier,
    pub device: SelectedDevice,
    /// The normalization the run trained with.
    pub normalization: Normalization,
}

impl SavedRun {
    /// Reads `run_dir`'s `config.toml` (`device` overriding its `[train] device`) and finds its
    /// checkpoint, before any slow loading.
    pub fn open(run_dir: &Path, device: Option<DeviceChoice>) -> Result<Self, TrainError> {
        let config = run_dir.join(CONFIG_FILE);
        if !config.exists() {
            return Err(TrainError::Config(format!(
                "{}: not a temper run directory (no {CONFIG_FILE})",
                run_dir.display()
            )));
        }
        let mut exp = load_run_config(run_dir)?;
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
        Ok(Self {
            dir: run_dir.to_path_buf(),
            exp,
            weights,
        })
    }

    /// Loads the weights into the model `config.toml` describes for `data`'s image shape and
    /// classes, on the chosen device. The normalization comes from `summary.toml`; a run
    /// killed before writing one is refitted on `data`'s training split with the run's split
    /// and seed, which gives the same statistics when `data` is the run's own.
    pub fn load_model(
        &self,
        data: &DataSplits,
        progress: &mut dyn Progress,
    ) -> Result<LoadedModel, TrainError> {
        let plan = self
            .exp
            .model
            .plan(data.test.image_shape(), data.test.num_classes())?;
        let selected = select_device(self.exp.train.device)?;
        progress.message(&format!("device: {}", selected.reason));
        let record = load_weights(&self.weights).map_err(|e| TrainError::Checkpoint {
            path: self.weights.clone(),
            message: e.to_string(),
        })?;
        let model = plan
            .init(&selected.device)
            .try_load_record(record)
            .map_err(|e| TrainError::Checkpoint {
                path: self.weights.clone(),
                message: format!("does not fit the model of {CONFIG_FILE}: {e}"),
            })?
            .valid();
        let normalization = match read_normalization(&self.dir)? {
            Some(n) => {
                check_channels(&n, data.test.image_shape()[0], &self.dir)?;
                n
            }
            None => {
                let split = self.exp.split(data.train.len())?;
                Normalization::fit(&data.train, &split.train)
            }
        };
        Ok(LoadedModel {
            model,
            device: selected,
            normalization,
        })
    }
}
