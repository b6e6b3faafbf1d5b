//! Studies in a PostgreSQL database (the `postgres` crate's blocking client, no TLS), shared
//! by workers on many machines.
//!
//! The tables are SQLite's (see `sqlite.rs`) with PostgreSQL types and a `temper_` prefix, so
//! that they cannot be mistaken for another tool's `studies` / `trials` (Optuna's RDB storage
//! uses those names): `temper_studies(id BIGSERIAL, name, direction, created_at)`,
//! `temper_trials(study_id, number, state, params JSON text, value, started_at, finished_at,
//! heartbeat_at, message, attrs JSON text)` and `temper_intermediate_values(study_id, number,
//! step, value)`. Times are seconds since the Unix epoch read from the **server's** clock
//! (`clock_timestamp()`), as Optuna's RDB storage reads the database's `now()` both to
//! record a heartbeat and to judge it stale (`optuna/storages/_rdb/storage.py`,
//! `record_heartbeat` and `_get_stale_trial_ids`): workers whose clocks disagree still judge
//! staleness alike. NaN
//! values are stored as NaN (PostgreSQL's `double precision` has one).
//!
//! Concurrency:
//! - Trial allocation locks the study's row (`SELECT ... FOR NO KEY UPDATE`) before reading
//!   `MAX(number)` and, for a budgeted allocation, counting the study's trials and picking a
//!   stale trial to retry. A per-study counter row bumped with `UPDATE ... RETURNING` would
//!   hand out numbers atomically too, but the budget check reads every trial of the study, so
//!   the lock has to cover that read as well; the study row is that lock. Allocators of one
//!   study queue on it (a few milliseconds each), other studies are unaffected, and under
//!   READ COMMITTED each statement after the lock sees every trial the previous holder
//!   committed. `NO KEY UPDATE` rather than `UPDATE` leaves the foreign-key checks of trial
//!   inserts (`KEY SHARE`) unblocked. The primary key `(study_id, number)` would reject a
//!   duplicate number in any case.
//! - `fail_stale` is one `UPDATE ... WHERE state = 'running' AND heartbeat_at < cutoff`: two
//!   workers running it at once fail each trial once (the second re-checks the row after the
//!   first commits). It takes the study lock too, so a budget count never sees a trial turn
//!   stale half-way.
//! - `finish` is one conditional `UPDATE` (running, or stale and not yet retried), so a slow
//!   process's late result and the retry of its trial cannot both win.
//! - The tables are created once, under a transaction-scoped advisory lock, only when missing:
//!   a database user without `CREATE` rights can use tables an administrator made beforehand.
//!
//! Failures: every call is one transaction (or one statement), run again whole after a
//! reconnect when the connection was lost or the server rolled it back for a conflict, within
//! a bounded backoff ([`super::Backoff`]); the session's timeouts are in `pg_session.rs`. A
//! connection lost while a COMMIT was under way leaves unknown whether it took effect: a
//! retried `finish` that finds the trial already in the state it was asked for succeeds,
//! and a retried allocation may leave one extra trial running, failed as stale later.

use std::collections::BTreeMap;

use postgres::{Client, IsolationLevel, Transaction};

use super::pg_session::{Names, config, ensure_tables, open_session};
use super::retry::{Backoff, DEFAULT_BACKOFF, Fail, with_retries};
use super::{
    GAVE_UP_MESSAGE, NewTrial, PlanRow, RETRIED_FROM_ATTR, STALE_MESSAGE, Storage, StudyInfo,
    budget_plan, not_finishable, retried_from_json, retried_message,
};
use crate::error::{TuneError, storage};
use crate::trial::{Direction, Trial, TrialState};
use crate::value::Params;

/// The server's clock in seconds since the Unix epoch.
macro_rules! now {
    () => {
        "EXTRACT(EPOCH FROM clock_timestamp())::float8"
    };
}

/// A study database on a PostgreSQL server; one connection per handle (open one per worker
/// thread or process), re-opened when lost.
pub struct PostgresStorage {
    client: Client,
    config: postgres::Config,
    names: Names,
    backoff: Backoff,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("spec", &self.names.shown)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?OPTIONS]`, or libpq's
    /// `key=value` form) without TLS, with the timeouts and keepalives of `pg_session.rs`,
    /// and creates the tables if they are missing. The first connect is not retried (a wrong
    /// spec fails at once); later calls reconnect within [`DEFAULT_BACKOFF`]. Errors name
    /// the spec with its password replaced by `***`.
    pub fn connect(url: &str) -> Result<PostgresStorage, TuneError> {
        let names = Names::new(url);
        let config = config(url, &names)?;
        let mut client = open_session(&config, &names)?;
        ensure_tables(&mut client)
            .map_err(|e| names.error(&format!("create tables in {}", names.shown), &e))?;
        Ok(PostgresStorage {
            client,
            config,
            names,
            backoff: DEFAULT_BACKOFF,
        })
    }

    /// Replaces how a call that lost its connection is retried ([`DEFAULT_BACKOFF`] by
    /// default).
    pub fn set_backoff(&mut self, backoff: Backoff) {
        self.backoff = backoff;
    }

    /// The current connection, for tests that end it or read its settings.
    #[cfg(test)]
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The connection settings every (re)connect uses.
    #[cfg(test)]
    pub(crate) fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// Runs one call `f(client, names, try)`, again whole on a fresh connection while it
    /// fails transiently, within the backoff's bound.
    fn run<T>(
        &mut self,
        mut f: impl FnMut(&mut Client, &Names, u32) -> Result<T, Fail>,
    ) -> Result<T, TuneError> {
        let PostgresStorage {
            client,
            config,
            names,
            backoff,
        } = self;
        with_retries(backoff, |k| {
            if k > 0 || client.is_closed() {
                *client = open_session(config, names).map_err(Fail::Transient)?;
            }
            f(client, names, k)
        })
    }
}

/// Locks the study's row until the transaction ends; `false` if there is no such study.
fn lock_study(tx: &mut Transaction<'_>, study: i64) -> Result<bool, postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT id FROM temper_studies WHERE id = $1 FOR NO KEY UPDATE",
            &[&study],
        )?
        .is_some())
}

fn no_study() -> TuneError {
    storage("create trial", "no such study")
}

fn expect_one(n: u64, number: u64) -> Result<(), TuneError> {
    if n == 1 {
        Ok(())
    } else {
        Err(TuneError::Trial {
            number,
            message: "no such trial".into(),
        })
    }
}

fn find_study(client: &mut Client, names: &Names, name: &str) -> Result<Option<StudyInfo>, Fail> {
    let row = client
        .query_opt(
            "SELECT id, direction FROM temper_studies WHERE name = $1",
            &[&name],
        )
        .map_err(names.err("find study"))?;
    let Some(r) = row else { return Ok(None) };
    let dir: String = r.get(1);
    let direction = Direction::parse(&dir)
        .ok_or_else(|| storage("find study", format!("bad direction {dir:?}")))?;
    Ok(Some(StudyInfo {
        id: r.get(0),
        name: name.to_string(),
        direction,
    }))
}

/// The study's trials as [`budget_plan`] reads them, under the study lock.
fn plan_rows(
    tx: &mut Transaction<'_>,
    names: &Names,
    study: i64,
) -> Result<super::BudgetPlan, Fail> {
    let rows = tx
        .query(
            "SELECT number, state, message, attrs FROM temper_trials WHERE study_id = $1",
            &[&study],
        )
        .map_err(names.err("create trial"))?;
    let mut parsed = Vec::with_capacity(rows.len());
    for r in &rows {
        let number: i64 = r.get(0);
        let state: &str = r.get(1);
        let state = TrialState::parse(state).ok_or_else(|| {
            storage(
                "create trial",
                format!("trial {number}: bad state {state:?}"),
            )
        })?;
        parsed.push(PlanRow {
            number: number as u64,
            state,
            message: r.get::<_, Option<&str>>(2),
            retried_from: retried_from_json(r.get(3)),
        });
    }
    Ok(budget_plan(parsed))
}

/// The budgeted allocation under the study lock (see the module docs).
fn allocate_within(
    client: &mut Client,
    names: &Names,
    study: i64,
    budget: u64,
) -> Result<Option<NewTrial>, Fail> {
    let err = names.err("create trial");
    let mut tx = client.transaction().map_err(&err)?;
    if !lock_study(&mut tx, study).map_err(&err)? {
        return Err(no_study().into());
    }
    // Only a late `finish` (outside the lock) can change the plan under us: it turns an
    // unretried stale trial into a finished one. Then the retry's conditional update
    // matches nothing and we plan again; each round removes one candidate.
    loop {
        let plan = plan_rows(&mut tx, names, study)?;
        for &g in &plan.give_up {
            // Conditional too: a trial a late `finish` completed counts all the same.
            tx.execute(
                "UPDATE temper_trials SET message = $3
                 WHERE study_id = $1 AND number = $2 AND state = 'failed' AND message = $4",
                &[&study, &(g as i64), &GAVE_UP_MESSAGE, &STALE_MESSAGE],
            )
            .map_err(&err)?;
        }
        if plan.counted >= budget {
            tx.commit().map_err(&err)?;
            return Ok(None);
        }
        let (params, attrs) = match plan.retry {
            Some(r) => {
                let taken = tx
                    .query_opt(
                        "UPDATE temper_trials SET message = $3
                         WHERE study_id = $1 AND number = $2
                           AND state = 'failed' AND message = $4
                         RETURNING params",
                        &[
                            &study,
                            &(r as i64),
                            &retried_message(plan.next),
                            &STALE_MESSAGE,
                        ],
                    )
                    .map_err(&err)?;
                let Some(row) = taken else { continue };
                let attrs = BTreeMap::from([(RETRIED_FROM_ATTR.to_string(), r as f64)]);
                let attrs =
                    serde_json::to_string(&attrs).map_err(|e| storage("create trial", e))?;
                (row.get::<_, String>(0), attrs)
            }
            None => ("{}".to_string(), "{}".to_string()),
        };
        tx.execute(
            concat!(
                "INSERT INTO temper_trials
                     (study_id, number, state, params, started_at, heartbeat_at, attrs)
                 VALUES ($1, $2, 'running', $3, ",
                now!(),
                ", ",
                now!(),
                ", $4)"
            ),
            &[&study, &(plan.next as i64), &params, &attrs],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        return Ok(Some(NewTrial {
            number: plan.next,
            retried_from: plan.retry,
        }));
    }
}

fn set_attrs(
    client: &mut Client,
    names: &Names,
    (study, number): (i64, u64),
    attrs: &[(String, f64)],
) -> Result<(), Fail> {
    let err = names.err("set attrs");
    let mut tx = client.transaction().map_err(&err)?;
    let current: String = tx
        .query_opt(
            "SELECT attrs FROM temper_trials WHERE study_id = $1 AND number = $2 FOR UPDATE",
            &[&study, &(number as i64)],
        )
        .map_err(&err)?
        .ok_or(TuneError::Trial {
            number,
            message: "no such trial".into(),
        })?
        .get(0);
    let mut map: BTreeMap<String, f64> =
        serde_json::from_str(&current).map_err(|e| storage("set attrs", e))?;
    map.extend(attrs.iter().cloned());
    let json = serde_json::to_string(&map).map_err(|e| storage("set attrs", e))?;
    tx.execute(
        "UPDATE temper_trials SET attrs = $3 WHERE study_id = $1 AND number = $2",
        &[&study, &(number as i64), &json],
    )
    .map_err(&err)?;
    tx.commit().map_err(&err)
}

/// `finish` for one try; `retry` > 0 when an earlier try may have committed before its
/// connection was lost.
fn finish(
    client: &mut Client,
    names: &Names,
    (study, number): (i64, u64),
    (state, value, message): (TrialState, Option<f64>, Option<&str>),
    retry: u32,
) -> Result<(), Fail> {
    let err = names.err("finish trial");
    let n = client
        .execute(
            concat!(
                "UPDATE temper_trials SET state = $3, value = $4, message = $5, finished_at = ",
                now!(),
                " WHERE study_id = $1 AND number = $2
                    AND (state = 'running' OR (state = 'failed' AND message = $6))"
            ),
            &[
                &study,
                &(number as i64),
                &state.as_str(),
                &value,
                &message,
                &STALE_MESSAGE,
            ],
        )
        .map_err(&err)?;
    if n == 1 {
        return Ok(());
    }
    let row = client
        .query_opt(
            "SELECT state, message, value FROM temper_trials WHERE study_id = $1 AND number = $2",
            &[&study, &(number as i64)],
        )
        .map_err(&err)?;
    let current = row
        .as_ref()
        .and_then(|r| Some((TrialState::parse(r.get(0))?, r.get::<_, Option<&str>>(1))));
    let stored_value = row.as_ref().and_then(|r| r.get::<_, Option<f64>>(2));
    if retry > 0
        && current == Some((state, message))
        && stored_value.map(f64::to_bits) == value.map(f64::to_bits)
    {
        // The lost try's COMMIT went through.
        return Ok(());
    }
    Err(not_finishable(number, current).into())
}

impl Storage for PostgresStorage {
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError> {
        self.run(|client, names, _| find_study(client, names, name))
    }

    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError> {
        self.run(|client, names, _| {
            client
                .execute(
                    concat!(
                        "INSERT INTO temper_studies (name, direction, created_at) VALUES ($1, $2, ",
                        now!(),
                        ") ON CONFLICT (name) DO NOTHING"
                    ),
                    &[&name, &direction.as_str()],
                )
                .map_err(names.err("create study"))?;
            find_study(client, names, name)?
                .ok_or_else(|| storage("create study", "study vanished after insert").into())
        })
    }

    fn create_trial(&mut self, study: i64, _now: f64) -> Result<u64, TuneError> {
        self.run(|client, names, _| {
            let err = names.err("create trial");
            let mut tx = client.transaction().map_err(&err)?;
            if !lock_study(&mut tx, study).map_err(&err)? {
                return Err(no_study().into());
            }
            let number: i64 = tx
                .query_one(
                    concat!(
                        "INSERT INTO temper_trials (study_id, number, state, started_at, heartbeat_at)
                         SELECT $1, COALESCE(MAX(number) + 1, 0), 'running', ",
                        now!(),
                        ", ",
                        now!(),
                        " FROM temper_trials WHERE study_id = $1 RETURNING number"
                    ),
                    &[&study],
                )
                .map_err(&err)?
                .get(0);
            tx.commit().map_err(&err)?;
            Ok(number as u64)
        })
    }

    fn create_trial_within(
        &mut self,
        study: i64,
        budget: u64,
        _now: f64,
    ) -> Result<Option<NewTrial>, TuneError> {
        self.run(|client, names, _| allocate_within(client, names, study, budget))
    }

    fn set_params(
        &mut self,
        study: i64,
        number: u64,
        p: &Params,
        attrs: &BTreeMap<String, f64>,
    ) -> Result<(), TuneError> {
        let json = serde_json::to_string(p).map_err(|e| storage("set params", e))?;
        let list: Vec<(String, f64)> = attrs.iter().map(|(k, v)| (k.clone(), *v)).collect();
        self.run(|client, names, _| {
            let n = client
                .execute(
                    "UPDATE temper_trials SET params = $3 WHERE study_id = $1 AND number = $2",
                    &[&study, &(number as i64), &json],
                )
                .map_err(names.err("set params"))?;
            expect_one(n, number)?;
            if !list.is_empty() {
                set_attrs(client, names, (study, number), &list)?;
            }
            Ok(())
        })
    }

    fn report(
        &mut self,
        study: i64,
        number: u64,
        step: u64,
        value: f64,
        _now: f64,
    ) -> Result<(), TuneError> {
        self.run(|client, names, _| {
            let err = names.err("report");
            let mut tx = client.transaction().map_err(&err)?;
            let n = tx
                .execute(
                    concat!(
                        "UPDATE temper_trials SET heartbeat_at = ",
                        now!(),
                        " WHERE study_id = $1 AND number = $2"
                    ),
                    &[&study, &(number as i64)],
                )
                .map_err(&err)?;
            expect_one(n, number)?;
            tx.execute(
                "INSERT INTO temper_intermediate_values (study_id, number, step, value)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (study_id, number, step) DO UPDATE SET value = EXCLUDED.value",
                &[&study, &(number as i64), &(step as i64), &value],
            )
            .map_err(&err)?;
            tx.commit().map_err(&err)
        })
    }

    fn set_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError> {
        self.run(|client, names, _| set_attrs(client, names, (study, number), attrs))
    }

    fn finish(
        &mut self,
        study: i64,
        number: u64,
        state: TrialState,
        value: Option<f64>,
        message: Option<&str>,
        _now: f64,
    ) -> Result<(), TuneError> {
        self.run(|client, names, k| {
            finish(client, names, (study, number), (state, value, message), k)
        })
    }

    fn fail_stale(&mut self, study: i64, max_age: f64, _now: f64) -> Result<usize, TuneError> {
        self.run(|client, names, _| {
            let err = names.err("fail stale trials");
            let mut tx = client.transaction().map_err(&err)?;
            lock_study(&mut tx, study).map_err(&err)?;
            let n = tx
                .execute(
                    concat!(
                        "UPDATE temper_trials SET state = 'failed', message = $3, finished_at = ",
                        now!(),
                        " WHERE study_id = $1 AND state = 'running' AND heartbeat_at < ",
                        now!(),
                        " - $2"
                    ),
                    &[&study, &max_age, &STALE_MESSAGE],
                )
                .map_err(&err)?;
            tx.commit().map_err(&err)?;
            Ok(n as usize)
        })
    }

    fn trials(&mut self, study: i64) -> Result<Vec<Trial>, TuneError> {
        self.run(|client, names, _| read_trials(client, names, study))
    }
}

/// Every trial of `study` with its intermediate values, from one snapshot.
fn read_trials(client: &mut Client, names: &Names, study: i64) -> Result<Vec<Trial>, Fail> {
    let err = names.err("read trials");
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(&err)?;
    let rows = tx
        .query(
            "SELECT number, state, params, value, started_at, finished_at, heartbeat_at,
                    message, attrs
             FROM temper_trials WHERE study_id = $1 ORDER BY number",
            &[&study],
        )
        .map_err(&err)?;
    let mut trials = Vec::with_capacity(rows.len());
    for r in &rows {
        let number: i64 = r.get(0);
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            storage("read trials", format!("trial {number}: {what}: {e}"))
        };
        let state: &str = r.get(1);
        trials.push(Trial {
            number: number as u64,
            state: TrialState::parse(state).ok_or_else(|| bad("state", &state))?,
            params: serde_json::from_str(r.get(2)).map_err(|e| bad("params", &e))?,
            value: r.get(3),
            intermediate: BTreeMap::new(),
            started_at: r.get(4),
            finished_at: r.get(5),
            heartbeat_at: r.get(6),
            message: r.get(7),
            attrs: serde_json::from_str(r.get(8)).map_err(|e| bad("attrs", &e))?,
        });
    }
    let values = tx
        .query(
            "SELECT number, step, value FROM temper_intermediate_values WHERE study_id = $1",
            &[&study],
        )
        .map_err(&err)?;
    for r in &values {
        let number = r.get::<_, i64>(0) as u64;
        if let Ok(i) = trials.binary_search_by_key(&number, |t| t.number) {
            let value: Option<f64> = r.get(2);
            trials[i]
                .intermediate
                .insert(r.get::<_, i64>(1) as u64, value.unwrap_or(f64::NAN));
        }
    }
    tx.commit().map_err(&err)?;
    Ok(trials)
}
