//! A finished run opened again for scoring, shared by `temper eval` ([`eval_run`]) and
//! `temper monitor` ([`check_drift`]): its experiment, its best-or-last checkpoint loaded into
//! the model its `config.toml` describes, and the normalization it trained with.
//!
//! [`eval_run`]: crate::score::eval_run::eval_run
//! [`check_drift`]: crate::drift::check_drift

use std::path::{Path, PathBuf};

use burn::module::Module;
use temper_data::{DataSplits, Normalization};
use temper_model::Classifier;

use crate::config::device::{DeviceChoice, SelectedDevice, select_device};
use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::finetune::{check_channels, read_normalization};
use crate::run::run_dir::{BEST_MODEL, CONFIG_FILE, LAST_MODEL, load_run_config, load_weights};

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
