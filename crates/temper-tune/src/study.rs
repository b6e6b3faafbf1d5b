//! Studies: the ask / report / tell loop over a storage, a sampler and a pruner.
//!
//! ```text
//! let mut study = Study::create(storage, "lr-search", Direction::Maximize, space,
//!                               SamplerKind::parse("tpe")?.build()?,
//!                               PrunerKind::parse("median")?.build()?, 42)?;
//! let trial = study.ask()?;                  // number + params
//! for epoch in 0..10 {
//!     if study.report(trial.number, epoch, accuracy)? { /* prune */ }
//! }
//! study.tell(trial.number, TrialOutcome::Complete(accuracy))?;
//! ```
//!
//! A study resumes from its storage: re-creating it with the same name, seed and sampler
//! continues the trial numbering, and the samplers derive their randomness from (seed, trial
//! number) and the stored history, not from process state. Trials a dead process left
//! `running` are handled by the [`StaleRule`].
//!
//! Distributed search (Optuna's model): every worker, on any machine, opens the same study
//! in a shared storage ([`crate::storage::open_storage`]) and calls [`Study::ask_within`] (or
//! [`Study::optimize_within`]) with the same budget until it returns `None`. The storage
//! allocates atomically, so the study ends with exactly that many finished trials, none run
//! twice; a trial whose worker died is failed once its heartbeat is older than the stale rule
//! allows, and the next ask re-runs its parameters.

use std::time::Duration;

use crate::error::TuneError;
use crate::pruner::{PruneContext, Pruner};
use crate::sampler::{SampleContext, Sampler};
use crate::space::Space;
use crate::storage::{STALE_MESSAGE, Storage, StudyInfo, not_finishable};
use crate::trial::{Direction, Trial, TrialOutcome, TrialState, now_secs};
use crate::value::Params;

/// What to do with trials left running by a process that died.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StaleRule {
    /// Mark every running trial failed when the study is opened. Right for a single worker
    /// resuming after a crash; wrong while other workers share the study (their trials would
    /// be failed too).
    OnOpen,
    /// Mark a running trial failed once its last heartbeat (its `ask` or latest `report`) is
    /// older than this; checked on open and on every `ask`. Safe with several workers as long
    /// as each reports more often than this.
    After(Duration),
    /// Leave them running.
    Never,
}

/// The default rule: heartbeats older than 10 minutes.
pub const DEFAULT_STALE_RULE: StaleRule = StaleRule::After(Duration::from_secs(600));

/// A study: a named, persistent sequence of trials.
pub struct Study {
    storage: Box<dyn Storage>,
    info: StudyInfo,
    space: Space,
    sampler: Box<dyn Sampler>,
    pruner: Box<dyn Pruner>,
    seed: u64,
    stale: StaleRule,
}

impl Study {
    /// Creates the study `name`, or resumes it if the storage already holds it (its direction
    /// must match). Applies [`DEFAULT_STALE_RULE`]; see [`Study::with_stale_rule`].
    pub fn create(
        mut storage: Box<dyn Storage>,
        name: &str,
        direction: Direction,
        space: Space,
        sampler: Box<dyn Sampler>,
        pruner: Box<dyn Pruner>,
        seed: u64,
    ) -> Result<Study, TuneError> {
        let info = storage.create_study(name, direction)?;
        if info.direction != direction {
            return Err(TuneError::DirectionMismatch {
                name: name.to_string(),
                stored: info.direction.to_string(),
                asked: direction.to_string(),
            });
        }
        Study::start(storage, info, space, sampler, pruner, seed)
    }

    /// Opens an existing study (its direction comes from the storage).
    pub fn open(
        mut storage: Box<dyn Storage>,
        name: &str,
        space: Space,
        sampler: Box<dyn Sampler>,
        pruner: Box<dyn Pruner>,
        seed: u64,
    ) -> Result<Study, TuneError> {
        let info = storage
            .find_study(name)?
            .ok_or_else(|| TuneError::StudyNotFound(name.to_string()))?;
        Study::start(storage, info, space, sampler, pruner, seed)
    }

    fn start(
        storage: Box<dyn Storage>,
        info: StudyInfo,
        space: Space,
        sampler: Box<dyn Sampler>,
        pruner: Box<dyn Pruner>,
        seed: u64,
    ) -> Result<Study, TuneError> {
        let mut study = Study {
            storage,
            info,
            space,
            sampler,
            pruner,
            seed,
            stale: DEFAULT_STALE_RULE,
        };
        study.fail_stale()?;
        Ok(study)
    }

    /// Replaces the stale-trial rule and applies it now.
    pub fn with_stale_rule(mut self, rule: StaleRule) -> Result<Study, TuneError> {
        self.stale = rule;
        self.fail_stale()?;
        Ok(self)
    }

    fn fail_stale(&mut self) -> Result<usize, TuneError> {
        let max_age = match self.stale {
            StaleRule::OnOpen => f64::NEG_INFINITY,
            StaleRule::After(d) => d.as_secs_f64(),
            StaleRule::Never => return Ok(0),
        };
        let n = self.storage.fail_stale(self.info.id, max_age, now_secs())?;
        if self.stale == StaleRule::OnOpen {
            // Only at open: later trials are this handle's own.
            self.stale = StaleRule::Never;
        }
        Ok(n)
    }

    /// The study's name in its storage.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Whether smaller or larger objective values are better.
    pub fn direction(&self) -> Direction {
        self.info.direction
    }

    /// The search space.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The seed the samplers derive their randomness from, with each trial's number.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Starts a trial: allocates its number, asks the sampler, stores the parameters.
    pub fn ask(&mut self) -> Result<Trial, TuneError> {
        self.fail_stale()?;
        let number = self.storage.create_trial(self.info.id, now_secs())?;
        self.suggest(number)
    }

    /// Starts a trial unless the study already holds `n_trials` trials that are running or
    /// finished (trials failed as stale do not count); `None` then. The check and the
    /// allocation are one atomic step in the storage, so workers sharing the study with the
    /// same `n_trials` stop at exactly `n_trials`. The first stale trial not yet retried is
    /// re-run: the new trial gets its parameters (the sampler is not asked) and the attribute
    /// [`crate::storage::RETRIED_FROM_ATTR`], like Optuna's `RetryFailedTrialCallback`, at
    /// most [`crate::storage::MAX_STALE_RETRIES`] times along a chain of retries: a retry
    /// that goes stale too is marked [`crate::storage::GAVE_UP_MESSAGE`] and counts, so a
    /// trial that kills every worker running it cannot keep the study from ending.
    ///
    /// `None` while other workers' trials still run does not mean those will finish: a
    /// worker that dies after the budget is handed out leaves its trial to be retried by a
    /// later `ask_within` (a worker started again once the stale rule has failed it).
    pub fn ask_within(&mut self, n_trials: usize) -> Result<Option<Trial>, TuneError> {
        self.fail_stale()?;
        let Some(new) =
            self.storage
                .create_trial_within(self.info.id, n_trials as u64, now_secs())?
        else {
            return Ok(None);
        };
        if new.retried_from.is_some() {
            let trials = self.storage.trials(self.info.id)?;
            if let Some(t) = trials.into_iter().find(|t| t.number == new.number)
                && !t.params.is_empty()
            {
                return Ok(Some(t));
            }
            // The stale trial died before its parameters were stored: sample afresh.
        }
        self.suggest(new.number).map(Some)
    }

    /// Asks the sampler for the parameters of the allocated trial `number` and stores them.
    fn suggest(&mut self, number: u64) -> Result<Trial, TuneError> {
        let trials = self.storage.trials(self.info.id)?;
        let ctx = SampleContext {
            space: &self.space,
            trials: &trials,
            number,
            seed: self.seed,
            direction: self.info.direction,
        };
        let suggestion = match self.sampler.sample(&ctx) {
            Ok(s) => s,
            Err(e) => {
                self.storage.finish(
                    self.info.id,
                    number,
                    TrialState::Failed,
                    None,
                    Some(&format!("sampler: {e}")),
                    now_secs(),
                )?;
                return Err(e);
            }
        };
        self.storage
            .set_params(self.info.id, number, &suggestion.params, &suggestion.attrs)?;
        let mut trial = trials
            .into_iter()
            .find(|t| t.number == number)
            .unwrap_or_else(|| Trial::new(number, now_secs()));
        trial.params = suggestion.params;
        trial.attrs.extend(suggestion.attrs);
        Ok(trial)
    }

    fn running(trials: &[Trial], number: u64) -> Result<&Trial, TuneError> {
        let t = trials
            .iter()
            .find(|t| t.number == number)
            .ok_or(TuneError::Trial {
                number,
                message: "not in this study".into(),
            })?;
        // A trial failed as stale may still be told (its process was slow), unless another
        // worker already re-runs its parameters.
        let stale = t.state == TrialState::Failed && t.message.as_deref() == Some(STALE_MESSAGE);
        if t.state != TrialState::Running && !stale {
            return Err(not_finishable(
                number,
                Some((t.state, t.message.as_deref())),
            ));
        }
        Ok(t)
    }

    /// Records an intermediate value of a running trial and asks the pruner; `true` means
    /// the trial should stop (then `tell(.., TrialOutcome::Pruned)`).
    pub fn report(&mut self, number: u64, step: u64, value: f64) -> Result<bool, TuneError> {
        let mut trials = self.storage.trials(self.info.id)?;
        let mut trial = Study::running(&trials, number)?.clone();
        self.storage
            .report(self.info.id, number, step, value, now_secs())?;
        trial.intermediate.insert(step, value);
        if let Some(t) = trials.iter_mut().find(|t| t.number == number) {
            t.intermediate.insert(step, value);
        }
        let decision = self.pruner.prune(&PruneContext {
            study_name: &self.info.name,
            direction: self.info.direction,
            trials: &trials,
            trial: &trial,
        });
        if !decision.attrs.is_empty() {
            self.storage
                .set_attrs(self.info.id, number, &decision.attrs)?;
        }
        Ok(decision.prune)
    }

    /// Finishes a trial. A trial declared stale while its process was merely slow may still
    /// be told. A complete value that is NaN is recorded as a failure.
    pub fn tell(&mut self, number: u64, outcome: TrialOutcome) -> Result<(), TuneError> {
        let trials = self.storage.trials(self.info.id)?;
        Study::running(&trials, number)?;
        let (state, value, message) = match outcome {
            TrialOutcome::Complete(v) if v.is_nan() => (
                TrialState::Failed,
                None,
                Some("objective returned NaN".to_string()),
            ),
            TrialOutcome::Complete(v) => (TrialState::Complete, Some(v), None),
            TrialOutcome::Pruned => (TrialState::Pruned, None, None),
            TrialOutcome::Failed(m) => (TrialState::Failed, None, Some(m)),
        };
        self.storage.finish(
            self.info.id,
            number,
            state,
            value,
            message.as_deref(),
            now_secs(),
        )
    }

    /// Every trial so far, by number.
    pub fn trials(&mut self) -> Result<Vec<Trial>, TuneError> {
        self.storage.trials(self.info.id)
    }

    /// The best complete trial (the earliest among equals).
    pub fn best_trial(&mut self) -> Result<Option<Trial>, TuneError> {
        let dir = self.info.direction;
        Ok(self
            .trials()?
            .into_iter()
            .filter(|t| t.complete_value().is_some_and(|v| !v.is_nan()))
            .fold(None, |best: Option<Trial>, t| match &best {
                Some(b) if !dir.better(t.value.unwrap(), b.value.unwrap()) => best,
                _ => Some(t),
            }))
    }

    /// Runs `n` trials of `objective` (fewer if the grid runs out). The objective reports
    /// through its [`TrialContext`]; if it returns an error after a report said to prune, the
    /// trial is recorded as pruned, any other error as failed (and the search goes on).
    /// Returns how many trials ran.
    pub fn optimize<E: std::fmt::Display>(
        &mut self,
        n: usize,
        mut objective: impl FnMut(&mut TrialContext<'_>) -> Result<f64, E>,
    ) -> Result<usize, TuneError> {
        for i in 0..n {
            let trial = match self.ask() {
                Ok(t) => t,
                Err(TuneError::GridExhausted(_)) => return Ok(i),
                Err(e) => return Err(e),
            };
            self.run(trial, &mut objective)?;
        }
        Ok(n)
    }

    /// One worker of a shared study: runs trials of `objective` (as [`Study::optimize`]
    /// does) until [`Study::ask_within`]`(n_trials)` says the budget is handed out, or the
    /// grid runs out. Returns how many trials this worker ran.
    pub fn optimize_within<E: std::fmt::Display>(
        &mut self,
        n_trials: usize,
        mut objective: impl FnMut(&mut TrialContext<'_>) -> Result<f64, E>,
    ) -> Result<usize, TuneError> {
        let mut ran = 0;
        loop {
            let trial = match self.ask_within(n_trials) {
                Ok(Some(t)) => t,
                Ok(None) | Err(TuneError::GridExhausted(_)) => return Ok(ran),
                Err(e) => return Err(e),
            };
            self.run(trial, &mut objective)?;
            ran += 1;
        }
    }

    fn run<E: std::fmt::Display>(
        &mut self,
        trial: Trial,
        objective: &mut impl FnMut(&mut TrialContext<'_>) -> Result<f64, E>,
    ) -> Result<(), TuneError> {
        let number = trial.number;
        let mut ctx = TrialContext {
            study: self,
            number,
            params: trial.params,
            pruned: false,
        };
        let outcome = match objective(&mut ctx) {
            Ok(v) => TrialOutcome::Complete(v),
            Err(_) if ctx.pruned => TrialOutcome::Pruned,
            Err(e) => TrialOutcome::Failed(e.to_string()),
        };
        self.tell(number, outcome)
    }
}

/// A running trial inside [`Study::optimize`].
pub struct TrialContext<'s> {
    study: &'s mut Study,
    number: u64,
    params: Params,
    pruned: bool,
}

impl TrialContext<'_> {
    /// The trial's number in the study.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The trial's sampled parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Reports an intermediate value; `true` means stop and return an error (the trial is
    /// then recorded as pruned).
    pub fn report(&mut self, step: u64, value: f64) -> Result<bool, TuneError> {
        let prune = self.study.report(self.number, step, value)?;
        self.pruned |= prune;
        Ok(prune)
    }

    /// Whether a report has said to prune.
    pub fn should_prune(&self) -> bool {
        self.pruned
    }
}

#[cfg(test)]
mod tests;
