//! Resumable checkpoints: after every epoch, everything the run needs to continue exactly as
//! if it had never stopped.
//!
//! Layout: `checkpoints/resume/epoch-NNNN/` holds the training model (the raw weights, not
//! the EMA or validation copy), the optimizer, the schedule, the EMA average and the
//! hypergradient's last update when those are on, and `state.json` (epoch, early-stopping
//! state, history). The set becomes current when `checkpoints/resume/latest` — written last,
//! through a temp file and a rename — names it; the previous set is removed only after. A
//! crash at any moment therefore leaves one complete set that `latest` names.
//!
//! Nothing random needs saving: the epoch's shuffle, its augmentation and its dropout masks
//! are all seeded from `(seed, epoch)` (see the trainer), so epoch `e + 1` after a resume
//! draws what it would have drawn.

use std::path::{Path, PathBuf};

use burn::lr_scheduler::LrSchedulerRecord;
use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};
use temper_optim::EarlyStoppingState;

use crate::error::{TrainError, io_err};
use crate::run::run_dir::write_atomic;
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
    /// Why training stopped after `epoch`, when it did (the run then only tests on resume).
    pub stop_reason: Option<String>,
    pub history: Vec<EpochMetrics>,
}

/// What an epoch's end hands to [`save`].
pub struct ResumeSet<'a, M> {
    pub state: ResumeState,
    pub model: &'a M,
    pub optimizer: OptimizerRecord,
    pub schedule: LrSchedulerRecord,
    pub ema: Option<&'a M>,
    pub hypergradient_delta: Option<M>,
}

/// A loaded resume set.
pub struct Loaded {
    pub state: ResumeState,
    pub model: ModuleRecord,
    pub optimizer: OptimizerRecord,
    pub schedule: LrSchedulerRecord,
    pub ema: Option<ModuleRecord>,
    pub hypergradient_delta: Option<ModuleRecord>,
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

/// Writes the set of `set.state.epoch`, points `latest` at it, then removes older sets.
pub fn save<M: Module>(run_dir: &Path, set: ResumeSet<'_, M>) -> Result<(), TrainError> {
    let epoch = set.state.epoch;
    let dir = set_dir(run_dir, epoch);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(MODEL);
    write_atomic(&path, &model_bytes(set.model.clone(), &path)?)?;
    if let Some(ema) = set.ema {
        let path = dir.join(EMA);
        write_atomic(&path, &model_bytes(ema.clone(), &path)?)?;
    }
    if let Some(delta) = set.hypergradient_delta {
        let path = dir.join(HYPERGRADIENT);
        write_atomic(&path, &model_bytes(delta, &path)?)?;
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
    let state = serde_json::to_vec_pretty(&set.state).expect("the resume state serializes");
    write_atomic(&dir.join(STATE), &state)?;

    let latest = run_dir.join(RESUME_DIR).join(LATEST);
    write_atomic(&latest, format!("epoch-{epoch:04}\n").as_bytes())?;
    // Older sets are garbage once `latest` moved; a failure to delete them loses nothing.
    if let Ok(entries) = std::fs::read_dir(run_dir.join(RESUME_DIR)) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path != dir {
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
    Ok(())
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
    if state.format != FORMAT {
        return Err(record_err(
            &state_path,
            format!(
                "resume format {} (this temper reads format {FORMAT})",
                state.format
            ),
        ));
    }
    let module = |file: &str| {
        let path = dir.join(file);
        ModuleRecord::load(&path).map_err(|e| record_err(&path, e))
    };
    let optional = |file: &str| {
        let path = dir.join(file);
        path.exists().then(|| module(file)).transpose()
    };
    let path = dir.join(OPTIMIZER);
    let optimizer = OptimizerRecord::load(&path).map_err(|e| record_err(&path, e))?;
    let path = dir.join(SCHEDULE);
    let schedule = LrSchedulerRecord::load(&path).map_err(|e| record_err(&path, e))?;
    Ok(Some(Loaded {
        model: module(MODEL)?,
        ema: optional(EMA)?,
        hypergradient_delta: optional(HYPERGRADIENT)?,
        optimizer,
        schedule,
        state,
    }))
}
