//! A training run, from an experiment, a model and data to a run directory.
//!
//! temper runs its own loop rather than burn-train's `Learner`: the later pieces need to act
//! between steps and between epochs with state the `Learner` does not expose — a
//! reduce-on-plateau schedule fed the validation metric, restore-best-weights, EMA weights,
//! hypergradient learning rates — and a plain loop lets the statistics of a step stay on the
//! device (read back every few steps, not every step, which matters on a GPU).
//!
//! The loop is generic: any Burn module implementing [`ImageClassifier`] trains on any
//! [`ImageData`]; [`train_model`] is the run's checks and `run`, and `temper train` ([`train`])
//! is the same checks and the same generic `run` with its built-in models and data. A run is a
//! few named steps on two types (`state.rs`): [`Setup`](setup::Setup) holds what is fixed once
//! data and device are ready; `RunState` what each epoch changes — `RunState::start` (fresh,
//! fine-tuned or restored from a resume set), `train_epoch`, `end_epoch` (validation,
//! schedule, early stopping, checkpoints), and `finish`.

pub(crate) mod augment;
pub(crate) mod batches;
pub(crate) mod checkpoint;
mod distill;
pub(crate) mod finetune;
pub(crate) mod finish;
pub(crate) mod loader;
pub(crate) mod lock;
mod mitigate;
mod progress;
mod prune;
mod recipes;
pub(crate) mod run_dir;
mod setup;
pub(crate) mod slim;
mod state;
pub(crate) mod step;
pub(crate) mod steps;

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use temper_data::{DataSplits, ImageData};
use temper_model::pretrained::{PretrainedWeights, check_readable};

use crate::score::inspect_run::append_to_report;

use crate::classifier::ImageClassifier;
use crate::config::experiment::Experiment;
use crate::config::model_section::ModelPlan;
use crate::error::TrainError;
use crate::run::lock::RunLock;
use crate::run::run_dir::{
    CONFIG_FILE, SUMMARY_FILE, check_run_dir, load_run_config, remove_stale_temps,
};

pub use crate::config::data_source::load_data;
pub use crate::config::loading::{LoadedData, open_data, stream_threshold};
pub use finish::RunSummary;
pub use progress::{Progress, Silent};

use setup::Setup;
pub(crate) use setup::fit_normalization;
use state::RunState;

/// The data of a run: the pool the training and validation splits are drawn from (by `[data]
/// valid_fraction` and `limit_train`, seeded), and the test set scored at the end.
#[derive(Clone)]
pub struct TrainData<'a> {
    /// Training images; `[data] valid_fraction` of them are held out for validation.
    pub train: &'a dyn ImageData,
    /// Test images, scored once with the kept weights.
    pub test: &'a dyn ImageData,
    /// What the data is, in words, for the report (e.g. `"bundled"`, `"my-scans v2"`).
    pub name: String,
}

impl<'a> TrainData<'a> {
    /// The two splits of a data set temper loaded, described as `name`.
    pub fn from_splits(splits: &'a DataSplits, name: impl Into<String>) -> Self {
        Self {
            train: &splits.train,
            test: &splits.test,
            name: name.into(),
        }
    }
}

/// Runs `exp` with its built-in `[model]` on its `[data]` and writes the run directory at
/// `run_dir` (which must be new or empty): `temper train`.
pub fn train(
    exp: &Experiment,
    run_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    exp.validate()?;
    check_run_dir(run_dir)?;
    run_built_in(exp, run_dir, Start::New, progress)
}

/// Trains the model `init` builds on `data` with everything `exp` configures — optimizer,
/// penalties, schedule, early stopping, EMA, augmentation, data parallelism, checkpoints — and
/// writes the run directory at `run_dir` (which must be new or empty). `exp`'s `[model]` and
/// `[data] source` are not used: the model and the data are the caller's.
///
/// `init` is called on the training device (and again for the copies a resume or the EMA
/// needs), after the device's RNG is seeded with `[train] seed`, so a run is reproducible.
pub fn train_model<M, F>(
    exp: &Experiment,
    init: F,
    data: TrainData<'_>,
    run_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError>
where
    M: ImageClassifier,
    F: Fn(&Device) -> M,
{
    exp.validate()?;
    check_run_dir(run_dir)?;
    run(exp, run_dir, Start::New, &init, None, data, progress)
}

/// Continues the run in `run_dir` after its last completed epoch, with the experiment saved in
/// its `config.toml` and its built-in model and data (`temper train --resume`). The result
/// equals an uninterrupted run's (see `checkpoint.rs`).
///
/// # Errors
/// When `run_dir` is not a temper run directory, has already finished, or its checkpoint
/// cannot be read.
pub fn resume(run_dir: &Path, progress: &mut dyn Progress) -> Result<RunSummary, TrainError> {
    let (exp, start) = open_resumable(run_dir, progress)?;
    run_built_in(&exp, run_dir, start, progress)
}

/// [`resume`] for a run of [`train_model`]: the same `init` and data must be given again.
pub fn resume_model<M, F>(
    run_dir: &Path,
    init: F,
    data: TrainData<'_>,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError>
where
    M: ImageClassifier,
    F: Fn(&Device) -> M,
{
    let (exp, start) = open_resumable(run_dir, progress)?;
    run(&exp, run_dir, start, &init, None, data, progress)
}

/// Where a run begins; an existing directory's variants carry its lock, taken before it was
/// read.
enum Start {
    /// A new run directory (created and locked once everything is checked).
    New,
    /// The run directory exists, but no epoch completed: start from scratch inside it.
    Again(RunLock),
    /// After the checkpoint's epoch.
    Resume(RunLock, Box<checkpoint::Loaded>),
}

/// [`run`] with `exp`'s `[data]` and its `[model]` planned for that data: `temper train` and
/// `--resume`, through the same generic run as [`train_model`].
fn run_built_in(
    exp: &Experiment,
    run_dir: &Path,
    start: Start,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    if let (Some(path), Start::New | Start::Again(_)) = (&exp.model.pretrained, &start) {
        // Before minutes of loading: the file is read and checked once the data's shape is
        // known.
        check_readable(path)?;
    }
    progress.message(&format!("loading data: {}", exp.data.source));
    let data = open_data(&exp.data, progress)?;
    // `test_fraction > 0` asks for a test split; one that rounds to no image per class (a small
    // folder) is refused rather than trained untested. `test_fraction = 0` trains without one.
    if data.test().is_empty() && exp.data.test_fraction > 0.0 {
        return Err(TrainError::Config(format!(
            "data.test_fraction: {} of the images of `{}` left no test image; raise it, or set \
             it to 0 to train without a test split",
            exp.data.test_fraction, exp.data.source
        )));
    }
    let plan = exp
        .model
        .plan(data.train().image_shape(), data.train().num_classes())?;
    let pretrained = match (&exp.model.pretrained, &start) {
        (Some(path), Start::New | Start::Again(_)) => {
            Some(read_pretrained(exp, path, &plan, progress)?)
        }
        _ => None,
    };
    let shape = (data.train().image_shape(), data.train().num_classes());
    let data = TrainData {
        train: data.train(),
        test: data.test(),
        name: exp.data.source.to_string(),
    };
    let summary = run(
        exp,
        run_dir,
        start,
        &|d: &Device| plan.init(d),
        pretrained.as_ref(),
        data,
        progress,
    )?;
    // A leaner model's report shows what it gained, beside its parent.
    if exp.prune.is_some() || exp.distill.is_some() {
        append_to_report(run_dir, shape, progress)?;
    }
    Ok(summary)
}

/// Reads `[model] pretrained` and checks it against the planned model (built once on the CPU
/// for its names and shapes), before the run directory is created.
fn read_pretrained(
    exp: &Experiment,
    path: &Path,
    plan: &ModelPlan,
    progress: &mut dyn Progress,
) -> Result<PretrainedWeights, TrainError> {
    let model = plan.init(&Device::flex());
    let mut weights = PretrainedWeights::read(path, &model)?;
    if exp.finetune.as_ref().is_some_and(|f| f.new_head) {
        weights = weights.without_head(&model);
    }
    let head = match weights.new_head() {
        Some(h) => format!(
            "; a new classifier head for {} classes (the file's has {})",
            h.classes, h.file_classes
        ),
        None => String::new(),
    };
    progress.message(&format!(
        "pretrained: {} tensors from {}{head}",
        weights.len(),
        path.display()
    ));
    Ok(weights)
}

/// The experiment of an unfinished run directory and where to continue it.
fn open_resumable(
    run_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<(Experiment, Start), TrainError> {
    let config = run_dir.join(CONFIG_FILE);
    let refuse = |why: String| {
        Err(TrainError::Config(format!(
            "--resume {}: {why}",
            run_dir.display()
        )))
    };
    if !run_dir.is_dir() {
        return refuse("no such directory".into());
    }
    if !config.is_file() {
        return refuse(format!("not a temper run directory (no {CONFIG_FILE})"));
    }
    // Before anything is read: a live run may be rewriting it.
    let lock = RunLock::acquire(run_dir)?;
    if run_dir.join(SUMMARY_FILE).exists() {
        return refuse(format!(
            "the run has finished ({SUMMARY_FILE} exists); nothing to resume"
        ));
    }
    let exp = load_run_config(run_dir)?;
    // With the lock held, every temporary in the directory is a dead process's.
    remove_stale_temps(run_dir);
    let start = match checkpoint::load(run_dir)? {
        Some(loaded) if loaded.state.epoch > exp.train.epochs => {
            return Err(TrainError::Checkpoint {
                path: run_dir.join(checkpoint::RESUME_DIR),
                message: format!(
                    "epoch: {} completed, but {CONFIG_FILE} asks for train.epochs = {}",
                    loaded.state.epoch, exp.train.epochs
                ),
            });
        }
        Some(loaded) => {
            progress.message(&format!(
                "resuming {} after epoch {}",
                run_dir.display(),
                loaded.state.epoch
            ));
            Start::Resume(lock, Box::new(loaded))
        }
        None => {
            progress.message(&format!(
                "{}: no epoch had completed; starting it again",
                run_dir.display()
            ));
            Start::Again(lock)
        }
    };
    Ok((exp, start))
}

/// The run itself: prepare, start (or restore), the epochs, finish.
fn run<M: ImageClassifier>(
    exp: &Experiment,
    run_dir: &Path,
    start: Start,
    init: &dyn Fn(&Device) -> M,
    pretrained: Option<&PretrainedWeights>,
    data: TrainData<'_>,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let (setup, parent) = Setup::prepare(exp, run_dir, data, progress)?;
    let mut state = RunState::start(&setup, init, parent, pretrained, start, progress)?;
    let mut upload = setup.upload();
    for epoch in state.epochs_left(&setup) {
        let epoch_started = Instant::now();
        let Some(totals) = state.train_epoch(&setup, &mut upload, epoch, progress)? else {
            break;
        };
        state.end_epoch(&setup, epoch, totals, epoch_started, progress)?;
        if state.stopped() {
            break;
        }
    }
    state.finish(&setup, progress)
}

#[cfg(test)]
pub(crate) mod tests;
