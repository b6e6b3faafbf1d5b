//! A finished run opened again for scoring, shared by `temper eval` ([`eval_run`]) and
//! `temper monitor` ([`check_drift`]): its experiment, a checkpoint loaded into the model its
//! `config.toml` describes, and the normalization it trained with.
//!
//! Which checkpoint: `temper eval` scores, by default, the weights the run itself tested
//! (`summary.toml`'s `tested_weights`, see `run/finish.rs`) — `best.bpk` only when the run
//! restored its best epoch — so that "eval reproduces the test scores" holds whichever epoch
//! was best; `--weights best|last` picks one explicitly ([`SavedRun::choose_weights`]).
//!
//! [`eval_run`]: crate::score::eval_run::eval_run
//! [`check_drift`]: crate::drift::check_drift

use std::path::{Path, PathBuf};

use burn::module::Module;
use temper_data::{ImageData, Normalization};

use crate::run::fit_normalization;
use temper_model::Classifier;

use crate::config::device::{DeviceChoice, SelectedDevice, select_device};
use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::finetune::{check_channels, read_normalization};
use crate::run::run_dir::{
    BEST_MODEL, CONFIG_FILE, LAST_MODEL, SUMMARY_FILE, load_run_config, load_weights,
};

/// A saved run opened for scoring (`temper eval`, `temper monitor`): its experiment and the
/// checkpoint to load.
pub(crate) struct SavedRun {
    pub dir: PathBuf,
    /// `config.toml`, with the device override applied.
    pub exp: Experiment,
    /// The best checkpoint, or the last when there is no best; [`choose_weights`] picks
    /// another.
    ///
    /// [`choose_weights`]: SavedRun::choose_weights
    pub weights: PathBuf,
}

/// Which checkpoint of a finished run to score (`temper eval --weights`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalWeights {
    /// `checkpoints/best.bpk`: the weights of the best epoch by the run's watched metric.
    Best,
    /// `checkpoints/last.bpk`: the weights after the last completed epoch (the EMA average
    /// when EMA is on).
    Last,
}

impl std::str::FromStr for EvalWeights {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "best" => Ok(Self::Best),
            "last" => Ok(Self::Last),
            other => Err(format!("expected best or last, got {other:?}")),
        }
    }
}

impl EvalWeights {
    fn file(self) -> &'static str {
        match self {
            Self::Best => BEST_MODEL,
            Self::Last => LAST_MODEL,
        }
    }
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

    /// Points [`weights`](Self::weights) at the checkpoint `choice` names, or, with `None`, at
    /// the one the run tested: `summary.toml`'s `tested_weights` (`"best epoch N"` means
    /// `best.bpk`, anything else `last.bpk`). A run that never finished has no summary; it gets
    /// the weights it would have tested — `best.bpk` under `[early_stopping]
    /// restore_best_weights = true`, else `last.bpk` — so its eval agrees with the test it would
    /// have reported. Returns which weights, in words, for the report.
    pub fn choose_weights(&mut self, choice: Option<EvalWeights>) -> Result<String, TrainError> {
        let (choice, why) = match choice {
            Some(c) => (c, "as asked with --weights".to_string()),
            None => self.tested_weights()?,
        };
        let path = self.dir.join(choice.file());
        if !path.is_file() {
            return Err(TrainError::Config(format!(
                "{}: no {} to evaluate",
                self.dir.display(),
                choice.file()
            )));
        }
        let words = format!("`{}` ({why})", choice.file());
        self.weights = path;
        Ok(words)
    }

    /// The checkpoint the run tested (or would have), and why it is that one.
    fn tested_weights(&self) -> Result<(EvalWeights, String), TrainError> {
        let path = self.dir.join(SUMMARY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let restores = self
                    .exp
                    .early_stopping
                    .as_ref()
                    .is_some_and(|e| e.restore_best_weights);
                let (choice, rule) = if restores {
                    (EvalWeights::Best, "restore_best_weights = true")
                } else {
                    (EvalWeights::Last, "no restore_best_weights")
                };
                return Ok((
                    choice,
                    format!("the run never finished; the weights it would have tested, by {rule}"),
                ));
            }
            Err(e) => return Err(crate::error::io_err(&path)(e)),
        };
        let tested = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("tested_weights")?.as_str().map(str::to_string))
            .ok_or_else(|| {
                TrainError::Config(format!(
                    "{}: tested_weights: missing or not text",
                    path.display()
                ))
            })?;
        let choice = if tested.starts_with("best") {
            EvalWeights::Best
        } else {
            EvalWeights::Last
        };
        Ok((choice, format!("the {tested} weights the run tested")))
    }

    /// The chosen weights in the model `config.toml` describes for images of `shape` and
    /// `classes` classes, on `device`, in validation mode.
    pub fn load_on(
        &self,
        shape: [usize; 3],
        classes: usize,
        device: &burn::tensor::Device,
    ) -> Result<Classifier, TrainError> {
        let plan = self.exp.model.plan(shape, classes)?;
        let record = load_weights(&self.weights).map_err(|e| TrainError::Checkpoint {
            path: self.weights.clone(),
            message: e.to_string(),
        })?;
        Ok(plan
            .init(device)
            .try_load_record(record)
            .map_err(|e| TrainError::Checkpoint {
                path: self.weights.clone(),
                message: format!("does not fit the model of {CONFIG_FILE}: {e}"),
            })?
            .valid())
    }

    /// Loads the weights into the model `config.toml` describes for the image shape and
    /// classes of the data's `(train, test)` splits, on the chosen device. The normalization
    /// comes from `summary.toml`; a run killed before writing one is refitted on `train` with
    /// the run's split and seed, which gives the same statistics when the data is the run's own.
    pub fn load_model(
        &self,
        (train, test): (&dyn ImageData, &dyn ImageData),
        progress: &mut dyn Progress,
    ) -> Result<LoadedModel, TrainError> {
        let selected = select_device(self.exp.train.device)?;
        progress.message(&format!("device: {}", selected.reason));
        let model = self.load_on(test.image_shape(), test.num_classes(), &selected.device)?;
        let normalization = match read_normalization(&self.dir)? {
            Some(n) => {
                check_channels(&n, test.image_shape()[0], &self.dir)?;
                n
            }
            None => {
                let split = self.exp.split(train.len())?;
                fit_normalization(train, &split.train, self.exp.train.seed)?
            }
        };
        Ok(LoadedModel {
            model,
            device: selected,
            normalization,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run directory with both checkpoints (placeholder bytes: nothing here loads them) and,
    /// when given, a `summary.toml` saying which weights were tested.
    fn run_dir(config: &str, tested: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
        for file in [BEST_MODEL, LAST_MODEL] {
            std::fs::write(dir.path().join(file), b"weights").unwrap();
        }
        if let Some(tested) = tested {
            let summary = format!("tested_weights = {tested:?}\n");
            std::fs::write(dir.path().join(SUMMARY_FILE), summary).unwrap();
        }
        dir
    }

    fn chosen(dir: &Path, choice: Option<EvalWeights>) -> (PathBuf, String) {
        let mut saved = SavedRun::open(dir, None).unwrap();
        let words = saved.choose_weights(choice).unwrap();
        (saved.weights, words)
    }

    #[test]
    fn eval_scores_the_weights_the_run_tested_unless_told_otherwise() {
        let dir = run_dir("", Some("last epoch (3)"));
        let (weights, words) = chosen(dir.path(), None);
        assert_eq!(weights, dir.path().join(LAST_MODEL));
        assert!(words.contains("last epoch (3)"), "{words}");
        let (weights, words) = chosen(dir.path(), Some(EvalWeights::Best));
        assert_eq!(weights, dir.path().join(BEST_MODEL));
        assert!(words.contains("--weights"), "{words}");

        let dir = run_dir("", Some("best epoch 2"));
        assert_eq!(chosen(dir.path(), None).0, dir.path().join(BEST_MODEL));
        assert_eq!(
            chosen(dir.path(), Some(EvalWeights::Last)).0,
            dir.path().join(LAST_MODEL)
        );
    }

    #[test]
    fn an_unfinished_run_is_scored_with_the_weights_it_would_have_tested() {
        let dir = run_dir("", None);
        let (weights, words) = chosen(dir.path(), None);
        assert_eq!(weights, dir.path().join(LAST_MODEL));
        assert!(words.contains("never finished"), "{words}");
        let restoring = "[early_stopping]\nmonitor = 'valid_loss'\nrestore_best_weights = true\n";
        let dir = run_dir(restoring, None);
        assert_eq!(chosen(dir.path(), None).0, dir.path().join(BEST_MODEL));
    }

    #[test]
    fn a_missing_checkpoint_asked_for_is_an_error_naming_it() {
        let dir = run_dir("", Some("best epoch 1"));
        std::fs::remove_file(dir.path().join(BEST_MODEL)).unwrap();
        let mut saved = SavedRun::open(dir.path(), None).unwrap();
        let err = saved.choose_weights(None).unwrap_err().to_string();
        assert!(err.contains("best.bpk"), "{err}");
        assert_eq!(
            "mid".parse::<EvalWeights>().unwrap_err(),
            "expected best or last, got \"mid\""
        );
    }
}
