//! Where a study's trials live: [`MemoryStorage`] (one process), [`SqliteStorage`] (a file
//! several processes on one machine can share) and [`PostgresStorage`] (a database workers on
//! many machines share). All implement [`Storage`]; [`open_storage`] picks one from a string.
//!
//! Budgeted workers ([`Storage::create_trial_within`], [`crate::Study::ask_within`]) follow
//! Optuna's model: every worker opens the same study and asks for trials until the study
//! holds its budget of trials. A trial failed as stale (its process stopped sending
//! heartbeats) does not count towards the budget, and the next allocation re-runs its
//! parameters, as Optuna's `RetryFailedTrialCallback` does (`optuna/storages/_callbacks.py`),
//! recording the original's number in the attribute [`RETRIED_FROM_ATTR`].
//!
//! Retries are bounded so that one bad trial never blocks a study: a trial whose every run
//! kills its worker (out of memory, a crash in a native library) would otherwise be retried
//! forever without ever counting. A stale trial is re-run at most [`MAX_STALE_RETRIES`]
//! times along its chain of retries (the original, its retry, the retry's retry...); when
//! the last retry goes stale too, the next allocation marks it [`GAVE_UP_MESSAGE`] instead,
//! and that trial counts towards the budget like any failed trial. A study of budget `n`
//! thus allocates at most `n * (MAX_STALE_RETRIES + 1)` trials, however its workers die.
//!
//! Storage hiccups (SQLite busy, a PostgreSQL connection lost) are retried with bounded
//! backoff: see [`Backoff`]. Storage specs and messages keep passwords out: see [`redact`]
//! and [`spec_for_disk`].

mod open;
#[cfg(feature = "postgres")]
mod pg_session;
#[cfg(feature = "postgres")]
mod postgres;
mod redact;
mod retry;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use open::open_storage;
#[cfg(feature = "postgres")]
pub use pg_session::{
    CONNECT_TIMEOUT, IDLE_IN_TRANSACTION_TIMEOUT, KEEPALIVES_IDLE, KEEPALIVES_INTERVAL,
    KEEPALIVES_RETRIES, STATEMENT_TIMEOUT, TCP_USER_TIMEOUT,
};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStorage;
pub use redact::{redact, spec_for_disk};
pub use retry::{Backoff, DEFAULT_BACKOFF};
#[cfg(feature = "sqlite")]
pub use sqlite::{SQLITE_BUSY_TIMEOUT, SqliteStorage};

use crate::error::{TuneError, storage};
use crate::trial::{Direction, Trial, TrialState};
use crate::value::Params;

/// The message a trial declared dead (its process stopped answering) fails with. Once a
/// budgeted allocation has re-run its parameters, the message becomes
/// `"{STALE_MESSAGE}; retried as trial N"`.
pub const STALE_MESSAGE: &str = "stale: no heartbeat from its process";

/// The attribute a retry of a stale trial carries: the stale trial's number.
pub const RETRIED_FROM_ATTR: &str = "retried_from";

/// How many times a stale trial's parameters are re-run along one chain of retries: 1, so a
/// trial gets a second chance (its worker may have died for reasons of its own: a node
/// reboot, a pre-emption) but not a third (twice in a row points at the trial itself).
pub const MAX_STALE_RETRIES: u32 = 1;

/// The message of a stale trial whose chain of retries is spent: it is not re-run, and it
/// counts towards a budget. Deliberately not prefixed by [`STALE_MESSAGE`] (see
/// [`is_stale`]).
pub const GAVE_UP_MESSAGE: &str =
    "gave up: no heartbeat from its process, and its retries are spent";

/// Whether a trial was failed as stale (retried or waiting for a retry): such trials do not
/// count towards a budget. A trial marked [`GAVE_UP_MESSAGE`] is not stale in this sense:
/// it counts.
pub fn is_stale(state: TrialState, message: Option<&str>) -> bool {
    state == TrialState::Failed && message.is_some_and(|m| m.starts_with(STALE_MESSAGE))
}

/// The message of a stale trial once trial `by` re-runs its parameters.
pub(crate) fn retried_message(by: u64) -> String {
    format!("{STALE_MESSAGE}; retried as trial {by}")
}

/// A trial allocated by [`Storage::create_trial_within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewTrial {
    /// The allocated trial number.
    pub number: u64,
    /// The stale trial whose parameters were copied into this one (also stored as the
    /// attribute [`RETRIED_FROM_ATTR`]).
    pub retried_from: Option<u64>,
}

/// What a budgeted allocation does, decided from the study's trials while the allocator
/// holds the study's lock.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BudgetPlan {
    /// Trials that count: running or finished, stale-failed ones excluded, the ones in
    /// `give_up` included.
    pub counted: u64,
    /// The number a new trial gets.
    pub next: u64,
    /// The lowest stale trial not yet retried whose chain may still be retried.
    pub retry: Option<u64>,
    /// Stale trials not yet retried whose chain has had [`MAX_STALE_RETRIES`] retries: the
    /// allocator gives their message [`GAVE_UP_MESSAGE`].
    pub give_up: Vec<u64>,
}

/// One trial as [`budget_plan`] sees it.
pub(crate) struct PlanRow<'a> {
    pub number: u64,
    pub state: TrialState,
    pub message: Option<&'a str>,
    /// Its [`RETRIED_FROM_ATTR`], if it is a retry.
    pub retried_from: Option<u64>,
}

pub(crate) fn budget_plan<'a>(rows: impl IntoIterator<Item = PlanRow<'a>>) -> BudgetPlan {
    let mut rows: Vec<PlanRow<'a>> = rows.into_iter().collect();
    rows.sort_by_key(|r| r.number);
    let mut plan = BudgetPlan {
        counted: 0,
        next: 0,
        retry: None,
        give_up: Vec::new(),
    };
    // How many retries precede each trial in its chain; a retry's original has a smaller
    // number, so one pass in number order sees every parent first.
    let mut depth: BTreeMap<u64, u32> = BTreeMap::new();
    for row in &rows {
        let d = row
            .retried_from
            .filter(|&p| p < row.number)
            .map_or(0, |p| depth.get(&p).map_or(1, |d| d + 1));
        depth.insert(row.number, d);
        plan.next = plan.next.max(row.number + 1);
        if !is_stale(row.state, row.message) {
            plan.counted += 1;
        } else if row.message == Some(STALE_MESSAGE) {
            if d >= MAX_STALE_RETRIES {
                plan.give_up.push(row.number);
                plan.counted += 1;
            } else if plan.retry.is_none() {
                plan.retry = Some(row.number);
            }
        }
    }
    plan
}

/// The [`RETRIED_FROM_ATTR`] of a trial's stored attributes (a JSON object); `None` when
/// absent or unreadable (then the trial starts a chain of its own). Only the database
/// storages keep attributes as JSON text.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn retried_from_json(attrs: &str) -> Option<u64> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(attrs).ok()?;
    let v = map.get(RETRIED_FROM_ATTR)?.as_f64()?;
    (v >= 0.0 && v.fract() == 0.0).then_some(v as u64)
}

/// The error for finishing a trial that is neither running nor stale-and-unretried;
/// `current` is its (state, message) if it exists.
pub(crate) fn not_finishable(
    number: u64,
    current: Option<(TrialState, Option<&str>)>,
) -> TuneError {
    let message = match current {
        None => "no such trial".to_string(),
        Some((state, Some(m))) if is_stale(state, Some(m)) || m == GAVE_UP_MESSAGE => {
            format!("already failed ({m})")
        }
        Some((state, _)) => format!("already {}", state.as_str()),
    };
    TuneError::Trial { number, message }
}

/// A study's identity in a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyInfo {
    /// The storage's key for the study, passed to every [`Storage`] call.
    pub id: i64,
    /// The study's unique name.
    pub name: String,
    /// The direction it was created with.
    pub direction: Direction,
}

/// Persistent trial bookkeeping. Trial numbers are allocated atomically per study, so
/// concurrent workers never share one.
///
/// Times are seconds since the Unix epoch. `now` is the caller's clock; a storage with a
/// clock of its own that every worker shares (PostgreSQL's server clock) uses that instead, so
/// that heartbeats from machines whose clocks disagree compare fairly.
pub trait Storage: Send {
    /// The study named `name`, if any.
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError>;
    /// Creates the study, or returns the existing one of that name (whatever its direction;
    /// the caller checks).
    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError>;
    /// Allocates the next trial number (0, 1, ...) as a running trial started at `now`.
    fn create_trial(&mut self, study: i64, now: f64) -> Result<u64, TuneError>;
    /// Allocates the next trial unless `budget` trials already count (running or finished,
    /// stale-failed ones excluded), in one atomic step: concurrent
    /// workers never overshoot the budget. When a stale trial has not been retried yet, the
    /// new trial copies its parameters and gets the attribute [`RETRIED_FROM_ATTR`], and the
    /// stale trial's message becomes `"{STALE_MESSAGE}; retried as trial N"` (so it is never
    /// retried twice, nor finished late by its slow process). A stale trial whose chain has
    /// had [`MAX_STALE_RETRIES`] retries is marked [`GAVE_UP_MESSAGE`] instead, and counts.
    fn create_trial_within(
        &mut self,
        study: i64,
        budget: u64,
        now: f64,
    ) -> Result<Option<NewTrial>, TuneError>;
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
    /// Finishes a trial that is running, or failed as stale and not yet retried (its process
    /// was slow, not dead); otherwise a [`TuneError::Trial`] saying what it already is. The
    /// check and the write are one atomic step.
    fn finish(
        &mut self,
        study: i64,
        number: u64,
        state: TrialState,
        value: Option<f64>,
        message: Option<&str>,
        now: f64,
    ) -> Result<(), TuneError>;
    /// Marks failed (with [`STALE_MESSAGE`]) every running trial whose last heartbeat is more
    /// than `max_age` seconds old (`f64::NEG_INFINITY`: every running trial); returns how
    /// many. One atomic statement: two workers running it at once fail each trial once.
    fn fail_stale(&mut self, study: i64, max_age: f64, now: f64) -> Result<usize, TuneError>;
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
    /// An empty storage.
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

    fn create_trial_within(
        &mut self,
        study: i64,
        budget: u64,
        now: f64,
    ) -> Result<Option<NewTrial>, TuneError> {
        self.with(|m| {
            let s = m
                .studies
                .iter_mut()
                .find(|s| s.0.id == study)
                .ok_or_else(|| storage("create trial", "no such study"))?;
            let plan = budget_plan(s.1.iter().map(|t| {
                PlanRow {
                    number: t.number,
                    state: t.state,
                    message: t.message.as_deref(),
                    retried_from: t
                        .attrs
                        .get(RETRIED_FROM_ATTR)
                        .filter(|v| **v >= 0.0)
                        .map(|v| *v as u64),
                }
            }));
            for &g in &plan.give_up {
                s.1[g as usize].message = Some(GAVE_UP_MESSAGE.to_string());
            }
            if plan.counted >= budget {
                return Ok(None);
            }
            let number = s.1.len() as u64;
            let mut trial = Trial::new(number, now);
            if let Some(r) = plan.retry {
                let stale = &mut s.1[r as usize];
                stale.message = Some(retried_message(number));
                trial.params = stale.params.clone();
                trial.attrs.insert(RETRIED_FROM_ATTR.to_string(), r as f64);
            }
            s.1.push(trial);
            Ok(Some(NewTrial {
                number,
                retried_from: plan.retry,
            }))
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
            let unretried_stale =
                t.state == TrialState::Failed && t.message.as_deref() == Some(STALE_MESSAGE);
            if t.state != TrialState::Running && !unretried_stale {
                return Err(not_finishable(
                    number,
                    Some((t.state, t.message.as_deref())),
                ));
            }
            t.state = state;
            t.value = value;
            t.message = message.map(str::to_string);
            t.finished_at = Some(now);
            Ok(())
        })
    }

    fn fail_stale(&mut self, study: i64, max_age: f64, now: f64) -> Result<usize, TuneError> {
        let cutoff = now - max_age;
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

#[cfg(test)]
mod tests;
