//! Resumable checkpoints: after every epoch, everything the run needs to continue exactly as
//! if it had never stopped.
//!
//! Layout: `checkpoints/resume/epoch-NNNN/` holds the training model (the raw weights, not
//! the EMA or validation copy), the optimizer, the schedule, the EMA or SWA average, the
//! pruning masks and the hypergradient's last update when those are on, the best epoch's weights (`best.bpk`, once
//! there is a best epoch) and `state.json` (epoch, early-stopping state, history).
//!
//! The order of an epoch's writes, each one whole or not at all (`write_atomic`):
//! 1. the set `epoch-NNNN/`: its weight files, then `state.json` (a set left half-written by a
//!    kill is not named by `latest`, and the next save of that epoch starts it afresh);
//! 2. `checkpoints/resume/latest`, naming the set: **the commit point**;
//! 3. the published files: `metrics.csv`, `checkpoints/best.bpk` (when the epoch improved),
//!    `checkpoints/last.bpk`;
//! 4. older sets removed.
//!
//! A kill before step 2 leaves the previous set current, and nothing published describes the
//! unfinished epoch; a kill after it leaves the new set current and the published files one
//! epoch behind at most. `--resume` trusts only the set `latest` names — the best weights
//! come from the set's own `best.bpk`, never from `checkpoints/best.bpk`, which may lag — and
//! rewrites the published files from it before training on, so after any kill they agree
//! with the state the run continues from.
//!
//! Nothing random needs saving: the epoch's shuffle, its augmentation and its dropout masks
//! are all seeded from `(seed, epoch)` (see the trainer), so epoch `e + 1` after a resume
//! draws what it would have drawn.
//!
//! A set is read back like user input (`check_state`): the epoch must match the set's name and
//! the history, the best epoch must be one of those epochs, rates must be positive and scores
//! in range — a tampered `state.json` is one line naming the file and the key.

use std::path::{Path, PathBuf};

use burn::lr_scheduler::LrSchedulerRecord;
use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};
use temper_optim::EarlyStoppingState;

use crate::error::{TrainError, io_err};
use crate::run::run_dir::{crash_point, load_weights, read_pack, sync_parent, write_atomic};
use crate::score::metrics::EpochMetrics;

/// The folder of resume sets, relative to the run directory.
pub const RESUME_DIR: &str = "checkpoints/resume";
const LATEST: &str = "latest";
const STATE: &str = "state.json";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const SCHEDULE: &str = "schedule.bpk";
const EMA: &str = "ema.bpk";
const HYPERGRADIENT: &str = "hypergradient.bpk";
const BEST: &str = "best.bpk";
const SWA: &str = "swa.bpk";
const PRUNE_MASKS: &str = "prune_masks.bpk";
/// Bumped when the layout changes, so an old run is refused with a message, not misread.
pub const FORMAT: u32 = 1;

/// The scalar part of a resume set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeState {
    pub format: u32,
    /// The last completed epoch (1-based).
    pub epoch: usize,
    pub early_stopping: EarlyStoppingState,
    /// EMA updates so far, when EMA is on.
    pub ema_step: Option<usize>,
    /// Hypergradient `(lr, last_lr)`, when it drives the rate.
    pub hypergradient_lr: Option<(f64, f64)>,
    /// Group DRO's weights over the groups, when `[fairness]` runs it (checked against the
    /// groups when restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_dro: Option<Vec<f64>>,
    /// Stochastic weight averaging's snapshot count and the rate SWALR anneals from, once the
    /// average has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swa: Option<SwaState>,
    /// Why training stopped after `epoch`, when it did (the run then only tests on resume).
    pub stop_reason: Option<String>,
    pub history: Vec<EpochMetrics>,
}

/// The scalar part of stochastic weight averaging.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwaState {
    /// Snapshots averaged (PyTorch's `n_averaged`).
    pub count: usize,
    /// The rate SWALR anneals from (the run's rate when the average started).
    pub lr0: f64,
}

/// What an epoch's end hands to [`save`].
pub struct ResumeSet<'a, M> {
    pub state: ResumeState,
    pub model: &'a M,
    pub optimizer: OptimizerRecord,
    pub schedule: LrSchedulerRecord,
    pub ema: Option<&'a M>,
    /// The SWA average (its BatchNorm statistics recomputed).
    pub swa: Option<&'a M>,
    /// The pruning masks as a model-shaped record (`PruneMasks::as_module`).
    pub prune_masks: Option<M>,
    pub hypergradient_delta: Option<M>,
    /// The best epoch's weights, and whether this epoch is it (then they are written; else the
    /// previous set's file is linked); `None` while there is no best epoch.
    pub best: Option<(&'a M, bool)>,
}

/// A loaded resume set.
pub struct Loaded {
    pub state: ResumeState,
    pub model: ModuleRecord,
    pub optimizer: OptimizerRecord,
    pub schedule: LrSchedulerRecord,
    pub ema: Option<ModuleRecord>,
    pub swa: Option<ModuleRecord>,
    pub prune_masks: Option<ModuleRecord>,
    pub hypergradient_delta: Option<ModuleRecord>,
    /// The best epoch's weights, when the set holds them (sets of older temper versions do
    /// not).
    pub best: Option<ModuleRecord>,
}

fn set_dir(run_dir: &Path, epoch: usize) -> PathBuf {
    run_dir.join(RESUME_DIR).join(format!("epoch-{epoch:04}"))
}

fn record_err(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `model`'s record as burnpack bytes; an error names `path`, where they were to go.
pub(crate) fn model_bytes<M: Module>(model: M, path: &Path) -> Result<Vec<u8>, TrainError> {
    model
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| record_err(path, e))
}

/// Writes the set of `set.state.epoch` and points `latest` at it (steps 1 and 2 of the
/// module doc), then removes older sets. The caller publishes its files between the two.
pub fn save<M: Module>(run_dir: &Path, set: ResumeSet<'_, M>) -> Result<(), TrainError> {
    let epoch = set.state.epoch;
    let dir = set_dir(run_dir, epoch);
    if dir.exists() {
        // Left by a kill during an earlier save of this epoch; `latest` does not name it.
        std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    sync_parent(&dir)?;
    let write_model = |file: &str, model: M| {
        let path = dir.join(file);
        write_atomic(&path, &model_bytes(model, &path)?)
    };
    write_model(MODEL, set.model.clone())?;
    if let Some(ema) = set.ema {
        write_model(EMA, ema.clone())?;
    }
    if let Some(delta) = set.hypergradient_delta {
        write_model(HYPERGRADIENT, delta)?;
    }
    if let Some(swa) = set.swa {
        write_model(SWA, swa.clone())?;
    }
    if let Some(masks) = set.prune_masks {
        write_model(PRUNE_MASKS, masks)?;
    }
    match set.best {
        Some((best, false)) if epoch > 1 => {
            let previous = set_dir(run_dir, epoch - 1).join(BEST);
            // The best weights have not changed: share the previous set's file.
            if std::fs::hard_link(&previous, dir.join(BEST)).is_err() {
                write_model(BEST, best.clone())?;
            }
            crash_point();
        }
        Some((best, _)) => write_model(BEST, best.clone())?,
        None => {}
    }
    let path = dir.join(OPTIMIZER);
    let bytes = set
        .optimizer
        .into_bytes()
        .map_err(|e| record_err(&path, e))?;
    write_atomic(&path, &bytes)?;
    let path = dir.join(SCHEDULE);
    let bytes = set
        .schedule
        .into_bytes()
        .map_err(|e| record_err(&path, e))?;
    write_atomic(&path, &bytes)?;
    let path = dir.join(STATE);
    let state = serde_json::to_vec_pretty(&set.state).map_err(|e| record_err(&path, e))?;
    write_atomic(&path, &state)?;

    let latest = run_dir.join(RESUME_DIR).join(LATEST);
    write_atomic(&latest, format!("epoch-{epoch:04}\n").as_bytes())
}

/// Removes every set but `epoch`'s (step 4): garbage once `latest` names that one, so a
/// failure to delete them loses nothing.
pub fn remove_older_sets(run_dir: &Path, epoch: usize) {
    let keep = set_dir(run_dir, epoch);
    if let Ok(entries) = std::fs::read_dir(run_dir.join(RESUME_DIR)) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path != keep {
                let _ = std::fs::remove_dir_all(path);
                crash_point();
            }
        }
    }
}

/// The set `latest` names, or `None` when no epoch completed yet.
pub fn load(run_dir: &Path) -> Result<Option<Loaded>, TrainError> {
    let latest = run_dir.join(RESUME_DIR).join(LATEST);
    let name = match std::fs::read_to_string(&latest) {
        Ok(text) => text.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&latest)(e)),
    };
    if !name.starts_with("epoch-") || name.contains(['/', '\\']) {
        return Err(record_err(
            &latest,
            format!("names {name:?}, not a resume set"),
        ));
    }
    let dir = run_dir.join(RESUME_DIR).join(&name);
    let state_path = dir.join(STATE);
    let text = std::fs::read(&state_path).map_err(io_err(&state_path))?;
    let state: ResumeState =
        serde_json::from_slice(&text).map_err(|e| record_err(&state_path, e))?;
    check_state(&state, &name).map_err(|message| record_err(&state_path, message))?;
    let module = |file: &str| {
        let path = dir.join(file);
        load_weights(&path).map_err(|e| record_err(&path, e))
    };
    let optional = |file: &str| {
        let path = dir.join(file);
        path.exists().then(|| module(file)).transpose()
    };
    let path = dir.join(OPTIMIZER);
    let optimizer = read_pack(&path)
        .and_then(|bytes| OptimizerRecord::from_bytes(bytes).map_err(|e| e.to_string()))
        .map_err(|e| record_err(&path, e))?;
    let path = dir.join(SCHEDULE);
    let schedule = read_pack(&path)
        .and_then(|bytes| LrSchedulerRecord::from_bytes(bytes).map_err(|e| e.to_string()))
        .map_err(|e| record_err(&path, e))?;
    Ok(Some(Loaded {
        model: module(MODEL)?,
        ema: optional(EMA)?,
        hypergradient_delta: optional(HYPERGRADIENT)?,
        swa: optional(SWA)?,
        prune_masks: optional(PRUNE_MASKS)?,
        best: optional(BEST)?,
        optimizer,
        schedule,
        state,
    }))
}

/// The checks of a set's `state.json` against its name `set` (`epoch-NNNN`); the message
/// names the key.
fn check_state(state: &ResumeState, set: &str) -> Result<(), String> {
    if state.format != FORMAT {
        return Err(format!(
            "format: {} (this temper reads format {FORMAT})",
            state.format
        ));
    }
    if state.epoch == 0 || set != format!("epoch-{:04}", state.epoch) {
        return Err(format!(
            "epoch: {} does not match the set's name {set}",
            state.epoch
        ));
    }
    if state.history.len() != state.epoch {
        return Err(format!(
            "history: {} epochs, but epoch is {}",
            state.history.len(),
            state.epoch
        ));
    }
    for (i, m) in state.history.iter().enumerate() {
        if m.epoch != i + 1 {
            return Err(format!(
                "history[{i}].epoch: {}, expected {}",
                m.epoch,
                i + 1
            ));
        }
        let scores = std::iter::once(("train", m.train)).chain(m.valid.map(|v| ("valid", v)));
        for (split, s) in scores {
            let unit = [s.accuracy, s.precision, s.recall, s.f1];
            if !(s.loss.is_finite() && s.loss >= 0.0)
                || unit.iter().any(|v| !(0.0..=1.0).contains(v))
            {
                return Err(format!(
                    "history[{i}].{split}: scores out of range (loss >= 0, the others in [0, 1])"
                ));
            }
        }
        if !(m.lr.is_finite() && m.lr >= 0.0) {
            return Err(format!("history[{i}].lr: {} is not a learning rate", m.lr));
        }
    }
    if let Some(best) = &state.early_stopping.best
        && !(1..=state.epoch).contains(&best.epoch)
    {
        return Err(format!(
            "early_stopping.best.epoch: {} is not one of epochs 1..={}",
            best.epoch, state.epoch
        ));
    }
    if let Some(swa) = state.swa
        && !(swa.count >= 1 && swa.lr0.is_finite() && swa.lr0 >= 0.0)
    {
        return Err(format!(
            "swa: {} snapshots from rate {} is not an average",
            swa.count, swa.lr0
        ));
    }
    if let Some((lr, last_lr)) = state.hypergradient_lr
        && !(lr.is_finite() && lr > 0.0 && last_lr.is_finite() && last_lr >= 0.0)
    {
        return Err(format!(
            "hypergradient_lr: ({lr}, {last_lr}) is not a pair of learning rates"
        ));
    }
    Ok(())
}
