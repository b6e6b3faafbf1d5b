//! The experiment file: one TOML document that says what to train and how.
//!
//! Every key has a default, so an empty file is valid; an unknown key is an error naming it,
//! its section and its line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use temper_optim::{
    EarlyStopping, EarlyStoppingSettings, LrSchedule, OptimizerSettings, RegularizationSettings,
    ScheduleKind, ScheduleSettings,
};

use crate::device::DeviceChoice;
use crate::error::{TrainError, io_err};
use crate::metrics::METRIC_NAMES;
use crate::model_section::ModelSection;
use temper_data::{Split, split_indices};

use crate::tune::TuneSection;

/// A whole experiment (`train`; later `tune`, `augment preview`, `schedule plot`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiment {
    pub data: DataSection,
    pub model: ModelSection,
    pub optim: OptimizerSettings,
    pub regularization: RegularizationSettings,
    pub schedule: ScheduleSettings,
    /// Absent: train every epoch. Present (even empty): stop early by its rules.
    pub early_stopping: Option<EarlyStoppingSettings>,
    pub train: TrainSection,
    /// Image augmentation of the training batches (temper-augment's `AugmentSettings`: `ops`,
    /// `policy`, ...), kept as written so the run's `config.toml` echoes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<toml::Table>,
    /// `temper tune`'s search; ignored by `temper train`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tune: Option<TuneSection>,
}

/// `[data]`: where the images come from and how they are split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// `"bundled"` (MNIST compiled into the binary) or `"mnist:DIR"` (an IDX folder).
    pub source: String,
    /// Fraction of the training images held out for validation, in `[0, 1)`.
    pub valid_fraction: f64,
    /// Use only this many training images (drawn with the seed) before the validation split;
    /// 0 = all.
    pub limit_train: usize,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            source: "bundled".into(),
            valid_fraction: 0.1,
            limit_train: 0,
        }
    }
}

/// Where the data of a run comes from, parsed from `[data] source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    Bundled,
    Mnist(PathBuf),
}

impl DataSection {
    /// Parses `source`.
    pub fn data_source(&self) -> Result<DataSource, TrainError> {
        match self.source.split_once(':') {
            None if self.source == "bundled" => Ok(DataSource::Bundled),
            Some(("mnist", dir)) if !dir.is_empty() => Ok(DataSource::Mnist(dir.into())),
            _ => Err(TrainError::Config(format!(
                "data.source: unknown source {:?}; expected \"bundled\" or \"mnist:DIR\"",
                self.source
            ))),
        }
    }
}

/// `[train]`: the loop itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub device: DeviceChoice,
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
        }
    }
}

impl Experiment {
    /// Parses an experiment from TOML text; `origin` names the source in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, TrainError> {
        toml::from_str(text).map_err(|e| TrainError::Config(describe_toml_error(text, origin, &e)))
    }

    /// Reads and parses an experiment file.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Checks every value that can be checked before data is loaded, so a typo fails at once
    /// rather than after minutes of loading.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.data.data_source()?;
        if !(0.0..1.0).contains(&self.data.valid_fraction) {
            return Err(TrainError::Config(format!(
                "data.valid_fraction: must be in [0, 1), got {}",
                self.data.valid_fraction
            )));
        }
        if self.train.epochs == 0 {
            return Err(TrainError::Config(
                "train.epochs: must be at least 1".into(),
            ));
        }
        if self.train.batch_size == 0 {
            return Err(TrainError::Config(
                "train.batch_size: must be at least 1".into(),
            ));
        }
        let optim = self.optim.resolve()?;
        // Steps per epoch are known once the data is loaded; a generous stand-in checks every
        // parameter that does not depend on it now (one-cycle lengths per epoch, warmup epochs).
        LrSchedule::new(
            &self.schedule,
            optim.learning_rate(),
            self.train.epochs,
            VALIDATION_STEPS_PER_EPOCH,
        )?;
        if optim.hypergradient.is_some()
            && (self.schedule.kind != ScheduleKind::Constant
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
        if let Some(monitor) = LrSchedule::plateau_monitor(&self.schedule) {
            check_monitor(
                "schedule.plateau.monitor",
                &monitor,
                self.data.valid_fraction,
            )?;
        }
        self.regularization.validate()?;
        crate::augment::parse_augment(self.augment.as_ref())?;
        let watch = self.best_epoch_watch(self.data.valid_fraction > 0.0);
        EarlyStopping::new(&watch)?;
        check_monitor(
            "early_stopping.monitor",
            &watch.monitor,
            self.data.valid_fraction,
        )?;
        // The architecture is checked against MNIST's shape here and against the real data
        // once it is loaded.
        self.model.plan([1, 28, 28], 10)?;
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

    /// TOML text of this experiment.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("an experiment always serializes")
    }
}

/// Steps per epoch assumed when validating a schedule before the data is loaded.
const VALIDATION_STEPS_PER_EPOCH: usize = 1 << 20;

/// A monitored metric must exist and, for `valid_*`, have a validation split to come from.
fn check_monitor(field: &str, monitor: &str, valid_fraction: f64) -> Result<(), TrainError> {
    if !METRIC_NAMES.contains(&monitor) {
        return Err(TrainError::Config(format!(
            "{field}: unknown metric {monitor:?}; expected one of {}",
            METRIC_NAMES.join(", ")
        )));
    }
    if monitor.starts_with("valid_") && valid_fraction == 0.0 {
        return Err(TrainError::Config(format!(
            "{field}: {monitor} needs a validation split (data.valid_fraction > 0)"
        )));
    }
    Ok(())
}

/// One line: `FILE:LINE: [section] message`.
fn describe_toml_error(text: &str, origin: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().replace('\n', " ");
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
        .map(|s| format!("{s} "))
        .unwrap_or_default();
    format!("{origin}:{line}: {section}{message}")
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
