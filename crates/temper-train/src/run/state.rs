//! What a run changes as it goes — the model, the optimizer, the schedule, the watchers — and
//! the steps that change it: start, train an epoch, end an epoch, finish.

use std::ops::RangeInclusive;
use std::time::Instant;

use burn::lr_scheduler::LrScheduler;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use temper_model::pretrained::PretrainedWeights;

use crate::run::recipes::{self, Recipes};
use temper_fair::mitigation::GroupDro;
use temper_optim::{EarlyStopping, HypergradientState, LrSchedule, ModelEma, ModelSwa};

use super::finish::{Outcome, finish};
use super::setup::Setup;
use super::{Progress, RunSummary, Start};
use crate::classifier::ImageClassifier;
use crate::error::TrainError;
use crate::run::checkpoint::{self, ResumeSet, ResumeState, SwaState};
use crate::run::finetune::{Parent, starting_weights};
use crate::run::lock::RunLock;
use crate::run::prune::Pruner;
use crate::run::run_dir::{
    BEST_MODEL, CONFIG_FILE, LAST_MODEL, METRICS_FILE, create_run_dir, load_weights, write_atomic,
};
use crate::run::step::Stepper;
use crate::run::steps::{STEPS_FILE, StepRow, read_rows_before, steps_csv};
use crate::score::metrics::{EpochMetrics, metrics_csv};
use crate::score::split_scores::{StepTotals, evaluate_noting};

mod average;
mod epoch;

/// The mutable half of a run.
pub(super) struct RunState<'i, M: ImageClassifier> {
    init: &'i dyn Fn(&Device) -> M,
    /// The weights being trained (autodiff device). Out of its slot only inside a step, which
    /// owns it so the optimizer can update tensors in place.
    model: Option<M>,
    stepper: Stepper,
    schedule: LrSchedule,
    stopper: EarlyStopping,
    ema: Option<ModelEma<M>>,
    /// The model validated, kept and saved: the EMA average when EMA is on, else
    /// `model.valid()`.
    evaluated: M,
    /// The weights of the best epoch so far.
    best_model: Option<M>,
    history: Vec<EpochMetrics>,
    /// `steps.csv`'s rows of the completed epochs.
    steps: Vec<StepRow>,
    /// The rows of the epoch being trained, moved to `steps` when it ends.
    epoch_steps: Vec<StepRow>,
    stop_reason: Option<String>,
    diverged: bool,
    /// The first epoch this process trains (after a resume, the one after the checkpoint).
    first_epoch: usize,
    started: Instant,
    /// The run directory's lock, held until the run returns.
    lock: Option<RunLock>,
    /// Gradual unfreezing, when `[finetune] unfreeze` is set.
    recipes: Option<Recipes>,
    /// Group DRO's weights over the groups, when `[fairness] mitigation = "group-dro"`.
    dro: Option<GroupDro>,
    /// `[prune]`'s schedule and masks, when it prunes during training.
    pruner: Option<Pruner>,
    /// `[optim] swa`'s average (its BatchNorm statistics recomputed after each update).
    swa: Option<ModelSwa<M>>,
    /// The rate SWALR anneals from: the schedule's at the first step of `start_epoch`.
    swa_lr0: Option<f64>,
    /// The rate of the last step SWALR set, for `metrics.csv`.
    swa_lr: Option<f64>,
}

/// The averages and masks a resume set holds, restored once the run's parts exist.
#[derive(Default)]
struct Restored {
    ema: Option<(ModuleRecord, usize)>,
    swa: Option<(ModuleRecord, SwaState)>,
    masks: Option<ModuleRecord>,
}

impl<'i, M: ImageClassifier> RunState<'i, M> {
    /// A new model from `init` (seeded), loaded with the fine-tuning parent's weights or the
    /// resume set's state, and the optimizer, schedule and watchers around it. A new run's
    /// directory and `config.toml` are written here, once everything has been checked.
    pub fn start(
        setup: &Setup<'_>,
        init: &'i dyn Fn(&Device) -> M,
        mut parent: Option<Parent>,
        pretrained: Option<&PretrainedWeights>,
        start: Start,
        progress: &mut dyn Progress,
    ) -> Result<Self, TrainError> {
        let exp = setup.exp;
        setup.train_device.seed(exp.train.seed);
        let mut model = init(&setup.train_device);
        let mut optim = setup.resolved.optim.clone();
        let resuming = matches!(start, Start::Resume(..));
        if !resuming {
            let finetune = exp.finetune.as_ref();
            model = starting_weights(model, finetune, parent.as_ref(), pretrained, progress)?;
        }
        if let Some(section) = &exp.finetune {
            optim.lr = Some(optim.learning_rate() * section.lr_factor);
        }
        exp.regularization.check_patterns(&model)?;
        let schedule = LrSchedule::new(
            &exp.schedule,
            optim.learning_rate(),
            exp.train.epochs,
            setup.steps_per_epoch,
        )?;
        let mut stepper = Stepper::new(&optim, &exp.regularization)?;
        if let Some(teacher) = &setup.teacher {
            stepper.set_teacher(teacher.clone());
        }
        if let Some(first) = schedule.momentum_at(0) {
            stepper.cycle_momentum(first)?;
        }
        if let Some(record) = parent.as_mut().and_then(|p| p.optimizer.take())
            && !resuming
        {
            stepper.restore::<M>(record, None)?;
        }
        let mut state = Self {
            init,
            evaluated: model.valid(),
            model: Some(model),
            stepper,
            schedule,
            stopper: EarlyStopping::new(&setup.watch)?,
            ema: None,
            best_model: None,
            history: Vec::with_capacity(exp.train.epochs),
            steps: Vec::new(),
            epoch_steps: Vec::new(),
            stop_reason: None,
            diverged: false,
            first_epoch: 1,
            started: Instant::now(),
            lock: None,
            recipes: None,
            dro: match &setup.mitigator {
                Some(m) => m.fresh_dro()?,
                None => None,
            },
            pruner: Pruner::of(exp.prune.as_ref()),
            swa: optim.swa.as_ref().map(ModelSwa::new),
            swa_lr0: None,
            swa_lr: None,
        };
        let (lock, restored, resumed) = match start {
            Start::New => {
                // Only now, with everything checked, touch the file system.
                let lock = create_run_dir(setup.run_dir)?;
                write_atomic(
                    &setup.run_dir.join(CONFIG_FILE),
                    setup.resolved.to_toml_string().as_bytes(),
                )?;
                (lock, Restored::default(), false)
            }
            Start::Again(lock) => (lock, Restored::default(), false),
            Start::Resume(lock, loaded) => (lock, state.restore(setup, *loaded)?, true),
        };
        state.lock = Some(lock);
        state.freeze(setup, progress)?;
        state.start_averages(setup, restored.swa, restored.masks, progress)?;
        state.start_ema(setup, restored.ema, progress)?;
        if resumed {
            // A kill after the set was committed can leave these an epoch behind it, and the
            // sets of other epochs in place.
            state.publish(setup, true)?;
            checkpoint::remove_older_sets(setup.run_dir, state.first_epoch - 1);
        }
        state.started = Instant::now();
        Ok(state)
    }

    /// Loads a resume set; returns the averages and masks to restore once their owners exist.
    fn restore(
        &mut self,
        setup: &Setup<'_>,
        loaded: checkpoint::Loaded,
    ) -> Result<Restored, TrainError> {
        let checkpoint::Loaded {
            state,
            model,
            optimizer,
            schedule,
            ema,
            swa,
            prune_masks,
            hypergradient_delta,
            best,
        } = loaded;
        self.model = Some(load_module(self.take_model(), model, "the model")?);
        let delta = match hypergradient_delta {
            Some(record) => Some(self.fresh(setup, record, "the hypergradient state")?),
            None => None,
        };
        let hd = state
            .hypergradient_lr
            .map(|(lr, last_lr)| HypergradientState { lr, last_lr, delta });
        self.stepper.restore(optimizer, hd.as_ref())?;
        self.schedule.load_record(schedule);
        self.stopper.restore(state.early_stopping);
        if let Some(epoch) = self.stopper.best_epoch() {
            let record = match best {
                Some(record) => record,
                // A set of an older temper, written after `checkpoints/best.bpk`.
                None => {
                    let path = setup.run_dir.join(BEST_MODEL);
                    load_weights(&path).map_err(|e| TrainError::Checkpoint {
                        path,
                        message: format!("the weights of best epoch {epoch}: {e}"),
                    })?
                }
            };
            self.best_model = Some(self.fresh(setup, record, "best.bpk")?);
        }
        if let (Some(q), Some(m)) = (state.group_dro, &setup.mitigator) {
            self.dro = m.restore_dro(q)?;
        }
        self.first_epoch = state.epoch + 1;
        self.stop_reason = state.stop_reason;
        self.history = state.history;
        self.steps = read_rows_before(setup.run_dir, self.first_epoch);
        Ok(Restored {
            ema: ema.zip(state.ema_step),
            swa: swa.zip(state.swa),
            masks: prune_masks,
        })
    }

    /// A new model on the evaluation device holding `record`.
    fn fresh(&self, setup: &Setup<'_>, record: ModuleRecord, what: &str) -> Result<M, TrainError> {
        load_module((self.init)(&setup.eval_device), record, what)
    }

    /// `[finetune] freeze`: frozen flags are not part of a record, so they apply after any load.
    fn freeze(&mut self, setup: &Setup<'_>, progress: &mut dyn Progress) -> Result<(), TrainError> {
        let Some(section) = setup.exp.finetune.as_ref() else {
            return Ok(());
        };
        let (model, recipes) =
            recipes::start(section, self.take_model(), &mut self.stepper, progress)?;
        self.model = Some(model);
        self.recipes = recipes;
        Ok(())
    }

    /// The EMA of `[optim] ema`, starting from the current weights or a resume set's average;
    /// warns when its horizon is longer than the run (the saved average would still be
    /// mostly the first weights).
    fn start_ema(
        &mut self,
        setup: &Setup<'_>,
        resumed: Option<(ModuleRecord, usize)>,
        progress: &mut dyn Progress,
    ) -> Result<(), TrainError> {
        if let Some(settings) = &setup.resolved.optim.ema {
            let total_steps = setup.exp.train.epochs * setup.steps_per_epoch;
            if let Some(warning) = settings.horizon_warning(total_steps) {
                progress.message(&warning);
            }
            let mut ema = ModelEma::new(self.model(), settings)?;
            if let Some((record, step)) = resumed {
                ema.restore(self.fresh(setup, record, "the EMA average")?, step);
            }
            self.ema = Some(ema);
        }
        self.evaluated = self.evaluated_model();
        Ok(())
    }

    /// The model that is validated, kept and saved: the SWA average once it has started, the
    /// EMA average when EMA is on, else the weights; pruned by the current masks (an average
    /// of weights from before a pruning step is not yet zero where the masks are).
    fn evaluated_model(&self) -> M {
        let model = match (self.swa.as_ref().and_then(ModelSwa::average), &self.ema) {
            (Some(swa), _) => swa.clone(),
            (None, Some(ema)) => ema.ema().clone(),
            (None, None) => self.model().valid(),
        };
        match &self.pruner {
            Some(pruner) => pruner.apply(model),
            None => model,
        }
    }

    fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("the model is back in its slot after every step")
    }

    fn take_model(&mut self) -> M {
        self.model
            .take()
            .expect("the model is back in its slot after every step")
    }

    /// The epochs still to train: none when a resumed run had already stopped.
    pub fn epochs_left(&self, setup: &Setup<'_>) -> RangeInclusive<usize> {
        let last = if self.stop_reason.is_some() {
            self.first_epoch - 1
        } else {
            setup.exp.train.epochs
        };
        self.first_epoch..=last
    }

    /// Whether training has stopped (early stopping, the caller, or divergence).
    pub fn stopped(&self) -> bool {
        self.stop_reason.is_some()
    }

    /// After an epoch's steps: validation, the plateau rule, `metrics.csv`, early stopping,
    /// the best and last weights and the resume set.
    pub fn end_epoch(
        &mut self,
        setup: &Setup<'_>,
        epoch: usize,
        totals: StepTotals,
        epoch_started: Instant,
        progress: &mut dyn Progress,
    ) -> Result<(), TrainError> {
        self.average_epoch(setup, epoch)?;
        let metrics = self.validate(setup, epoch, &totals, epoch_started);
        setup.bad.warn(progress);
        progress.epoch_end(&metrics);
        let watched = metrics
            .metric(&setup.watch.monitor)
            .expect("the watched metric was validated against the splits");
        self.observe_plateau(setup, &metrics, epoch, progress);
        self.history.push(metrics);
        self.steps.append(&mut self.epoch_steps);
        let improved = self.keep_weights(epoch, watched, progress);
        // The order of `checkpoint.rs`: the set, `latest`, then the published files.
        self.save_resume_set(setup, epoch, improved)?;
        self.publish(setup, improved)?;
        checkpoint::remove_older_sets(setup.run_dir, epoch);
        Ok(())
    }

    /// Writes `metrics.csv`, `steps.csv`, `best.bpk` (when `best_changed`) and `last.bpk` from
    /// the state.
    fn publish(&self, setup: &Setup<'_>, best_changed: bool) -> Result<(), TrainError> {
        write_atomic(
            &setup.run_dir.join(METRICS_FILE),
            metrics_csv(&self.history).as_bytes(),
        )?;
        write_atomic(
            &setup.run_dir.join(STEPS_FILE),
            steps_csv(&self.steps).as_bytes(),
        )?;
        if let Some(best) = self.best_model.as_ref().filter(|_| best_changed) {
            let path = setup.run_dir.join(BEST_MODEL);
            write_atomic(&path, &checkpoint::model_bytes(best.clone(), &path)?)?;
        }
        let last = setup.run_dir.join(LAST_MODEL);
        write_atomic(
            &last,
            &checkpoint::model_bytes(self.evaluated.clone(), &last)?,
        )
    }

    /// The epoch's training scores and the evaluated model's validation scores.
    fn validate(
        &mut self,
        setup: &Setup<'_>,
        epoch: usize,
        totals: &StepTotals,
        epoch_started: Instant,
    ) -> EpochMetrics {
        let (train, _) = totals.read();
        self.evaluated = self.evaluated_model();
        let groups = setup.groups.as_ref();
        let mut predicted = Vec::new();
        let valid = (!setup.split.valid.is_empty()).then(|| {
            evaluate_noting(
                &self.evaluated,
                setup.pool(),
                &setup.split.valid,
                &setup.batcher,
                &setup.eval_device,
                &mut |errors| setup.bad.note(errors),
                groups.map(|_| &mut predicted),
            )
            .0
        });
        let worst_group = groups
            .filter(|_| valid.is_some())
            .and_then(|g| g.worst_train_group_accuracy(setup.pool(), &predicted));
        EpochMetrics {
            epoch,
            train,
            valid,
            valid_worst_group_accuracy: worst_group,
            lr: self
                .stepper
                .hypergradient_lr()
                .or(self.swa_lr)
                .unwrap_or(self.schedule.current()),
            seconds: epoch_started.elapsed().as_secs_f64(),
            momentum: self.schedule.momentum(),
        }
    }

    /// Feeds reduce-on-plateau its metric, when the schedule has the rule.
    fn observe_plateau(
        &mut self,
        setup: &Setup<'_>,
        metrics: &EpochMetrics,
        epoch: usize,
        progress: &mut dyn Progress,
    ) {
        let Some(name) = &setup.plateau_watched else {
            return;
        };
        let value = metrics
            .metric(name)
            .expect("the plateau's watched metric was validated against the splits");
        if self.schedule.observe(value) {
            progress.message(&format!(
                "epoch {epoch}: {name} has plateaued, learning rate reduced to {:.3e}",
                self.schedule.lr_at(self.schedule.iteration())
            ));
        }
    }

    /// Early stopping's verdict on the `watched` metric's value: keeps the evaluated weights as
    /// the best when the epoch improved (returned), and whether to stop (early stopping, or the
    /// caller's `keep_going`). Writes nothing.
    fn keep_weights(&mut self, epoch: usize, watched: f64, progress: &mut dyn Progress) -> bool {
        let update = self.stopper.update(epoch, watched);
        if update.improved {
            self.best_model = Some(self.evaluated.clone());
        }
        if let Some(reason) = update.stop {
            progress.message(&format!("early stopping after epoch {epoch}: {reason}"));
            self.stop_reason = Some(reason.to_string());
        } else if !progress.keep_going() {
            self.stop_reason = Some(format!("stopped by the caller after epoch {epoch}"));
        }
        update.improved
    }

    /// Everything `--resume` needs to continue after `epoch`.
    fn save_resume_set(
        &self,
        setup: &Setup<'_>,
        epoch: usize,
        improved: bool,
    ) -> Result<(), TrainError> {
        let hd = self.stepper.hypergradient_state(&self.model().valid());
        checkpoint::save(
            setup.run_dir,
            ResumeSet {
                state: ResumeState {
                    format: checkpoint::FORMAT,
                    epoch,
                    early_stopping: self.stopper.state(),
                    ema_step: self.ema.as_ref().map(ModelEma::step),
                    hypergradient_lr: hd.as_ref().map(|h| (h.lr, h.last_lr)),
                    group_dro: self.dro.as_ref().map(GroupDro::to_state),
                    swa: self.swa_state(),
                    stop_reason: self.stop_reason.clone(),
                    history: self.history.clone(),
                },
                model: self.model(),
                optimizer: self.stepper.optimizer().to_record(),
                schedule: self.schedule.to_record(),
                ema: self.ema.as_ref().map(ModelEma::ema),
                swa: self.swa.as_ref().and_then(ModelSwa::average),
                prune_masks: self.mask_record(),
                hypergradient_delta: hd.and_then(|h| h.delta),
                best: self.best_model.as_ref().map(|best| (best, improved)),
            },
        )
    }

    /// Tests the kept weights and writes the report, the curves and `summary.toml`.
    pub fn finish(
        self,
        setup: &Setup<'_>,
        progress: &mut dyn Progress,
    ) -> Result<RunSummary, TrainError> {
        let outcome = Outcome {
            best_epoch: self.stopper.best_epoch(),
            best_model: self.best_model,
            evaluated: self.evaluated,
            history: self.history,
            steps: self.steps,
            stop_reason: self.stop_reason,
            diverged: self.diverged,
            first_epoch: self.first_epoch,
            started: self.started,
        };
        let result = finish(setup, outcome, progress);
        // Released only once summary.toml is written (or the run failed).
        drop(self.lock);
        result
    }
}

fn load_module<M: Module>(model: M, record: ModuleRecord, what: &str) -> Result<M, TrainError> {
    model
        .try_load_record(record)
        .map_err(|e| TrainError::Checkpoint {
            path: std::path::PathBuf::from(checkpoint::RESUME_DIR),
            message: format!("{what} does not fit the model of {CONFIG_FILE}: {e}"),
        })
}
