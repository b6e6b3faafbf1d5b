//! The configuration: [`DEFAULT_CONFIG`], the `[train]` table ([`TrainSection`]), the whole
//! file ([`LearnerConfig`]) and its validation, and the metric names a `monitor` key may use
//! ([`Watched`]).

use burn::train::metric::store::Split;
use burn::train::metric::{AccuracyMetric, LossMetric};
use serde::{Deserialize, Serialize};
use temper_optim::{
    EarlyStoppingSettings, GradClipSettings, LearnerEarlyStopping, OptimizerKind,
    OptimizerSettings, RegularizationSettings, ScheduleSettings,
};

use crate::Error;

/// The configuration [`run`](crate::run) starts from when given none: what
/// `cargo run --release -p learner` trains.
pub const DEFAULT_CONFIG: &str = r#"
[train]
epochs = 8
batch_size = 64
seed = 42
limit_train = 5000     # images drawn from MNIST's 60,000 training images
valid_fraction = 0.2   # of those, held out for validation
hidden = 128

[optim]
kind = "sgd"
lr = 0.05
momentum = 0.9
ema = { decay = 0.99 }

[schedule]
kind = "cosine"
interval = "step"
min_lr = 0.001
warmup = { steps = 60, start_factor = 0.1 }
plateau = { monitor = "valid_loss", patience = 1, factor = 0.5 }

[early_stopping]
monitor = "valid_loss"
patience = 3

[regularization]
l2 = 5e-4
"#;

/// The `[train]` table: run length, data and model size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Epochs the Learner is asked for (early stopping may end sooner).
    pub epochs: usize,
    pub batch_size: usize,
    /// Seeds the split, the data loader's shuffle and the weight initialization.
    pub seed: u64,
    /// Images drawn (seeded) from MNIST's training set for training and validation; 0 = all.
    pub limit_train: usize,
    /// Fraction of those held out for validation, in (0, 1).
    pub valid_fraction: f64,
    /// Width of the MLP's hidden layer.
    pub hidden: usize,
}

impl Default for TrainSection {
    fn default() -> Self {
        Self {
            epochs: 8,
            batch_size: 64,
            seed: 42,
            limit_train: 5000,
            valid_fraction: 0.2,
            hidden: 128,
        }
    }
}

/// Everything [`train`](crate::train) reads. The `optim`, `schedule`, `early_stopping` and
/// `regularization` tables are temper-optim's own settings types, so they read exactly like the
/// sections of a temper experiment file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearnerConfig {
    pub train: TrainSection,
    pub optim: OptimizerSettings,
    pub schedule: ScheduleSettings,
    /// Absent: train every epoch (the plateau rule, if any, is still fed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStoppingSettings>,
    pub regularization: RegularizationSettings,
}

impl LearnerConfig {
    /// Parses and validates a TOML text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let config: Self = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// [`DEFAULT_CONFIG`], parsed.
    pub fn example() -> Self {
        Self::from_toml(DEFAULT_CONFIG).expect("the default configuration is valid")
    }

    /// Checks every value, including what the Learner cannot do (see the crate docs).
    pub fn validate(&self) -> Result<(), Error> {
        let t = &self.train;
        if t.epochs == 0 || t.batch_size == 0 || t.hidden == 0 {
            return Err(
                "train.epochs, train.batch_size and train.hidden must be at least 1".into(),
            );
        }
        if !(t.valid_fraction > 0.0 && t.valid_fraction < 1.0) {
            return Err(format!(
                "train.valid_fraction must be in (0, 1): the Learner validates every epoch, got {}",
                t.valid_fraction
            )
            .into());
        }
        let optim = self.optim.resolve()?;
        if optim.hypergradient.is_some()
            || matches!(optim.kind, OptimizerKind::SgdHd | OptimizerKind::AdamHd)
        {
            return Err(
                "optim.hypergradient: the Learner owns the learning rate through its \
                        scheduler; use temper's trainer for hypergradient descent"
                    .into(),
            );
        }
        if let Some(GradClipSettings::GlobalNorm(_)) = optim.clip {
            return Err(
                "optim.clip.global_norm: the Learner steps the optimizer right after \
                        backward; use per-tensor `norm` or `value` clipping here"
                    .into(),
            );
        }
        self.regularization.validate()?;
        if let Some(p) = self.schedule.plateau_settings() {
            Watched::parse(&p.monitor, "schedule.plateau.monitor")?;
        }
        if let Some(es) = &self.early_stopping {
            es.validate()?;
            Watched::parse(&es.monitor, "early_stopping.monitor")?;
        }
        Ok(())
    }
}

/// A metric the Learner records each epoch, by the temper name a `monitor` key uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// burn-train's `Loss` (mean cross-entropy; the L2 penalty is not part of it).
    Loss,
    /// burn-train's `Accuracy`, in percent.
    Accuracy,
}

impl Watched {
    /// `valid_loss` → (`Loss`, valid), `train_accuracy` → (`Accuracy`, train), ...
    pub fn parse(monitor: &str, key: &str) -> Result<(Watched, Split), Error> {
        let parsed = monitor.split_once('_').and_then(|(split, metric)| {
            let split = match split {
                "train" => Split::Train,
                "valid" => Split::Valid,
                _ => return None,
            };
            let metric = match metric {
                "loss" => Watched::Loss,
                "accuracy" => Watched::Accuracy,
                _ => return None,
            };
            Some((metric, split))
        });
        parsed.ok_or_else(|| {
            format!(
                "{key} = {monitor:?}: under the Learner this example records train_loss, \
                 valid_loss, train_accuracy and valid_accuracy"
            )
            .into()
        })
    }

    /// burn-train's name for the metric (the key of its event store).
    pub fn burn_name(self) -> &'static str {
        match self {
            Watched::Loss => "Loss",
            Watched::Accuracy => "Accuracy",
        }
    }

    /// temper's early-stopping rule under the Learner, watching this metric of `split`.
    pub(crate) fn early_stopping(
        self,
        split: Split,
        settings: &EarlyStoppingSettings,
    ) -> Result<LearnerEarlyStopping, Error> {
        Ok(match self {
            Watched::Loss => LearnerEarlyStopping::new(&LossMetric::new(), split, settings)?,
            Watched::Accuracy => {
                LearnerEarlyStopping::new(&AccuracyMetric::new(), split, settings)?
            }
        })
    }
}
