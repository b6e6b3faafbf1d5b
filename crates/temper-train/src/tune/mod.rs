//! `temper tune`: hyperparameter search over experiment keys, each trial a real training run.
//!
//! The adapter between temper-tune (which knows nothing of Burn) and the trainer: the
//! `[tune.space]` table names dotted experiment keys; each trial's parameters patch a copy of
//! the experiment, the run reports its per-epoch metric to the study's pruner, and the trial's
//! value is the metric's best epoch value (the run keeps its best checkpoint).
//!
//! One bad trial never stops a study: a configuration the experiment's validation refuses
//! (every allocation bound of `config::experiment` and temper-model's `limits` included), an
//! error of its run, or a panic inside it (caught with `catch_unwind`) marks that trial failed
//! with a one-line message and the search goes on. The output folder holds one study
//! (`out_dir.rs`), and the storage's password never reaches a file or a message
//! (`secret.rs`).

mod kinds;
pub(crate) mod lr_find;
mod markdown;
mod out_dir;
mod report;
pub(crate) mod secret;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use temper_tune::{
    Direction, MedianPruner, Params, PrunerKind, SamplerKind, Space, SqliteStorage, StaleRule,
    Storage, Study, TpeSettings, Trial, TrialOutcome, TrialState, open_storage, param_importance,
};

use crate::classifier::ImageClassifier;
use crate::config::experiment::Experiment;
use crate::error::{TrainError, io_err};
use crate::run::{Progress, RunSummary, Silent, TrainData, train, train_model};
use crate::score::metrics::{EpochMetrics, METRIC_NAMES, WORST_GROUP_COLUMN, is_metric};
use crate::tune::report::write_outputs;
use crate::tune::secret::{scrub, scrub_error};

/// The `[tune]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TuneSection {
    /// Trials the study runs, across every worker and every restart: complete, pruned or
    /// failed (a trial whose process died is retried with the same parameters, and only the
    /// retry counts).
    pub trials: usize,
    /// `tpe` (default), `gp`, `random`, `grid` or `sobol`, or a table with `kind` and the
    /// sampler's settings (`sampler = { kind = "gp", n_startup_trials = 5 }`; temper-tune's
    /// `TpeSettings` and `GpSettings` list them).
    #[serde(deserialize_with = "kinds::sampler")]
    pub sampler: SamplerKind,
    /// `median` (default, Optuna's), `asha`, `hyperband` or `none`, or a table with `kind` and
    /// the pruner's settings (`pruner = { kind = "asha", min_resource = 2 }`).
    #[serde(deserialize_with = "kinds::pruner")]
    pub pruner: PrunerKind,
    /// The epoch metric to optimize: `valid_loss` (minimized) or `valid_accuracy`,
    /// `valid_precision`, `valid_recall`, `valid_f1` (maximized), or a `train_` metric.
    pub metric: String,
    /// `sqlite:PATH` (or a path), `postgres://USER@HOST/DB` or `memory`; default
    /// `sqlite:OUT/study.sqlite3`, so a search survives being killed and resumes where it
    /// stopped. Serialized with its password redacted (`secret.rs`), so no copy of an
    /// experiment on disk holds it.
    #[serde(serialize_with = "secret::serialize_storage")]
    pub storage: Option<String>,
    /// Share the study with other processes (`temper tune --worker`): a trial is declared dead
    /// only when its last report is older than `heartbeat_timeout`. Without it, this process
    /// is the study's only one, and trials a killed run left running are retried at once.
    pub worker: bool,
    /// Seconds without a report (one per epoch) after which a worker's trial is declared dead
    /// and retried. Default 600 (Optuna's RDB storage leaves it to the user; keep it above the
    /// longest epoch).
    pub heartbeat_timeout: f64,
    /// Study name inside the storage.
    pub study: String,
    /// Seed of the sampler; default `train.seed`.
    pub seed: Option<u64>,
    /// Dotted experiment keys and their distributions, e.g.
    /// `"optim.lr" = { log_uniform = [1e-4, 1e-1] }`.
    pub space: toml::Table,
}

impl Default for TuneSection {
    fn default() -> Self {
        Self {
            trials: 30,
            sampler: SamplerKind::Tpe(TpeSettings::default()),
            pruner: PrunerKind::Median(MedianPruner::default()),
            metric: "valid_accuracy".into(),
            storage: None,
            worker: false,
            heartbeat_timeout: 600.0,
            study: "temper".into(),
            seed: None,
            space: toml::Table::new(),
        }
    }
}

/// What a finished search reports.
#[derive(Debug, Clone)]
pub struct TuneSummary {
    /// The complete trial with the best value; `None` when no trial completed.
    pub best: Option<Trial>,
    /// The best trial's run directory `OUT/trial-NNNN`; `None` when it is not under `out`
    /// (another machine's worker ran it).
    pub best_run_dir: Option<PathBuf>,
    /// [`Direction::Minimize`] when the metric is a loss (`..._loss`), else
    /// [`Direction::Maximize`].
    pub direction: Direction,
    /// Every trial the study holds, whatever its state, this process's and other workers'.
    pub trials: Vec<Trial>,
    /// Parameter importance shares (fANOVA first-order, normalized; see temper-tune's `analysis`).
    pub importance: Vec<(String, f64)>,
}

/// What a search tells its caller besides each trial's training [`Progress`].
pub trait TuneProgress: Progress {
    /// Trial `number` starts, `done` of `total` trials being finished; `params` in
    /// `key=value` form.
    fn trial_start(&mut self, _number: u64, _done: usize, _total: usize, _params: &str) {}
    /// A trial ended, described in one line.
    fn trial_end(&mut self, _line: &str) {}
}

impl TuneProgress for Silent {}

/// Trains one trial: its experiment (the base patched with the trial's parameters), its run
/// directory, and the progress that reports to the study's pruner.
pub type TrialRunner<'a> =
    dyn FnMut(&Experiment, &Path, &mut dyn Progress) -> Result<RunSummary, TrainError> + 'a;

/// Runs (or resumes) the search `exp.tune` describes with the built-in `[model]` and `[data]`
/// (`temper tune`), writing trial run directories `OUT/trial-N`, `trials.csv`, `best.toml` and
/// PNG charts into `out`.
pub fn tune(
    exp: &Experiment,
    out: &Path,
    progress: &mut dyn TuneProgress,
) -> Result<TuneSummary, TrainError> {
    tune_with(
        exp,
        out,
        &mut |trial, dir, p| train(trial, dir, p),
        progress,
    )
}

/// [`tune`] for a model of the caller's: each trial trains `init(trial_experiment, device)` on
/// `data` (loaded once for the whole search) with [`train_model`]. `init` receives the trial's
/// experiment so a search space may name the caller's own keys (read them from a section the
/// model owns, e.g. `[model] hidden`).
pub fn tune_model<M, F>(
    exp: &Experiment,
    out: &Path,
    init: F,
    data: TrainData<'_>,
    progress: &mut dyn TuneProgress,
) -> Result<TuneSummary, TrainError>
where
    M: ImageClassifier,
    F: Fn(&Experiment, &burn::tensor::Device) -> M,
{
    let mut runner = |trial: &Experiment, dir: &Path, p: &mut dyn Progress| {
        train_model(
            trial,
            |d: &burn::tensor::Device| init(trial, d),
            data.clone(),
            dir,
            p,
        )
    };
    tune_with(exp, out, &mut runner, progress)
}

/// The search of [`tune`], each trial trained by `runner`. Its errors never quote the
/// storage's password.
pub fn tune_with(
    exp: &Experiment,
    out: &Path,
    runner: &mut TrialRunner<'_>,
    progress: &mut dyn TuneProgress,
) -> Result<TuneSummary, TrainError> {
    let storage = exp.tune.as_ref().and_then(|t| t.storage.as_deref());
    search(exp, out, runner, progress).map_err(|e| scrub_error(e, storage))
}

/// [`tune_with`] before its errors are scrubbed.
fn search(
    exp: &Experiment,
    out: &Path,
    runner: &mut TrialRunner<'_>,
    progress: &mut dyn TuneProgress,
) -> Result<TuneSummary, TrainError> {
    let section = exp.tune.clone().unwrap_or_default();
    let config = |e: temper_tune::TuneError| TrainError::Config(e.to_string());
    let plan = SearchPlan::new(exp, &section)?;
    let (space, direction, base_table) = (plan.space.clone(), plan.direction, plan.base.clone());
    let mut study = plan.open_study(&section, exp.train.seed, out)?;

    // Other workers' trials still running when the budget is handed out may yet die and need
    // a retry: a worker polls until none runs, so every worker ends with the study.
    let poll = Duration::from_secs_f64((section.heartbeat_timeout / 4.0).clamp(0.05, 5.0));
    let objective = Objective {
        base: &base_table,
        metric: &section.metric,
        direction,
        out,
    };
    loop {
        let trials = study.trials().map_err(config)?;
        let finished = trials
            .iter()
            .filter(|t| {
                t.state.is_finished()
                    && !temper_tune::storage::is_stale(t.state, t.message.as_deref())
            })
            .count();
        let trial = match study.ask_within(section.trials) {
            Ok(Some(t)) => t,
            // Read the study again: a retry another worker claimed after `trials` was read is
            // what filled the budget, and this worker must wait for it too.
            Ok(None) if section.worker && any_running(&study.trials().map_err(config)?) => {
                std::thread::sleep(poll);
                continue;
            }
            Ok(None) => break,
            // A grid that has run out of points ends the search.
            Err(temper_tune::TuneError::GridExhausted(_)) => break,
            Err(e) => return Err(config(e)),
        };
        progress.trial_start(
            trial.number,
            finished,
            section.trials,
            &describe_params(&trial.params),
        );
        run_and_tell(&objective, &section, &trial, &mut study, runner, progress)?;
    }

    let trials = study.trials().map_err(config)?;
    let best = study.best_trial().map_err(config)?;
    let importance = param_importance(&space, &trials);
    let summary = TuneSummary {
        // The best trial may have run on another machine's worker.
        best_run_dir: best
            .as_ref()
            .map(|t| trial_dir(out, t.number))
            .filter(|d| d.exists()),
        best,
        direction,
        trials,
        importance,
    };
    write_outputs(&summary, &section, &space, out)?;
    Ok(summary)
}

/// Whether any of `trials` is still running (in this or another worker).
fn any_running(trials: &[Trial]) -> bool {
    trials.iter().any(|t| t.state == TrialState::Running)
}

/// Runs `trial`, records its outcome in the study (a failure's message scrubbed of the
/// storage's password) and reports it in one line.
fn run_and_tell(
    objective: &Objective<'_>,
    section: &TuneSection,
    trial: &Trial,
    study: &mut Study,
    runner: &mut TrialRunner<'_>,
    progress: &mut dyn TuneProgress,
) -> Result<(), TrainError> {
    let outcome = match run_trial(objective, trial, study, runner, progress) {
        // The message goes into the study, trials.csv and the progress line.
        TrialOutcome::Failed(m) => TrialOutcome::Failed(scrub(&m, section.storage.as_deref())),
        other => other,
    };
    let line = match &outcome {
        TrialOutcome::Complete(v) => {
            format!("trial {}: {} = {v:.4}", trial.number, section.metric)
        }
        TrialOutcome::Pruned => format!("trial {}: pruned", trial.number),
        TrialOutcome::Failed(msg) => format!("trial {}: failed: {msg}", trial.number),
    };
    study
        .tell(trial.number, outcome)
        .map_err(|e| TrainError::Config(e.to_string()))?;
    progress.trial_end(&line);
    Ok(())
}

/// A search checked before anything is written: the space, the direction of the metric, the
/// sampler and pruner, and the base experiment every trial patches.
struct SearchPlan {
    space: Space,
    direction: Direction,
    sampler: Box<dyn temper_tune::Sampler>,
    pruner: Box<dyn temper_tune::Pruner>,
    /// The experiment without its `[tune]` section, as a TOML table.
    base: toml::Table,
}

impl SearchPlan {
    /// Checks `[tune]` (`section`) and the experiment it searches around.
    fn new(exp: &Experiment, section: &TuneSection) -> Result<Self, TrainError> {
        let config = |e: temper_tune::TuneError| TrainError::Config(e.to_string());
        if section.space.is_empty() {
            return Err(TrainError::Config(
                "tune.space: empty; name experiment keys to search, e.g. \
                 \"optim.lr\" = { log_uniform = [1e-4, 1e-1] }"
                    .into(),
            ));
        }
        let space = Space::from_table(&section.space).map_err(config)?;
        if section.trials == 0 {
            return Err(TrainError::Config("tune.trials: must be at least 1".into()));
        }
        if !is_metric(&section.metric) {
            return Err(TrainError::Config(format!(
                "tune.metric: unknown metric {:?}; expected one of {}, {WORST_GROUP_COLUMN}",
                section.metric,
                METRIC_NAMES.join(", ")
            )));
        }
        let direction = if section.metric.ends_with("loss") {
            Direction::Minimize
        } else {
            Direction::Maximize
        };
        // temper-tune names the setting (`sampler.n_candidates`); the file nests it in [tune].
        let in_tune = |e: temper_tune::TuneError| TrainError::Config(format!("tune.{e}"));
        let sampler = section.sampler.build().map_err(in_tune)?;
        let pruner = section.pruner.build().map_err(in_tune)?;
        let mut base = exp.clone();
        base.tune = None;
        base.validate()?;
        let base = toml::Table::try_from(&base).expect("an experiment serializes to a table");
        check_workers(section)?;
        Ok(Self {
            space,
            direction,
            sampler,
            pruner,
            base,
        })
    }

    /// Creates `out` and opens (or creates) the study in `[tune] storage`, default
    /// `OUT/study.sqlite3`; an `out` holding another study is refused first (`out_dir.rs`).
    fn open_study(
        self,
        section: &TuneSection,
        train_seed: u64,
        out: &Path,
    ) -> Result<Study, TrainError> {
        let config = |e: temper_tune::TuneError| TrainError::Config(e.to_string());
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        out_dir::check(out, section)?;
        let storage: Box<dyn Storage> = match section.storage.as_deref() {
            None => Box::new(SqliteStorage::open(out.join("study.sqlite3")).map_err(config)?),
            Some(spec) => {
                open_storage(spec).map_err(|e| TrainError::Config(format!("tune.storage: {e}")))?
            }
        };
        let stale = if section.worker {
            StaleRule::After(Duration::from_secs_f64(section.heartbeat_timeout))
        } else {
            StaleRule::OnOpen
        };
        let study = Study::create(
            storage,
            &section.study,
            self.direction,
            self.space,
            self.sampler,
            self.pruner,
            section.seed.unwrap_or(train_seed),
        )
        .map_err(config)?
        .with_stale_rule(stale)
        .map_err(config)?;
        out_dir::record(out, section)?;
        Ok(study)
    }
}

/// `heartbeat_timeout` and `--worker`: a worker needs a study other processes can open.
fn check_workers(section: &TuneSection) -> Result<(), TrainError> {
    if !(section.heartbeat_timeout.is_finite() && section.heartbeat_timeout > 0.0) {
        return Err(TrainError::Config(format!(
            "tune.heartbeat_timeout: must be a positive number of seconds, got {}",
            section.heartbeat_timeout
        )));
    }
    if section.worker && matches!(section.storage.as_deref(), None | Some("memory")) {
        return Err(TrainError::Config(
            "--worker: needs a study other processes can open: --storage sqlite:PATH (one \
             machine) or postgres://USER@HOST/DB (many)"
                .into(),
        ));
    }
    Ok(())
}

/// The run directory of trial `number`: `OUT/trial-NNNN`.
pub(crate) fn trial_dir(out: &Path, number: u64) -> PathBuf {
    out.join(format!("trial-{number:04}"))
}

/// `key=value` pairs separated by spaces, values in TOML syntax.
pub fn describe_params(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", v.to_toml()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What every trial of a search shares: the base experiment as a table, the metric and its
/// direction, and the output folder.
struct Objective<'a> {
    base: &'a toml::Table,
    metric: &'a str,
    direction: Direction,
    out: &'a Path,
}

/// Trains one trial; a configuration the experiment rejects, or a panic of its run, is a failed
/// trial, not an error of the search.
fn run_trial(
    objective: &Objective<'_>,
    trial: &Trial,
    study: &mut Study,
    runner: &mut TrialRunner<'_>,
    progress: &mut dyn Progress,
) -> TrialOutcome {
    let Objective {
        base,
        metric,
        direction,
        out,
    } = *objective;
    let mut table = base.clone();
    if let Err(e) = trial.params.apply_to(&mut table) {
        return TrialOutcome::Failed(e.to_string());
    }
    let text = toml::to_string(&table).expect("a table serializes");
    let exp = match Experiment::from_toml_str(&text, &format!("trial {}", trial.number)) {
        Ok(exp) => exp,
        Err(e) => return TrialOutcome::Failed(e.to_string()),
    };
    if let Err(e) = exp.validate() {
        return TrialOutcome::Failed(e.to_string());
    }
    let mut reporter = TrialProgress {
        inner: progress,
        study,
        number: trial.number,
        metric,
        pruned: false,
        error: None,
    };
    let dir = trial_dir(out, trial.number);
    // The study and the progress are only borrowed by the run; after a panic the trial is
    // recorded failed and nothing of the run's state is used again.
    let result = match catch_unwind(AssertUnwindSafe(|| runner(&exp, &dir, &mut reporter))) {
        Ok(result) => result,
        Err(payload) => return TrialOutcome::Failed(panic_message(payload.as_ref())),
    };
    let (pruned, error) = (reporter.pruned, reporter.error.take());
    if let Some(e) = error {
        return TrialOutcome::Failed(e);
    }
    match result {
        Err(e) => TrialOutcome::Failed(e.to_string()),
        Ok(_) if pruned => TrialOutcome::Pruned,
        Ok(summary) => {
            let values = summary.epochs.iter().filter_map(|m| m.metric(metric));
            let best = values.reduce(|a, b| if direction.better(b, a) { b } else { a });
            match best {
                Some(v) if v.is_finite() => TrialOutcome::Complete(v),
                _ => TrialOutcome::Failed(format!("{metric} was never finite")),
            }
        }
    }
}

/// One line saying what a trial's panic said.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("panicked: {}", text.trim().replace('\n', " "))
}

/// Forwards progress and reports each epoch's metric to the study, stopping a pruned run.
struct TrialProgress<'a> {
    inner: &'a mut dyn Progress,
    study: &'a mut Study,
    number: u64,
    metric: &'a str,
    pruned: bool,
    error: Option<String>,
}

impl Progress for TrialProgress<'_> {
    fn message(&mut self, text: &str) {
        self.inner.message(text);
    }
    fn epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.inner.epoch_start(epoch, epochs, steps);
    }
    fn step(&mut self, done: usize, loss: Option<f64>) {
        self.inner.step(done, loss);
    }
    fn epoch_end(&mut self, metrics: &EpochMetrics) {
        self.inner.epoch_end(metrics);
        let Some(value) = metrics.metric(self.metric) else {
            return;
        };
        match self.study.report(self.number, metrics.epoch as u64, value) {
            Ok(prune) => self.pruned = prune,
            Err(e) => self.error = Some(e.to_string()),
        }
    }
    fn keep_going(&mut self) -> bool {
        !self.pruned && self.error.is_none()
    }
}

#[cfg(test)]
mod tests;
