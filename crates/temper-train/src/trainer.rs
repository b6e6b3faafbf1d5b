//! The training loop.
//!
//! temper runs its own loop rather than burn-train's `Learner`: the later pieces need to act
//! between steps and between epochs with state the `Learner` does not expose — a
//! reduce-on-plateau schedule fed the validation metric, restore-best-weights, EMA weights,
//! hypergradient learning rates — and a plain loop lets the statistics of a step stay on the
//! device (read back every few steps, not every step, which matters on a GPU). The model still
//! implements burn-train's `TrainStep`/`InferenceStep`, so a Burn user can train it with a
//! `Learner` instead.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::lr_scheduler::LrScheduler;
use burn::module::Module;
use burn::store::ModuleRecord;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use temper_model::Classifier;
use temper_optim::{EarlyStopping, HypergradientState, LrSchedule, ModelEma, freeze};

use crate::augment::{BatchAugmenter, has_image_ops, parse_augment};
use crate::batches::BatchBuilder;
use crate::checkpoint::{self, ResumeSet, ResumeState};
use crate::device::{DeviceChoice, select_device, select_devices};
use crate::error::TrainError;
use crate::evaluate::{StepTotals, evaluate};
use crate::experiment::Experiment;
use crate::finetune::Parent;
use crate::metrics::{EpochMetrics, metrics_csv};
use crate::run_dir::{
    BEST_MODEL, CONFIG_FILE, LAST_MODEL, METRICS_FILE, SUMMARY_FILE, check_run_dir, create_run_dir,
    write_atomic,
};
use crate::step::Stepper;

pub use crate::data_source::load_data;
pub use crate::finish::RunSummary;
use crate::finish::{Finish, finish};

/// Receives what a run is doing, for a progress display. Every method has an empty default.
pub trait Progress {
    /// A one-line status (data loaded, device chosen, ...).
    fn message(&mut self, _text: &str) {}
    /// Training epoch `epoch` (1-based) of `epochs` begins, with `steps` optimizer steps.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// `done` steps of the epoch are finished; `loss` is the running mean when it was read.
    fn step(&mut self, _done: usize, _loss: Option<f64>) {}
    /// Loading a large data set: `done` of `total` files read.
    fn loading(&mut self, _done: usize, _total: usize) {}
    /// The epoch and its validation are finished.
    fn epoch_end(&mut self, _metrics: &EpochMetrics) {}
    /// Asked after each epoch's checkpoints are written; `false` ends training there (a tuning
    /// pruner uses it). The run still tests and writes its summary.
    fn keep_going(&mut self) -> bool {
        true
    }
    /// Tuning: trial `number` starts, `done` of `total` trials being finished; `params` in
    /// `key=value` form.
    fn trial_start(&mut self, _number: u64, _done: usize, _total: usize, _params: &str) {}
    /// Tuning: a trial ended, described in one line.
    fn trial_end(&mut self, _line: &str) {}
}

/// A [`Progress`] that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// How often (in steps) the running loss is read back from the device for display (and
/// checked for NaN).
const READ_EVERY: usize = 10;

/// Runs `exp` and writes its run directory at `run_dir` (which must be new or empty).
pub fn train(
    exp: &Experiment,
    run_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    exp.validate()?;
    check_run_dir(run_dir)?;
    run(exp, run_dir, Start::New, progress)
}

/// Continues the run in `run_dir` after its last completed epoch, with the experiment saved in
/// its `config.toml`. The result equals an uninterrupted run's (see `checkpoint.rs`).
///
/// # Errors
/// When `run_dir` is not a temper run directory, has already finished, or its checkpoint
/// cannot be read.
pub fn resume(run_dir: &Path, progress: &mut dyn Progress) -> Result<RunSummary, TrainError> {
    let config = run_dir.join(CONFIG_FILE);
    if !run_dir.is_dir() {
        return Err(TrainError::Config(format!(
            "--resume {}: no such directory",
            run_dir.display()
        )));
    }
    if !config.is_file() {
        return Err(TrainError::Config(format!(
            "--resume {}: not a temper run directory (no {CONFIG_FILE})",
            run_dir.display()
        )));
    }
    if run_dir.join(SUMMARY_FILE).exists() {
        return Err(TrainError::Config(format!(
            "--resume {}: the run has finished ({SUMMARY_FILE} exists); nothing to resume",
            run_dir.display()
        )));
    }
    let exp = Experiment::load(&config)?;
    exp.validate()?;
    let start = match checkpoint::load(run_dir)? {
        Some(loaded) => {
            progress.message(&format!(
                "resuming {} after epoch {}",
                run_dir.display(),
                loaded.state.epoch
            ));
            Start::Resume(Box::new(loaded))
        }
        None => {
            progress.message(&format!(
                "{}: no epoch had completed; starting it again",
                run_dir.display()
            ));
            Start::Again
        }
    };
    run(&exp, run_dir, start, progress)
}

/// Where [`run`] begins.
enum Start {
    /// A new run directory.
    New,
    /// The run directory exists, but no epoch completed: start from scratch inside it.
    Again,
    /// After the checkpoint's epoch.
    Resume(Box<checkpoint::Loaded>),
}

/// The per-epoch random stream: the shuffle, then the seed of Burn's device RNG (dropout,
/// device-side augmentation noise). Deriving both from `(seed, epoch)` alone is what lets a
/// resumed run draw what an uninterrupted one would.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

fn load_module(
    plan_model: Classifier,
    record: ModuleRecord,
    what: &str,
) -> Result<Classifier, TrainError> {
    plan_model
        .try_load_record(record)
        .map_err(|e| TrainError::Checkpoint {
            path: PathBuf::from(checkpoint::RESUME_DIR),
            message: format!("{what} does not fit the model of {CONFIG_FILE}: {e}"),
        })
}

fn run(
    exp: &Experiment,
    run_dir: &Path,
    start: Start,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let resolved = exp.resolved()?;
    let (seed, batch_size, epochs) = (exp.train.seed, exp.train.batch_size, exp.train.epochs);

    let source = exp.data.data_source()?;
    progress.message(&format!("loading data: {}", exp.data.source));
    let mut data = load_data(&source, progress)?;
    let plan = exp
        .model
        .plan(data.train.image_shape(), data.train.num_classes())?;
    let mut split = exp.split(data.train.len())?;
    let mut parent = match &exp.finetune {
        Some(section) => {
            let parent = Parent::open(section)?;
            let added =
                parent.replay_into(section.replay, seed, &mut data.train, &mut split, progress)?;
            let replay = if added > 0 {
                format!(", replaying {added} of its training images")
            } else {
                String::new()
            };
            progress.message(&format!(
                "fine-tuning from {} ({} weights){replay}",
                parent.dir.display(),
                section.weights,
            ));
            Some(parent)
        }
        None => None,
    };
    let (selected, parallel) = if exp.train.devices.is_empty() {
        (select_device(exp.train.device)?, Vec::new())
    } else {
        let all = select_devices(&exp.train.devices)?;
        let mut selected = all[0].clone();
        selected.reason = format!(
            "data parallel on {} devices: {}",
            all.len(),
            all.iter()
                .map(|d| d.reason.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let parallel: Vec<_> = all.into_iter().map(|d| d.device.autodiff()).collect();
        (selected, parallel)
    };
    progress.message(&format!("device: {}", selected.reason));

    let augment = parse_augment(exp.augment.as_ref())?;
    let augmenter = match &augment {
        Some(settings) if has_image_ops(settings) => {
            Some(BatchAugmenter::new(settings, seed, &data.train)?)
        }
        _ => None,
    };
    let mix = match &augment {
        Some(settings) if settings.uses_soft_targets() => Some(
            settings
                .mix()
                .map_err(|e| TrainError::Config(format!("augment: {e}")))?,
        ),
        _ => None,
    };
    let normalization = match &parent {
        Some(parent) => parent.normalization.clone(),
        None => temper_data::Normalization::fit(&data.train, &split.train),
    };
    let batcher = temper_data::ImageBatcher::new(normalization.clone(), data.train.image_shape());
    let train_device = selected.device.clone().autodiff();
    let eval_device = selected.device.clone();
    let mut batches = BatchBuilder {
        dataset: &data.train,
        batcher: &batcher,
        normalization: &normalization,
        augmenter: augmenter.as_ref(),
        mix: mix.as_ref(),
        device: &train_device,
        seed,
        // The device path pays off where the model runs on a GPU; on a CPU backend the
        // rayon-parallel image path is as fast and exact.
        on_device: selected.backend == DeviceChoice::Wgpu,
    };
    train_device.seed(seed);
    let mut model = plan.init(&train_device);
    let mut optim = resolved.optim.clone();
    let resuming = matches!(start, Start::Resume(_));
    if let (Some(section), Some(parent)) = (&exp.finetune, &parent) {
        optim.lr = Some(optim.learning_rate() * section.lr_factor);
        if !resuming {
            model = model.try_load_record(parent.weights.clone()).map_err(|e| {
                TrainError::Config(format!(
                    "finetune.from {}: its weights do not fit the model for this data (the new \
                     data needs the parent's image shape and classes): {e}",
                    parent.dir.display()
                ))
            })?;
        }
    }
    exp.regularization.check_patterns(&model)?;
    let mut stepper = Stepper::new(&optim, &exp.regularization)?;
    if let Some(record) = parent.as_mut().and_then(|p| p.optimizer.take())
        && !resuming
    {
        stepper.restore(record, None)?;
    }
    let steps_per_epoch = split.train.len().div_ceil(batch_size);
    let mut schedule = LrSchedule::new(
        &exp.schedule,
        optim.learning_rate(),
        epochs,
        steps_per_epoch,
    )?;
    let plateau_monitor = LrSchedule::plateau_monitor(&exp.schedule);
    if let Some(name) = plateau_monitor.as_ref().filter(|m| m.starts_with("valid_"))
        && split.valid.is_empty()
    {
        return Err(TrainError::Config(format!(
            "schedule.plateau.monitor: {name} needs validation images, and the split left none; \
             raise data.valid_fraction or data.limit_train"
        )));
    }
    let watch = exp.best_epoch_watch(!split.valid.is_empty());
    let mut stopper = EarlyStopping::new(&watch)?;

    let mut history: Vec<EpochMetrics> = Vec::with_capacity(epochs);
    let mut best_model: Option<Classifier> = None;
    let mut stop_reason = None;
    let mut first_epoch = 1;
    let mut ema_resume = None;
    match start {
        Start::New => {
            // Only now, with everything checked, touch the file system.
            create_run_dir(run_dir)?;
            write_atomic(
                &run_dir.join(CONFIG_FILE),
                resolved.to_toml_string().as_bytes(),
            )?;
        }
        Start::Again => {}
        Start::Resume(loaded) => {
            let checkpoint::Loaded {
                state,
                model: model_record,
                optimizer,
                schedule: schedule_record,
                ema: ema_record,
                hypergradient_delta,
            } = *loaded;
            model = load_module(model, model_record, "the model")?;
            let delta = match hypergradient_delta {
                Some(record) => Some(load_module(
                    plan.init(&eval_device),
                    record,
                    "the hypergradient state",
                )?),
                None => None,
            };
            let hd = state
                .hypergradient_lr
                .map(|(lr, last_lr)| HypergradientState { lr, last_lr, delta });
            stepper.restore(optimizer, hd.as_ref())?;
            schedule.load_record(schedule_record);
            ema_resume = ema_record.zip(state.ema_step);
            stopper.restore(state.early_stopping);
            if stopper.best_epoch().is_some() && run_dir.join(BEST_MODEL).exists() {
                let record = ModuleRecord::load(run_dir.join(BEST_MODEL)).map_err(|e| {
                    TrainError::Checkpoint {
                        path: run_dir.join(BEST_MODEL),
                        message: e.to_string(),
                    }
                })?;
                best_model = Some(load_module(plan.init(&eval_device), record, "best.bpk")?);
            }
            first_epoch = state.epoch + 1;
            stop_reason = state.stop_reason;
            history = state.history;
        }
    }

    // Frozen flags are not part of a record: apply them after any load.
    if let Some(section) = exp.finetune.as_ref().filter(|s| !s.freeze.is_empty()) {
        let (frozen_model, frozen) = freeze(model, &section.freeze, "finetune.freeze")?;
        model = frozen_model;
        progress.message(&format!("frozen: {}", frozen.join(", ")));
    }
    let mut ema = match &resolved.optim.ema {
        Some(settings) => Some(ModelEma::new(&model, settings)?),
        None => None,
    };
    if let (Some(ema), Some((record, step))) = (ema.as_mut(), ema_resume) {
        ema.restore(
            load_module(plan.init(&eval_device), record, "the EMA average")?,
            step,
        );
    }

    let started = Instant::now();
    let mut diverged = false;
    let mut evaluated = match &ema {
        Some(ema) => ema.ema().clone(),
        None => model.valid(),
    };
    let num_classes = data.train.num_classes();
    let mut order = split.train.clone();
    let last_epoch = if stop_reason.is_some() {
        first_epoch - 1
    } else {
        epochs
    };
    'epochs: for epoch in first_epoch..=last_epoch {
        let epoch_started = Instant::now();
        progress.epoch_start(epoch, epochs, steps_per_epoch);
        let mut rng = epoch_rng(seed, epoch);
        order.clone_from(&split.train);
        order.shuffle(&mut rng);
        train_device.seed(rng.next_u64());
        for device in parallel.iter().skip(1) {
            device.seed(rng.next_u64());
        }

        let mut totals = StepTotals::new(num_classes, &train_device);
        for (step, chunk) in order.chunks(batch_size).enumerate() {
            let lr = schedule.next_lr();
            let (batch, soft) = batches.build(chunk, epoch, step, progress)?;
            let outs;
            (model, outs) = if parallel.len() > 1 {
                stepper.step_parallel(model, batch, soft, lr, &parallel)
            } else {
                let (model, out) = match soft {
                    Some(soft) => stepper.step_soft(model, batch, soft, lr),
                    None => stepper.step(model, batch, lr),
                };
                (model, vec![out])
            };
            if let Some(ema) = ema.as_mut() {
                ema.update(&model)?;
            }
            for out in outs {
                let n = out.targets.dims()[0];
                totals.add(out.loss, out.output, out.targets, n);
            }

            let done = step + 1;
            let shown =
                (done % READ_EVERY == 0 || done == steps_per_epoch).then(|| totals.mean_loss());
            if let Some(loss) = shown.filter(|l| !l.is_finite()) {
                if history.is_empty() {
                    return Err(TrainError::Diverged {
                        epoch,
                        step: done,
                        loss,
                    });
                }
                let reason = format!(
                    "the training loss became {loss} at epoch {epoch}, step {done}; the \
                     weights of the epochs before are kept (lower optim.lr?)"
                );
                progress.message(&format!("stopped: {reason}"));
                stop_reason = Some(format!("diverged: {reason}"));
                diverged = true;
                break 'epochs;
            }
            progress.step(done, shown);
        }
        let (train_scores, _) = totals.read();
        // With EMA on, the average is the model that is validated, kept and saved.
        evaluated = match &ema {
            Some(ema) => ema.ema().clone(),
            None => model.valid(),
        };
        let valid = (!split.valid.is_empty()).then(|| {
            evaluate(
                &evaluated,
                &data.train,
                &split.valid,
                &batcher,
                &eval_device,
            )
        });
        let metrics = EpochMetrics {
            epoch,
            train: train_scores,
            valid,
            lr: stepper.hypergradient_lr().unwrap_or(schedule.current()),
            seconds: epoch_started.elapsed().as_secs_f64(),
        };
        progress.epoch_end(&metrics);
        let monitored = metrics
            .metric(&watch.monitor)
            .expect("the monitor was validated against the splits");
        if let Some(name) = &plateau_monitor {
            let value = metrics
                .metric(name)
                .expect("the plateau monitor was validated against the splits");
            if schedule.observe(value) {
                progress.message(&format!(
                    "epoch {epoch}: {name} has plateaued, learning rate reduced to {:.3e}",
                    schedule.lr_at(schedule.iteration())
                ));
            }
        }
        history.push(metrics);
        write_atomic(
            &run_dir.join(METRICS_FILE),
            metrics_csv(&history).as_bytes(),
        )?;

        let update = stopper.update(epoch, monitored);
        let model_bytes = checkpoint::model_bytes(evaluated.clone(), &run_dir.join(LAST_MODEL))?;
        if update.improved {
            best_model = Some(evaluated.clone());
            write_atomic(&run_dir.join(BEST_MODEL), &model_bytes)?;
        }
        write_atomic(&run_dir.join(LAST_MODEL), &model_bytes)?;
        if let Some(reason) = update.stop {
            progress.message(&format!("early stopping after epoch {epoch}: {reason}"));
            stop_reason = Some(reason.to_string());
        } else if !progress.keep_going() {
            stop_reason = Some(format!("stopped by the caller after epoch {epoch}"));
        }
        let hd = stepper.hypergradient_state(&model.valid());
        checkpoint::save(
            run_dir,
            ResumeSet {
                state: ResumeState {
                    format: checkpoint::FORMAT,
                    epoch,
                    early_stopping: stopper.state(),
                    ema_step: ema.as_ref().map(ModelEma::step),
                    hypergradient_lr: hd.as_ref().map(|h| (h.lr, h.last_lr)),
                    stop_reason: stop_reason.clone(),
                    history: history.clone(),
                },
                model: &model,
                optimizer: stepper.optimizer().to_record(),
                schedule: schedule.to_record(),
                ema: ema.as_ref().map(ModelEma::ema),
                hypergradient_delta: hd.and_then(|h| h.delta),
            },
        )?;
        if stop_reason.is_some() {
            break;
        }
    }

    finish(
        Finish {
            exp,
            run_dir,
            data: &data,
            batcher: &batcher,
            eval_device: &eval_device,
            device_reason: selected.reason,
            split: &split,
            normalization: &normalization,
            monitor: watch.monitor.clone(),
            restore_best: watch.restore_best_weights,
            best_epoch: stopper.best_epoch(),
            started,
            first_epoch,
            parent: parent.map(|p| p.dir),
        },
        best_model,
        evaluated,
        history,
        stop_reason,
        diverged,
        progress,
    )
}
