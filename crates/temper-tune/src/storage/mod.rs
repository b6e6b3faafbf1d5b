//! Where a study's trials live: [`MemoryStorage`] (one process) and [`SqliteStorage`] (a
//! file several processes on one machine can share). Both implement [`Storage`], the seam a
//! PostgreSQL store for many machines would implement too.

mod sqlite;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use sqlite::SqliteStorage;

use crate::error::{TuneError, storage};
use crate::trial::{Direction, Trial, TrialState};
use crate::value::Params;

/// The message a trial declared dead (its process stopped answering) fails with.
pub const STALE_MESSAGE: &str = "stale: no heartbeat from its process";

/// A study's identity in a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyInfo {
    pub id: i64,
    pub name: String,
    pub direction: Direction,
}

/// Persistent trial bookkeeping. Trial numbers are allocated atomically per study, so
/// concurrent workers never share one.
pub trait Storage: Send {
    /// The study named `name`, if any.
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError>;
    /// Creates the study, or returns the existing one of that name (whatever its direction;
    /// the caller checks).
    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError>;
    /// Allocates the next trial number (0, 1, ...) as a running trial started at `now`.
    fn create_trial(&mut self, study: i64, now: f64) -> Result<u64, TuneError>;
    /// Sets a running trial's parameters and merges `attrs` into its attributes.
    fn set_params(
        &mut self,
        study: i64,
        number: u64,
        params: &Params,
        attrs: &BTreeMap<String, f64>,
    ) -> Result<(), TuneError>;
    /// Records an intermediate value (replacing one at the same step) and a heartbeat.
    fn report(
        &mut self,
        study: i64,
        number: u64,
        step: u64,
        value: f64,
        now: f64,
    ) -> Result<(), TuneError>;
    /// Merges attributes into a trial.
    fn set_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError>;
    /// Finishes a trial.
    fn finish(
        &mut self,
        study: i64,
        number: u64,
        state: TrialState,
        value: Option<f64>,
        message: Option<&str>,
        now: f64,
    ) -> Result<(), TuneError>;
    /// Marks failed (with [`STALE_MESSAGE`]) every running trial whose last heartbeat is
    /// before `cutoff`; returns how many.
    fn fail_stale(&mut self, study: i64, cutoff: f64, now: f64) -> Result<usize, TuneError>;
    /// Every trial of the study, by number.
    fn trials(&mut self, study: i64) -> Result<Vec<Trial>, TuneError>;
}

#[derive(Debug, Default)]
struct MemInner {
    studies: Vec<(StudyInfo, Vec<Trial>)>,
}

/// Trials in memory. Clones share the same studies (threads of one process can each hold
/// one); nothing survives the process.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    inner: Arc<Mutex<MemInner>>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut MemInner) -> Result<R, TuneError>,
    ) -> Result<R, TuneError> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| storage("memory", "lock poisoned"))?;
        f(&mut guard)
    }
}

fn trial_mut(inner: &mut MemInner, study: i64, number: u64) -> Result<&mut Trial, TuneError> {
    inner
        .studies
        .iter_mut()
        .find(|s| s.0.id == study)
        .and_then(|s| s.1.get_mut(number as usize))
        .ok_or(TuneError::Trial {
            number,
            message: "no such trial".into(),
        })
}

impl Storage for MemoryStorage {
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError> {
        self.with(|m| {
            Ok(m.studies
                .iter()
                .find(|s| s.0.name == name)
                .map(|s| s.0.clone()))
        })
    }

    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError> {
        self.with(|m| {
            if let Some(s) = m.studies.iter().find(|s| s.0.name == name) {
                return Ok(s.0.clone());
            }
            let info = StudyInfo {
                id: m.studies.len() as i64 + 1,
                name: name.to_string(),
                direction,
            };
            m.studies.push((info.clone(), Vec::new()));
            Ok(info)
        })
    }

    fn create_trial(&mut self, study: i64, now: f64) -> Result<u64, TuneError> {
        self.with(|m| {
            let s = m
                .studies
                .iter_mut()
                .find(|s| s.0.id == study)
                .ok_or_else(|| storage("create trial", "no such study"))?;
            let number = s.1.len() as u64;
            s.1.push(Trial::new(number, now));
            Ok(number)
        })
    }

    fn set_params(
        &mut self,
        study: i64,
        number: u64,
        params: &Params,
        attrs: &BTreeMap<String, f64>,
    ) -> Result<(), TuneError> {
        self.with(|m| {
            let t = trial_mut(m, study, number)?;
            t.params = params.clone();
            t.attrs.extend(attrs.iter().map(|(k, v)| (k.clone(), *v)));
            Ok(())
        })
    }

    fn report(
        &mut self,
        study: i64,
        number: u64,
        step: u64,
        value: f64,
        now: f64,
    ) -> Result<(), TuneError> {
        self.with(|m| {
            let t = trial_mut(m, study, number)?;
            t.intermediate.insert(step, value);
            t.heartbeat_at = now;
            Ok(())
        })
    }

    fn set_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError> {
        self.with(|m| {
            let t = trial_mut(m, study, number)?;
            t.attrs.extend(attrs.iter().cloned());
            Ok(())
        })
    }

    fn finish(
        &mut self,
        study: i64,
        number: u64,
        state: TrialState,
        value: Option<f64>,
        message: Option<&str>,
        now: f64,
    ) -> Result<(), TuneError> {
        self.with(|m| {
            let t = trial_mut(m, study, number)?;
            t.state = state;
            t.value = value;
            t.message = message.map(str::to_string);
            t.finished_at = Some(now);
            Ok(())
        })
    }

    fn fail_stale(&mut self, study: i64, cutoff: f64, now: f64) -> Result<usize, TuneError> {
        self.with(|m| {
            let mut n = 0;
            if let Some(s) = m.studies.iter_mut().find(|s| s.0.id == study) {
                for t in s.1.iter_mut() {
                    if t.state == TrialState::Running && t.heartbeat_at < cutoff {
                        t.state = TrialState::Failed;
                        t.message = Some(STALE_MESSAGE.to_string());
                        t.finished_at = Some(now);
                        n += 1;
                    }
                }
            }
            Ok(n)
        })
    }

    fn trials(&mut self, study: i64) -> Result<Vec<Trial>, TuneError> {
        self.with(|m| {
            Ok(m.studies
                .iter()
                .find(|s| s.0.id == study)
                .map(|s| s.1.clone())
                .unwrap_or_default())
        })
    }
}
