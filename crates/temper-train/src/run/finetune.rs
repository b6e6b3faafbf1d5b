//! Fine-tuning (`temper train --from RUN_DIR`): a new run that starts from a finished run's
//! weights, trains on new data with a lower learning rate, optionally with some layers frozen
//! and some of the parent's training images replayed to limit forgetting.
//!
//! The new run keeps the parent's input normalization (the weights were trained on inputs
//! scaled that way; refitting on the new data would shift every activation), records the
//! parent in its `config.toml` (`[finetune] from`) and `summary.toml` (`parent`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use burn::optim::OptimizerRecord;
use burn::store::burn_pack::{Reader, Tensor as PackTensor};
use burn::store::{ModuleRecord, ModuleSnapshot};
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use temper_data::bounded::quote;
use temper_data::{ImageData, ImageDataset, Normalization, Split, check_joinable};
use temper_model::pretrained::PretrainedWeights;
use temper_optim::is_under;

use crate::classifier::ImageClassifier;
use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::checkpoint;
use crate::run::run_dir::{
    BEST_MODEL, CONFIG_FILE, LAST_MODEL, SUMMARY_FILE, load_run_config, load_weights, read_pack,
};
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
    /// The parent run directory (finished: it has `summary.toml`); empty when the run starts
    /// from `[model] pretrained` instead, to which the rest of the section then applies.
    #[serde(skip_serializing_if = "is_empty_path")]
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
    /// Start the classifier head afresh even when the new data has as many classes as the
    /// parent's (other classes: ImageClassifier::head_path). A head whose shape differs is
    /// always started afresh.
    pub new_head: bool,
    /// Layer-wise learning-rate decay, in `(0, 1]`: each stage of the network (the stem, each
    /// block, the head; `temper_optim::Stages`) trains at the next stage's rate times this
    /// (BEiT; timm's `layer_decay`, off by default, 0.65-0.75 in BEiT and MAE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_decay: Option<f64>,
    /// Gradual unfreezing (ULMFiT): `{ every = 1 }` trains only the head in the first epoch and
    /// one more stage from the top every `every` epochs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfreeze: Option<UnfreezeSettings>,
    /// BatchNorm during fine-tuning: `train` (default: batch statistics, running statistics
    /// updated) or `frozen` (the running statistics normalize and stay as loaded, as
    /// `bn.eval()` in PyTorch; scale and shift still train unless frozen by pattern).
    #[serde(skip_serializing_if = "BatchNormMode::is_train")]
    pub bn: BatchNormMode,
}

/// `[finetune] unfreeze`: the gradual-unfreezing schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnfreezeSettings {
    /// Epochs between unfreezing one more stage (at least 1).
    pub every: usize,
}

/// `[finetune] bn`: whether BatchNorm layers keep learning their statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchNormMode {
    /// Batch statistics in training, running statistics updated.
    #[default]
    Train,
    /// Running statistics in training too, never updated.
    Frozen,
}

impl BatchNormMode {
    fn is_train(&self) -> bool {
        *self == BatchNormMode::Train
    }
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
            new_head: false,
            layer_decay: None,
            unfreeze: None,
            bn: BatchNormMode::Train,
        }
    }
}

impl FinetuneSection {
    /// Checks the values that need no file.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |key: &str, message: String| {
            Err(TrainError::Config(format!("finetune.{key}: {message}")))
        };
        if self.from.to_str().is_none() {
            // It is saved in the new run's config.toml, which `--resume` reads back: TOML
            // holds text only, so a path that is not UTF-8 could not be found again.
            return bad(
                "from",
                format!(
                    "{} is not valid UTF-8; rename the parent run directory",
                    self.from.display()
                ),
            );
        }
        if !matches!(self.weights.as_str(), "best" | "last") {
            return bad(
                "weights",
                format!(
                    "expected \"best\" or \"last\", got {}",
                    quote(&self.weights)
                ),
            );
        }
        if !(self.lr_factor.is_finite() && self.lr_factor > 0.0) {
            return bad("lr_factor", format!("must be > 0, got {}", self.lr_factor));
        }
        if !(self.replay.is_finite() && (0.0..=10.0).contains(&self.replay)) {
            return bad("replay", format!("must be in [0, 10], got {}", self.replay));
        }
        if let Some(d) = self.layer_decay
            && !(d.is_finite() && d > 0.0 && d <= 1.0)
        {
            return bad("layer_decay", format!("must be in (0, 1], got {d}"));
        }
        if let Some(u) = self.unfreeze
            && !(1..=crate::config::experiment::MAX_EPOCHS).contains(&u.every)
        {
            return bad(
                "unfreeze.every",
                format!(
                    "must be in 1..={}, got {}",
                    crate::config::experiment::MAX_EPOCHS,
                    u.every
                ),
            );
        }
        Ok(())
    }
}

fn is_empty_path(path: &Path) -> bool {
    path.as_os_str().is_empty()
}

impl FinetuneSection {
    /// The parent run directory, unless the run starts from `[model] pretrained`.
    pub fn parent(&self) -> Option<&Path> {
        (!self.from.as_os_str().is_empty()).then_some(self.from.as_path())
    }
}

/// What a fine-tuning run takes from its parent.
pub struct Parent {
    pub dir: PathBuf,
    pub experiment: Experiment,
    pub weights: ModuleRecord,
    /// The checkpoint `weights` was read from.
    pub weights_path: PathBuf,
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
        let normalization = read_normalization(dir)?.ok_or_else(|| {
            parent_err(dir, format!("the run has not finished (no {SUMMARY_FILE})"))
        })?;
        let file = if section.weights == "last" {
            LAST_MODEL
        } else {
            BEST_MODEL
        };
        let path = dir.join(file);
        let weights = load_weights(&path).map_err(|e| TrainError::Checkpoint {
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
            experiment: load_run_config(dir)?,
            weights,
            weights_path: path,
            normalization,
            optimizer,
        })
    }

    /// `model` holding the parent's weights, and a message when its classifier head was
    /// started afresh: when `new_head` asks for it, or when only the head's shapes differ (the
    /// new data has another number of classes).
    ///
    /// # Errors
    /// When they do not fit otherwise: the new data needs the parent's image shape.
    pub fn load_weights<M: ImageClassifier>(
        &self,
        model: M,
        new_head: bool,
    ) -> Result<(M, Option<String>), TrainError> {
        if !new_head && let Ok(loaded) = model.clone().try_load_record(self.weights.clone()) {
            return Ok((loaded, None));
        }
        let head = model.head_path();
        let parent = read_pack(&self.weights_path)
            .and_then(|bytes| Reader::from_bytes(bytes).map_err(|e| e.to_string()))
            .and_then(|reader| reader.into_tensors().map_err(|e| e.to_string()))
            .map_err(|e| TrainError::Checkpoint {
                path: self.weights_path.clone(),
                message: e,
            })?;
        let in_head = |path: &str| is_under(path, &head);
        self.check_outside_head(&model, &parent, &in_head)?;
        let body: Vec<PackTensor> = parent.into_iter().filter(|t| !in_head(&t.name)).collect();
        let mut model = model;
        let result = model.apply(body, None, None, false);
        let stray = result.errors.first().map(ToString::to_string).or_else(|| {
            result
                .missing
                .iter()
                .find(|(p, _)| !in_head(p))
                .map(|(p, _)| format!("`{p}` is not in its weights"))
        });
        if let Some(why) = stray {
            return Err(parent_err(&self.dir, why));
        }
        let message =
            format!("a new classifier head `{head}` (its weights stay the parent's elsewhere)");
        Ok((model, Some(message)))
    }

    /// Refuses parent weights that differ from `model`'s outside the head, naming the first
    /// tensor and both shapes.
    fn check_outside_head<M: ImageClassifier>(
        &self,
        model: &M,
        parent: &[PackTensor],
        in_head: &dyn Fn(&str) -> bool,
    ) -> Result<(), TrainError> {
        let shapes: HashMap<&str, &[usize]> = parent
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice()))
            .collect();
        for ours in model.collect(None, None, false) {
            if in_head(&ours.name) {
                continue;
            }
            let why = match shapes.get(ours.name.as_str()) {
                None => format!("its weights have no `{}`", ours.name),
                Some(&theirs) if theirs != ours.shape.as_slice() => format!(
                    "its `{}` is {theirs:?}, the model for this data needs {:?} (only the \
                     classifier head may differ: the new data needs the parent's image shape)",
                    ours.name,
                    ours.shape.as_slice()
                ),
                Some(_) => continue,
            };
            return Err(parent_err(&self.dir, why));
        }
        Ok(())
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

/// `model` holding the weights a new run starts from: the `[model] pretrained` file's, or the
/// fine-tuning parent's (a resumed run loads its own instead).
pub(crate) fn starting_weights<M: ImageClassifier>(
    mut model: M,
    finetune: Option<&FinetuneSection>,
    parent: Option<&Parent>,
    pretrained: Option<&PretrainedWeights>,
    progress: &mut dyn Progress,
) -> Result<M, TrainError> {
    if let Some(weights) = pretrained {
        model = weights.apply(model)?;
    }
    if let (Some(section), Some(parent)) = (finetune, parent) {
        let (loaded, head) = parent.load_weights(model, section.new_head)?;
        model = loaded;
        if let Some(head) = head {
            progress.message(&format!("fine-tuning: {head}"));
        }
    }
    Ok(model)
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

/// The normalization a finished run recorded in its `summary.toml`, or `None` when the run
/// has none (it did not finish).
///
/// Read back like user input, since it scales every input of the model: each list non-empty,
/// both of one length, every mean in `[0, 1]` and every standard deviation in `(0, 1]` (a
/// fitted one is at most 0.5, or exactly 1 for a constant channel; a zero or denormal one
/// would divide every pixel into infinity). Its length against the data's channels is
/// [`check_channels`]'s.
pub fn read_normalization(run_dir: &Path) -> Result<Option<Normalization>, TrainError> {
    let path = run_dir.join(SUMMARY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::error::io_err(&path)(e)),
    };
    let bad =
        |key: &str, why: &str| TrainError::Config(format!("{}: {key}: {why}", path.display()));
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| bad("normalization", &e.to_string().replace('\n', " ")))?;
    let floats =
        |key: &str, ok: &dyn Fn(f64) -> bool, range: &str| -> Result<Vec<f32>, TrainError> {
            let values = table
                .get(key)
                .and_then(|v| v.as_array())
                .ok_or_else(|| bad(key, "missing, or not a list of numbers"))?;
            let values: Vec<f64> = values
                .iter()
                .map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(key, "not a list of numbers"))?;
            if values.is_empty() {
                return Err(bad(key, "empty"));
            }
            match values.iter().find(|&&v| !ok(v)) {
                Some(v) => Err(bad(key, &format!("{v} is outside {range}"))),
                None => Ok(values.iter().map(|&v| v as f32).collect()),
            }
        };
    let mean = floats(
        "normalization_mean",
        &|v| (0.0..=1.0).contains(&v),
        "[0, 1]",
    )?;
    let std = floats(
        "normalization_std",
        &|v| (v as f32).is_normal() && v > 0.0 && v <= 1.0,
        "(0, 1]",
    )?;
    if mean.len() != std.len() {
        return Err(bad(
            "normalization_std",
            &format!("{} values for {} means", std.len(), mean.len()),
        ));
    }
    Ok(Some(Normalization { mean, std }))
}

/// Refuses a normalization read from `run_dir` whose length is not the data's `channels`.
pub fn check_channels(
    normalization: &Normalization,
    channels: usize,
    run_dir: &Path,
) -> Result<(), TrainError> {
    if normalization.mean.len() == channels {
        return Ok(());
    }
    Err(TrainError::Config(format!(
        "{}: normalization_mean: {} channels, but the data has {channels}",
        run_dir.join(SUMMARY_FILE).display(),
        normalization.mean.len()
    )))
}
