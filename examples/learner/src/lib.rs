//! temper's pieces inside burn-train's [`Learner`]: a user who keeps Burn's own training loop
//! and adds temper-optim's learning-rate schedule, early stopping with restore-best, an L2
//! penalty and an EMA of the weights.
//!
//! The model is a small MLP of this crate ([`Net`], 784 → hidden → 10) trained on a subset of
//! the MNIST copy bundled with temper ([`temper_data::bundled_mnist`]) on the flex (CPU)
//! backend. [`run`] does everything from a [`LearnerConfig`] (the same `[optim]`,
//! `[schedule]`, `[early_stopping]` and `[regularization]` tables as a temper experiment file);
//! [`train`] is the part to copy.
//!
//! # Where each piece plugs in
//!
//! | temper piece | burn-train hook used |
//! |---|---|
//! | [`LrSchedule`] (warmup, cosine, reduce-on-plateau) | `Learner::new(model, optim, schedule)`: it is a Burn `LrScheduler`, asked once per optimizer step |
//! | plateau's monitored metric | no metric-to-scheduler hook: an [`EarlyStoppingStrategy`] ([`EpochEnd`]) reads the epoch's value from the event store and pushes it into the schedule's [`MetricFeed`] |
//! | [`LearnerEarlyStopping`] | `SupervisedTraining::early_stopping` (wrapped by [`EpochEnd`], since there is one slot) |
//! | restore-best | a `CheckpointingStrategy` ([`KeepBestAndLast`]) keeps the best epoch's checkpoint; after `launch`, [`train`] loads it |
//! | L2 penalty ([`RegularizationSettings::penalty`]) | no loss hook: the model's own [`TrainStep::step`] adds `penalty(self)` to the loss before `backward` |
//! | EMA ([`ModelEma`]) | no EMA hook: the model's [`TrainStep::optimize`] (called by the Learner after each backward) runs the optimizer step, then updates the average |
//!
//! What the Learner does **not** let this example do: validate or checkpoint the EMA average
//! (the Learner validates and saves the live weights; the average is returned in
//! [`LearnerRun::ema`] after training), clip gradients by their global norm (`optim.clip =
//! { global_norm = .. }`; per-tensor `value`/`norm` clipping works, inside the optimizer), or
//! hypergradient descent (`optim.hypergradient`, `sgd-hd`, `adam-hd`): [`LearnerConfig::validate`]
//! rejects those. temper's own trainer (`temper train`, `temper_train::train_model`) does all
//! of them.
//!
//! Under the Learner, metric names are burn-train's: `valid_loss` and `valid_accuracy` in
//! `monitor` keys map to its `Loss` and `Accuracy` metrics, and **accuracy is in percent**
//! (burn-train's `AccuracyMetric` reports `100 * correct / n`), so an accuracy threshold
//! (`baseline`, `stopping_threshold`) is written `97.5`, not `0.975`.
//!
//! # Layout
//!
//! `config` holds the TOML configuration and its validation, `data` the MNIST subsets, `model`
//! the network with its `TrainStep` (penalty, EMA) and `InferenceStep`, and `hooks` the
//! burn-train glue (the applied-rate metric, the end-of-epoch hook, the checkpointing
//! strategy); every public item is re-exported here.

mod config;
mod data;
mod hooks;
mod model;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use burn::train::checkpoint::{Checkpointer, FileCheckpointer};
use burn::train::metric::store::Split;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use temper_data::ImageDataset;
use temper_optim::{LearnerEarlyStopping, LrSchedule, MetricFeed, OptimizerSettings};

// Named only by the crate docs' links.
#[cfg(doc)]
use burn::train::{EarlyStoppingStrategy, TrainStep};
#[cfg(doc)]
use temper_optim::{ModelEma, RegularizationSettings};

pub use config::{DEFAULT_CONFIG, LearnerConfig, TrainSection, Watched};
pub use data::ExampleData;
pub use hooks::{AppliedLr, EpochEnd, EpochScores, KeepBestAndLast};
pub use model::{EmaHandle, Net, accuracy};

/// Errors of this example: configuration, data and training failures, as one message each.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A lock that stays usable after a panic elsewhere (the guarded values are plain data).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a [`train`] call produced.
#[derive(Debug)]
pub struct LearnerRun {
    /// The trained model (validation mode): the best epoch's weights when the early-stopping
    /// settings say `restore_best_weights` (the default), else the last epoch's.
    pub model: Net,
    /// The EMA average of the weights after the last step, when `optim.ema` is set.
    pub ema: Option<Net>,
    /// EMA updates made (one per optimizer step).
    pub ema_updates: usize,
    /// The learning rate the Learner applied at each optimizer step.
    pub applied_lr: Vec<f64>,
    /// Each epoch's means from the Learner's event store.
    pub history: Vec<EpochScores>,
    /// Epochs run (fewer than `train.epochs` when early stopping fired).
    pub epochs_run: usize,
    /// Best epoch of the early-stopping monitor, when configured.
    pub best_epoch: Option<usize>,
    /// Whether `model` holds the best epoch's weights loaded from its checkpoint.
    pub restored_best: bool,
    /// Why early stopping fired, if it did.
    pub stop_reason: Option<String>,
}

/// Trains `model` with burn-train's `Learner` on `data`, writing burn-train's logs and
/// checkpoints under `dir`.
///
/// `model` must be made on an autodiff device (e.g. [`Net::new`] on
/// `Device::flex().autodiff()`): the Learner moves it to the autodiff device with
/// `Module::fork`, which keeps a parameter trainable only if it already required gradients.
///
/// The steps, each one a hook of burn-train's API:
/// 1. the optimizer from `[optim]` (temper's PyTorch-default presets) and the [`LrSchedule`]
///    from `[schedule]`, built for `epochs × steps_per_epoch` steps, go to `Learner::new`;
/// 2. the L2 penalty and the EMA ride on the model ([`Net::with_regularization`],
///    [`Net::with_ema`]);
/// 3. [`EpochEnd`] feeds the plateau rule and wraps [`LearnerEarlyStopping`];
/// 4. with early stopping and `restore_best_weights`, [`KeepBestAndLast`] keeps the best
///    epoch's checkpoint, which is loaded back after `launch`.
pub fn train(
    config: &LearnerConfig,
    data: &ExampleData,
    model: Net,
    dir: &Path,
) -> Result<LearnerRun, Error> {
    config.validate()?;
    if !model.devices().iter().all(Device::is_autodiff) {
        return Err("the model must be made on an autodiff device, e.g. \
                    `Device::flex().autodiff()`; its parameters would not be trained"
            .into());
    }
    let steps_per_epoch = data.steps_per_epoch(config.train.batch_size);

    // 1. Optimizer and schedule.
    let optim_settings = config.optim.resolve()?;
    let optim = optim_settings.init()?;
    let schedule = schedule(config, &optim_settings, steps_per_epoch)?;
    let plateau = plateau(config, &schedule)?;

    // 2. Penalty and EMA on the model.
    let model = with_penalty_and_ema(model, config, &optim_settings)?;
    let ema_handle = model.ema.clone();

    // 3. Early stopping, behind the end-of-epoch hook.
    let early = early_stopping(config)?;
    let epoch_end = EpochEnd::new(plateau, early.clone());
    let applied = AppliedLr::default();
    let mut training = supervised_training(config, data, dir, &applied, &epoch_end);

    // 4. Restore-best: keep the best epoch's checkpoint.
    let restore = config
        .early_stopping
        .as_ref()
        .is_some_and(|es| es.restore_best_weights);
    if let (true, Some(early)) = (restore, &early) {
        training = training
            .with_default_checkpointers()
            .with_checkpointing_strategy(KeepBestAndLast::new(early.clone()));
    }

    let result = training.launch(Learner::new(model, optim, schedule));
    if let Some(error) = result.error {
        return Err(format!("training failed: {error}").into());
    }

    let best_epoch = early.as_ref().and_then(|e| e.state().best_epoch());
    let (model, restored_best) = restore_best(result.model, dir, restore, best_epoch)?;
    let (ema, ema_updates) = match ema_handle.average() {
        Some((ema, updates)) => (Some(ema), updates),
        None => (None, 0),
    };
    let history = epoch_end.history();
    Ok(LearnerRun {
        model,
        ema,
        ema_updates,
        applied_lr: applied.values(),
        epochs_run: history.len(),
        history,
        best_epoch,
        restored_best,
        stop_reason: early.and_then(|e| e.state().stop_reason().map(|r| r.to_string())),
    })
}

/// Step 1 of [`train`]: the [`LrSchedule`] from `[schedule]`, built for `epochs ×
/// steps_per_epoch` steps from the optimizer's rate.
fn schedule(
    config: &LearnerConfig,
    optim_settings: &OptimizerSettings,
    steps_per_epoch: usize,
) -> Result<LrSchedule, Error> {
    Ok(LrSchedule::new(
        &config.schedule,
        optim_settings.learning_rate(),
        config.train.epochs,
        steps_per_epoch,
    )?)
}

/// Step 1 of [`train`], continued: when the schedule has a plateau rule, the schedule's feed
/// with the metric that rule monitors (what [`EpochEnd`] pushes each epoch).
fn plateau(
    config: &LearnerConfig,
    schedule: &LrSchedule,
) -> Result<Option<(MetricFeed, Watched, Split)>, Error> {
    Ok(match config.schedule.plateau_settings() {
        Some(p) => {
            let (metric, split) = Watched::parse(&p.monitor, "schedule.plateau.monitor")?;
            Some((schedule.feed(), metric, split))
        }
        None => None,
    })
}

/// Step 2 of [`train`]: the L2 penalty from `[regularization]` (its patterns checked against
/// the model) and, when `optim.ema` is set, the EMA, both riding on the model.
fn with_penalty_and_ema(
    model: Net,
    config: &LearnerConfig,
    optim_settings: &OptimizerSettings,
) -> Result<Net, Error> {
    let mut model = model.with_regularization(config.regularization.clone());
    config.regularization.check_patterns(&model)?;
    if let Some(ema) = &optim_settings.ema {
        model = model.with_ema(ema)?;
    }
    Ok(model)
}

/// Step 3 of [`train`]: temper's early-stopping rule from `[early_stopping]`, if any.
fn early_stopping(config: &LearnerConfig) -> Result<Option<LearnerEarlyStopping>, Error> {
    Ok(match &config.early_stopping {
        Some(es) => {
            let (metric, split) = Watched::parse(&es.monitor, "early_stopping.monitor")?;
            Some(metric.early_stopping(split, es)?)
        }
        None => None,
    })
}

/// burn-train's run as [`train`] configures it before restore-best: the shuffled training and
/// the validation data loaders, `train.epochs` epochs, the loss and accuracy metrics, the
/// applied-rate metric and the end-of-epoch hook, without burn-train's application log.
fn supervised_training(
    config: &LearnerConfig,
    data: &ExampleData,
    dir: &Path,
    applied: &AppliedLr,
    epoch_end: &EpochEnd,
) -> SupervisedTraining<Net> {
    let t = &config.train;
    let loader = |dataset: &ImageDataset, shuffle: bool| {
        let builder = DataLoaderBuilder::new(data.batcher.clone()).batch_size(t.batch_size);
        let builder = if shuffle {
            builder.shuffle(t.seed)
        } else {
            builder
        };
        builder.build(dataset.clone())
    };
    SupervisedTraining::new(dir, loader(&data.train, true), loader(&data.valid, false))
        .num_epochs(t.epochs)
        .metrics((LossMetric::new(), AccuracyMetric::new()))
        .metric_train(applied.clone())
        .early_stopping(epoch_end.clone())
        .with_application_logger(None)
}

/// Step 4 of [`train`], after `launch`: with `restore` and a best epoch, loads that epoch's
/// checkpoint into `model`; returns the model and whether it was restored.
fn restore_best(
    model: Net,
    dir: &Path,
    restore: bool,
    best_epoch: Option<usize>,
) -> Result<(Net, bool), Error> {
    if let (true, Some(best)) = (restore, best_epoch) {
        // burn-train's `with_default_checkpointers` writes `DIR/checkpoint/model-EPOCH.bpk`.
        let checkpoints = FileCheckpointer::new(dir.join("checkpoint"), "model");
        let record: ModuleRecord = checkpoints.restore(best)?;
        return Ok((model.load_record(record), true));
    }
    Ok((model, false))
}

/// The whole example: loads the bundled MNIST, splits it, seeds the flex device, builds a
/// [`Net`] and [`train`]s it into `dir`.
pub fn run(config: &LearnerConfig, dir: &Path) -> Result<LearnerRun, Error> {
    config.validate()?;
    let mnist = temper_data::bundled_mnist()?;
    let data = ExampleData::new(config, &mnist.train)?;
    let device = Device::flex().autodiff();
    device.seed(config.train.seed);
    let model = Net::new(
        data.train.image_shape(),
        config.train.hidden,
        data.train.num_classes(),
        &device,
    );
    train(config, &data, model, dir)
}
