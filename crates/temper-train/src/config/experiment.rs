//! The experiment file: one TOML document that says what to train and how.
//!
//! Every key has a default, so an empty file is valid; an unknown key is an error naming it,
//! its section and its line.
//!
//! Values that size an allocation are bounded before anything is allocated, each with a
//! one-line error naming its key: the file itself ([`MAX_EXPERIMENT_BYTES`], checked from its
//! metadata before it is read), `train.epochs` ([`MAX_EPOCHS`]), `train.batch_size`
//! ([`MAX_BATCH_SIZE`]) and, through temper-model's `limits`, the model's widths, depth and
//! parameter count. A tuning trial's experiment goes through the same [`Experiment::validate`],
//! so a sampled value beyond a bound fails that trial instead of aborting the search (a failed
//! allocation aborts the process and cannot be caught).
//!
//! The copy of an experiment written to disk ([`Experiment::to_toml_string`], the run's
//! `config.toml`) never holds a storage password: `[tune] storage` serializes through
//! [`crate::tune`]'s redaction whatever the writer.

use std::path::Path;

use serde::{Deserialize, Serialize};
use temper_compress::settings::{DistillSettings, PruneSettings};
use temper_optim::{
    EarlyStopping, EarlyStoppingSettings, LrSchedule, OptimizerSettings, RegularizationSettings,
    ScheduleKind, ScheduleSettings,
};

use crate::config::compress_sections;
use crate::config::data_section::DataSection;
use crate::config::device::DeviceChoice;
use crate::config::fairness_section::FairnessSection;
use crate::config::model_section::ModelSection;
use crate::error::{TrainError, io_err};
use crate::score::metrics::{METRIC_NAMES, WORST_GROUP_COLUMN, is_metric};
use temper_data::bounded::{QUOTE_CHARS, clip, quote};
use temper_data::{Split, split_indices};

use crate::run::finetune::FinetuneSection;
use crate::run::run_dir::{CappedRead, read_text_capped};
use crate::tune::TuneSection;
use crate::tune::lr_find::LrFindSection;

/// Largest experiment file read: 1 MiB. A real experiment is a few hundred bytes to a few KB
/// (the fullest example in `config/` is under 2 KB); the file is checked from its metadata
/// before a byte is read, so a mistyped path to a data set or a device file fails at once
/// instead of being parsed as TOML.
pub const MAX_EXPERIMENT_BYTES: u64 = 1 << 20;

/// Most epochs of a run: 100,000. ImageNet recipes run 90 to 600 epochs and small-data ones a
/// few thousand; the run keeps one row of history per epoch, and the schedule multiplies the
/// epochs by the steps per epoch, which must not overflow.
pub const MAX_EPOCHS: usize = 100_000;

/// Largest batch: 65,536 images (2^16), the size of the largest batches in the large-batch
/// literature (LAMB, You et al. 2019). The batch tensor and its gradients scale with it.
pub const MAX_BATCH_SIZE: usize = 1 << 16;

/// Longest message of a configuration error [`Experiment::validate`] returns, in characters:
/// room for a key, a quoted prefix of its value and the values expected.
pub const MAX_CONFIG_ERROR_CHARS: usize = 400;

/// Longest folder path `data.source` may name: 4096 bytes, Linux's `PATH_MAX`, beyond which
/// no system call accepts it; refused up front so the data readers' errors, which name the
/// path, stay short.
pub const MAX_SOURCE_PATH_BYTES: usize = 4096;

/// A whole experiment (`train`; later `tune`, `augment preview`, `schedule plot`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiment {
    /// `[data]`: where the images come from and how they are split.
    pub data: DataSection,
    /// `[model]`: the built-in architecture (not used by `train_model`).
    pub model: ModelSection,
    /// `[optim]`: optimizer, weight decay, clipping, EMA, hypergradient.
    pub optim: OptimizerSettings,
    /// `[regularization]`: L1/L2 penalties added to the loss.
    pub regularization: RegularizationSettings,
    /// `[schedule]`: the learning-rate curve, warmup and plateau rule.
    pub schedule: ScheduleSettings,
    /// Absent: train every epoch. Present (even empty): stop early by its rules.
    pub early_stopping: Option<EarlyStoppingSettings>,
    /// `[train]`: epochs, batch size, seed, device(s).
    pub train: TrainSection,
    /// Image augmentation of the training batches (temper-augment's `AugmentSettings`: `ops`,
    /// `policy`, ...), kept as written so the run's `config.toml` echoes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<toml::Table>,
    /// `temper tune`'s search; ignored by `temper train`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tune: Option<TuneSection>,
    /// `temper lr-find`'s sweep; ignored by `temper train` and `temper tune`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_find: Option<LrFindSection>,
    /// Start from a finished run's weights (`temper train --from RUN_DIR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finetune: Option<FinetuneSection>,
    /// Bias mitigation between the groups of `[data] groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessSection>,
    /// Magnitude pruning during training, or the channels `temper prune` removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneSettings>,
    /// Knowledge distillation from a finished run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distill: Option<DistillSettings>,
}

/// `[train]`: the loop itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Passes over the training split (default 2).
    pub epochs: usize,
    /// Images per optimizer step (default 128).
    pub batch_size: usize,
    /// Seeds the split, the shuffles, the initial weights, dropout and augmentation (default 42).
    pub seed: u64,
    /// `auto` (default), `wgpu`, `flex` or `ndarray`.
    pub device: DeviceChoice,
    /// Data parallelism over several devices (`["wgpu:0", "wgpu:1"]`; see
    /// [`select_devices`](crate::select_devices)): each batch is split across them and the
    /// gradients summed on the first. Empty: the one `device`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
}

impl Default for TrainSection {
    fn default() -> Self {
        // Two epochs of the reference CNN with Adam and a cosine schedule reach >= 98% test
        // accuracy on MNIST (measured figures in README.md).
        Self {
            epochs: 2,
            batch_size: 128,
            seed: 42,
            device: DeviceChoice::Auto,
            devices: Vec::new(),
        }
    }
}

impl Experiment {
    /// Parses an experiment from TOML text; `origin` names the source in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, TrainError> {
        toml::from_str(text).map_err(|e| TrainError::Config(describe_toml_error(text, origin, &e)))
    }

    /// Reads and parses an experiment file of at most [`MAX_EXPERIMENT_BYTES`].
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = read_bounded(path)?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Checks every value that can be checked before data is loaded, so a typo fails at once
    /// rather than after minutes of loading. The error is one line of at most
    /// 400 characters (`MAX_CONFIG_ERROR_CHARS`) and a length, whatever the values.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.check().map_err(|e| match e {
            // The sections other modules and crates check (`[augment]`, `[finetune]`) may quote
            // a value whole; this module's own errors already quote through `quote`.
            TrainError::Config(message) => {
                TrainError::Config(clip(&message, MAX_CONFIG_ERROR_CHARS))
            }
            other => other,
        })
    }

    /// [`validate`](Self::validate) before its messages are bounded.
    fn check(&self) -> Result<(), TrainError> {
        self.data.data_source()?;
        self.check_sections()?;
        self.check_devices()?;
        if !(0.0..1.0).contains(&self.data.valid_fraction) {
            return Err(TrainError::Config(format!(
                "data.valid_fraction: must be in [0, 1), got {}",
                self.data.valid_fraction
            )));
        }
        check_count("train.epochs", self.train.epochs, MAX_EPOCHS)?;
        check_count("train.batch_size", self.train.batch_size, MAX_BATCH_SIZE)?;
        let optim = self.optim.resolve()?;
        // Steps per epoch are known once the data is loaded; a generous stand-in checks every
        // parameter that does not depend on it now (one-cycle lengths per epoch, warmup epochs).
        LrSchedule::new(
            &self.schedule,
            optim.learning_rate(),
            self.train.epochs,
            VALIDATION_STEPS_PER_EPOCH,
        )?;
        // PyTorch's OneCycleLR/CyclicLR refuse an optimizer with neither momentum nor beta1.
        if self.schedule.momentum_cycle()?.is_some() {
            optim.check_momentum_cycle()?;
        }
        if optim.hypergradient.is_some()
            && (self.schedule.kind() != ScheduleKind::Constant
                || self.schedule.warmup.is_some()
                || self.schedule.plateau.is_some())
        {
            return Err(TrainError::Config(
                "schedule.kind: hypergradient descent (optim.kind = \"sgd-hd\" / \"adam-hd\" or \
                 optim.hypergradient) sets the learning rate itself; use kind = \"constant\" \
                 without warmup or plateau"
                    .into(),
            ));
        }
        if let Some(watched) = LrSchedule::plateau_monitor(&self.schedule) {
            check_watched(
                "schedule.plateau.monitor",
                &watched,
                self.data.valid_fraction,
            )?;
        }
        self.regularization.validate()?;
        crate::run::augment::parse_augment(self.augment.as_ref())?;
        let watch = self.best_epoch_watch(self.data.valid_fraction > 0.0);
        EarlyStopping::new(&watch)?;
        check_watched(
            "early_stopping.monitor",
            &watch.monitor,
            self.data.valid_fraction,
        )?;
        // The architecture is checked against the shape the data declares here (everything
        // but the size when a folder's images set it), and against the real data once loaded.
        match self.data.declared_shape() {
            Some(shape) => self.model.plan(shape, 10).map(|_| ())?,
            None => self
                .model
                .validate_any_size(self.data.channels.unwrap_or(1), 10)?,
        }
        Ok(())
    }

    /// The optional sections' own checks and how they combine: `[finetune]` with `[model]
    /// pretrained`, `[lr_find]`, `[fairness]` with `[data] groups`, devices and replay.
    fn check_sections(&self) -> Result<(), TrainError> {
        if let Some(section) = &self.finetune {
            section.validate()?;
            match (section.parent(), &self.model.pretrained) {
                (Some(_), Some(_)) => {
                    return Err(TrainError::Config(
                        "model.pretrained: a fine-tuning run starts from its parent's weights \
                         (finetune.from); set one of the two"
                            .into(),
                    ));
                }
                (None, None) => {
                    return Err(TrainError::Config(
                        "finetune.from: missing: the parent run directory (or start from a \
                         file with model.pretrained)"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        if let Some(section) = &self.lr_find {
            section.validate()?;
        }
        if let Some(section) = &self.fairness {
            let replay = self.finetune.as_ref().is_some_and(|f| f.replay > 0.0);
            section.validate(
                self.data.groups.is_some(),
                !self.train.devices.is_empty(),
                replay,
            )?;
        }
        compress_sections::check(self)
    }

    /// `[train] device` or `devices`, and a batch to split across the devices.
    fn check_devices(&self) -> Result<(), TrainError> {
        if !self.train.devices.is_empty() && self.train.device != DeviceChoice::Auto {
            return Err(TrainError::Config(
                "train.devices: set either `device` or `devices`, not both".into(),
            ));
        }
        if self.train.devices.len() > self.train.batch_size {
            return Err(TrainError::Config(format!(
                "train.devices: {} devices need a batch of at least as many images (batch_size \
                 is {})",
                self.train.devices.len(),
                self.train.batch_size
            )));
        }
        Ok(())
    }

    /// The seeded train/validation split of a training set of `n` images (`[data]
    /// limit_train`, `valid_fraction`, `[train] seed`). Every command that trains or replays a
    /// run splits through here, so they all see the same images; an empty training side is an
    /// error naming `data.limit_train`.
    pub fn split(&self, n: usize) -> Result<Split, TrainError> {
        let split = split_indices(
            n,
            self.data.limit_train,
            self.data.valid_fraction,
            self.train.seed,
        )?;
        if split.train.is_empty() {
            return Err(TrainError::Config(
                "data.limit_train: leaves no training image after the validation split".into(),
            ));
        }
        Ok(split)
    }

    /// The rules that pick the best epoch: `[early_stopping]` when present; otherwise the
    /// validation loss (the training loss without a validation split), never stopping and not
    /// restoring — the `best` checkpoint is still written.
    pub fn best_epoch_watch(&self, has_valid: bool) -> EarlyStoppingSettings {
        match &self.early_stopping {
            Some(settings) => settings.clone(),
            None => EarlyStoppingSettings {
                monitor: if has_valid {
                    "valid_loss"
                } else {
                    "train_loss"
                }
                .into(),
                patience: usize::MAX,
                check_finite: false,
                restore_best_weights: false,
                ..EarlyStoppingSettings::default()
            },
        }
    }

    /// The experiment with every model and optimizer default written out, as saved in a run
    /// directory, so the file states exactly what ran.
    pub fn resolved(&self) -> Result<Self, TrainError> {
        Ok(Self {
            model: self.model.resolved(),
            optim: self.optim.resolve()?,
            ..self.clone()
        })
    }

    /// TOML text of this experiment, as written to a run directory: a `[tune] storage` with a
    /// password comes out redacted (`postgres://user:***@host/db`), so the text is safe to
    /// write and to show.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("an experiment always serializes")
    }
}

/// `value` must be in `1..=max`; `key` names it.
fn check_count(key: &str, value: usize, max: usize) -> Result<(), TrainError> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(TrainError::Config(format!(
            "{key}: must be in 1..={max}, got {value}"
        )))
    }
}

/// The text of an experiment file, refused from its metadata when over
/// [`MAX_EXPERIMENT_BYTES`], and read through a cap in case it grows or is a device whose
/// metadata says nothing (`/dev/zero`).
fn read_bounded(path: &Path) -> Result<String, TrainError> {
    read_text_capped(path, MAX_EXPERIMENT_BYTES).map_err(|why| match why {
        CappedRead::Io(e) => io_err(path)(e),
        CappedRead::Folder => TrainError::Config(format!(
            "{}: is a folder, not an experiment file",
            path.display()
        )),
        CappedRead::TooBig(size) => TrainError::Config(format!(
            "{}: experiment file of {size} bytes; at most {MAX_EXPERIMENT_BYTES} (1 MiB)",
            path.display()
        )),
        CappedRead::Grew => TrainError::Config(format!(
            "{}: experiment file of more than {MAX_EXPERIMENT_BYTES} bytes (1 MiB)",
            path.display()
        )),
        CappedRead::NotUtf8 => TrainError::Config(format!("{}: not UTF-8 text", path.display())),
    })
}

/// Steps per epoch assumed when validating a schedule before the data is loaded.
const VALIDATION_STEPS_PER_EPOCH: usize = 1 << 20;

/// A watched metric (a `monitor` key: early stopping's, the plateau rule's) must exist and, for
/// `valid_*`, have a validation split to come from.
fn check_watched(field: &str, watched: &str, valid_fraction: f64) -> Result<(), TrainError> {
    if !is_metric(watched) {
        return Err(TrainError::Config(format!(
            "{field}: unknown metric {}; expected one of {}, {WORST_GROUP_COLUMN}",
            quote(watched),
            METRIC_NAMES.join(", ")
        )));
    }
    if watched.starts_with("valid_") && valid_fraction == 0.0 {
        return Err(TrainError::Config(format!(
            "{field}: {watched} needs a validation split (data.valid_fraction > 0)"
        )));
    }
    Ok(())
}

/// Characters of a TOML parser message kept in an error: serde quotes the offending value
/// whole (``unknown variant `...` ``), and the value can be anything up to the file's 1 MiB.
const TOML_MESSAGE_CHARS: usize = 200;

/// One line: `FILE:LINE: [section] key: message`, each part bounded, whatever the file holds.
fn describe_toml_error(text: &str, origin: &str, err: &toml::de::Error) -> String {
    let message = clip(err.message().trim(), TOML_MESSAGE_CHARS);
    let Some(span) = err.span() else {
        return format!("{origin}: {message}");
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|s| format!("{} ", clip(s, QUOTE_CHARS)))
        .unwrap_or_default();
    // A bad value's span points at the value: name the key of its line too, unless the
    // message already does (serde's "unknown field `x`").
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let key = text[line_start..]
        .lines()
        .next()
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('[') && !message.contains(&format!("`{k}`")))
        .map(|k| format!("{}: ", clip(k, QUOTE_CHARS)))
        .unwrap_or_default();
    format!("{origin}:{line}: {section}{key}{message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_experiment() {
        let e = Experiment::from_toml_str("", "x.toml").unwrap();
        assert_eq!(e, Experiment::default());
        e.validate().unwrap();
    }

    #[test]
    fn unknown_key_names_file_line_section_and_key() {
        let text = "[train]\nepochs = 1\n\n[optim]\nkind = \"adam\"\nbetaz = [0.9, 0.99]\n";
        let err = Experiment::from_toml_str(text, "exp.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("exp.toml:6: [optim] unknown field `betaz`"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let text = "[early_stopping]\npatience = -1\n";
        let err = Experiment::from_toml_str(text, "e.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("e.toml:2: [early_stopping] patience: invalid value: integer `-1`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_section_is_an_error() {
        let err = Experiment::from_toml_str("[trian]\nepochs = 1\n", "e.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `trian`"), "{err}");
    }

    #[test]
    fn resolved_config_round_trips() {
        let text = "[model]\nkind = \"mlp\"\nhidden = [64]\ndropout = { p = 0.1 }\n\
                    [optim]\nkind = \"sgd\"\nlr = 0.05\nmomentum = 0.9\n";
        let e = Experiment::from_toml_str(text, "e.toml").unwrap();
        e.validate().unwrap();
        let resolved = e.resolved().unwrap();
        assert_eq!(resolved.optim.dampening, Some(0.0));
        assert_eq!(resolved.model.hidden, Some(vec![64]));
        let cnn = Experiment::default().resolved().unwrap().model;
        assert_eq!(cnn.channels, Some(vec![32, 64]));
        assert_eq!(cnn.dropout.map(|d| d.p), Some(0.25));
        let back = Experiment::from_toml_str(&resolved.to_toml_string(), "again").unwrap();
        assert_eq!(back, resolved);
    }

    #[test]
    fn invalid_values_name_their_key() {
        let bad = |t: &str| {
            Experiment::from_toml_str(t, "e.toml")
                .and_then(|e| e.validate())
                .unwrap_err()
                .to_string()
        };
        assert!(bad("[train]\nepochs = 0\n").starts_with("train.epochs"));
        assert!(bad("[data]\nsource = \"cifar\"\n").starts_with("data.source"));
        assert!(bad("[model]\ndropout = { p = 1.5 }\n").starts_with("model.dropout"));
        assert!(bad("[model]\nkind = \"mlp\"\nchannels = [3]\n").starts_with("model.channels"));
        assert!(bad("[optim]\nlr = -1.0\n").starts_with("optim.lr"));
        assert!(bad("[train]\ndevice = \"tpu\"\n").contains("unknown variant `tpu`"));
        assert!(
            bad("[early_stopping]\nmonitor = \"val_acc\"\n").starts_with("early_stopping.monitor")
        );
        assert!(
            bad("[data]\nvalid_fraction = 0.0\n[early_stopping]\n")
                .contains("needs a validation split")
        );
        assert!(bad("[regularization]\nl1 = -1.0\n").starts_with("regularization.l1"));
        assert!(bad("[optim]\nclip = { global_norm = -1.0 }\n").starts_with("optim.clip"));
    }
}
