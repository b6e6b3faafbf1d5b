//! Fine-tuning (`temper train --from RUN_DIR`): a new run that starts from a finished run's
//! weights, trains on new data with a lower learning rate, optionally with some layers frozen
//! and some of the parent's training images replayed to limit forgetting.
//!
//! The new run keeps the parent's input normalization (the weights were trained on inputs
//! scaled that way; refitting on the new data would shift every activation), records the
//! parent in its `config.toml` (`[finetune] from`) and `summary.toml` (`parent`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use temper_data::{ImageData, ImageDataset, Normalization, Split, check_joinable};

use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::checkpoint;
use crate::run::run_dir::{BEST_MODEL, CONFIG_FILE, LAST_MODEL, SUMMARY_FILE};
use crate::run::{Progress, load_data};

/// The learning-rate factor of a fine-tuning run when `lr_factor` is not set: a tenth of the
/// experiment's rate, the usual order of magnitude (Keras' transfer-learning guide goes from
/// 1e-3 to 1e-5 for the last, unfrozen stage; Howard & Ruder's ULMFiT and fastai's
/// `fine_tune` use 1/10 to 1/100 of the training rate for the pretrained body).
pub const DEFAULT_LR_FACTOR: f64 = 0.1;

/// `[finetune]`: set by `temper train --from RUN_DIR` and its flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinetuneSection {
    /// The parent run directory (finished: it has `summary.toml`).
    pub from: PathBuf,
    /// The parent's weights to start from: `best` (default) or `last`.
    pub weights: String,
    /// Parameter path patterns (`*` wildcards, e.g. `"*conv*"`) whose weights stay fixed.
    pub freeze: Vec<String>,
    /// Also start from the parent's optimizer state (Adam's moments, momentum buffers).
    pub resume_optimizer: bool,
    /// Multiplies `optim.lr`. Default [`DEFAULT_LR_FACTOR`].
    pub lr_factor: f64,
    /// Parent training images mixed in per new training image (0 = none; 0.5 adds half as
    /// many old images as new ones), drawn with the seed from the parent's own training split.
    pub replay: f64,
}

impl Default for FinetuneSection {
    fn default() -> Self {
        Self {
            from: PathBuf::new(),
            weights: "best".into(),
            freeze: Vec::new(),
            resume_optimizer: false,
            lr_factor: DEFAULT_LR_FACTOR,
            replay: 0.0,
        }
    }
}

impl FinetuneSection {
    /// Checks the values that need no file.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |key: &str, message: String| {
            Err(TrainError::Config(format!("finetune.{key}: {message}")))
        };
        if self.from.as_os_str().is_empty() {
            return bad("from", "missing: the parent run directory".into());
        }
        if !matches!(self.weights.as_str(), "best" | "last") {
            return bad(
                "weights",
                format!("expected \"best\" or \"last\", got {:?}", self.weights),
            );
        }
        if !(self.lr_factor.is_finite() && self.lr_factor > 0.0) {
            return bad("lr_factor", format!("must be > 0, got {}", self.lr_factor));
        }
        if !(self.replay.is_finite() && (0.0..=10.0).contains(&self.replay)) {
            return bad("replay", format!("must be in [0, 10], got {}", self.replay));
        }
        Ok(())
    }
}

/// What a fine-tuning run takes from its parent.
pub struct Parent {
    pub dir: PathBuf,
    pub experiment: Experiment,
    pub weights: ModuleRecord,
    pub normalization: Normalization,
    pub optimizer: Option<OptimizerRecord>,
}

fn parent_err(dir: &Path, message: impl std::fmt::Display) -> TrainError {
    TrainError::Config(format!("finetune.from {}: {message}", dir.display()))
}

impl Parent {
    /// Opens the finished run `section.from`.
    pub fn open(section: &FinetuneSection) -> Result<Self, TrainError> {
        let dir = &section.from;
        let config = dir.join(CONFIG_FILE);
        if !config.is_file() {
            return Err(parent_err(
                dir,
                format!("not a temper run directory (no {CONFIG_FILE})"),
            ));
        }
        let summary = dir.join(SUMMARY_FILE);
        let text = std::fs::read_to_string(&summary).map_err(|_| {
            parent_err(dir, format!("the run has not finished (no {SUMMARY_FILE})"))
        })?;
        let normalization = normalization_of(&text)
            .ok_or_else(|| parent_err(dir, format!("{SUMMARY_FILE} has no normalization")))?;
        let file = if section.weights == "last" {
            LAST_MODEL
        } else {
            BEST_MODEL
        };
        let path = dir.join(file);
        let weights = ModuleRecord::load(&path).map_err(|e| TrainError::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let optimizer = if section.resume_optimizer {
            let loaded = checkpoint::load(dir)?
                .ok_or_else(|| parent_err(dir, "has no optimizer state to resume"))?;
            Some(loaded.optimizer)
        } else {
            None
        };
        Ok(Self {
            dir: dir.clone(),
            experiment: Experiment::load(&config)?,
            weights,
            normalization,
            optimizer,
        })
    }

    /// `model` holding the parent's weights.
    ///
    /// # Errors
    /// When they do not fit: the new data needs the parent's image shape and classes.
    pub fn load_weights<M: Module>(&self, model: M) -> Result<M, TrainError> {
        model.try_load_record(self.weights.clone()).map_err(|e| {
            parent_err(
                &self.dir,
                format!(
                    "its weights do not fit the model for this data (the new data needs the \
                     parent's image shape and classes): {e}"
                ),
            )
        })
    }

    /// Draws `replay * split.train.len()` images of the parent's training split (seeded) to
    /// train on after the new data's `new.len()` images, and adds their indices
    /// (`new.len()..`) to `split.train` only, so validation and test measure the new data.
    /// Returns the drawn images, or `None` when there are none to replay.
    pub fn replay(
        &self,
        replay: f64,
        seed: u64,
        new: &dyn ImageData,
        split: &mut Split,
        progress: &mut dyn Progress,
    ) -> Result<Option<ImageDataset>, TrainError> {
        let wanted = (replay * split.train.len() as f64).round() as usize;
        if wanted == 0 {
            return Ok(None);
        }
        let source = self.experiment.data.data_source()?;
        progress.message(&format!(
            "loading replay data: {}",
            self.experiment.data.source
        ));
        let old = load_data(&source, progress)?.train;
        check_joinable(new, &old).map_err(|e| {
            parent_err(
                &self.dir,
                format!("its data cannot be replayed with the new data: {e}"),
            )
        })?;
        let old_split = self.experiment.split(old.len())?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let chosen: Vec<usize> = old_split
            .train
            .choose_multiple(&mut rng, wanted.min(old_split.train.len()))
            .copied()
            .collect();
        if chosen.is_empty() {
            return Ok(None);
        }
        let first = new.len();
        split.train.extend(first..first + chosen.len());
        Ok(Some(old.subset(&chosen)))
    }
}

/// A training pool of the new data followed by replayed images of a parent run.
pub(crate) struct Replayed<'a> {
    pub(crate) new: &'a dyn ImageData,
    pub(crate) old: ImageDataset,
}

impl ImageData for Replayed<'_> {
    fn len(&self) -> usize {
        self.new.len() + self.old.len()
    }

    fn image_shape(&self) -> [usize; 3] {
        self.new.image_shape()
    }

    fn num_classes(&self) -> usize {
        self.new.num_classes()
    }

    fn class_names(&self) -> Vec<String> {
        self.new.class_names()
    }

    fn image(&self, index: usize) -> Cow<'_, [u8]> {
        match index.checked_sub(self.new.len()) {
            Some(i) => Cow::Borrowed(self.old.image(i)),
            None => self.new.image(index),
        }
    }

    fn label(&self, index: usize) -> usize {
        match index.checked_sub(self.new.len()) {
            Some(i) => self.old.label(i),
            None => self.new.label(index),
        }
    }
}

/// The normalization a finished run recorded in its `summary.toml`.
pub fn normalization_of(summary: &str) -> Option<Normalization> {
    let table: toml::Table = toml::from_str(summary).ok()?;
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
