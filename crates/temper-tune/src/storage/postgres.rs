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

use std::collections::BTreeMap;
use std::time::Duration;

use postgres::{Client, IsolationLevel, NoTls, Transaction};

use super::open::redact;
use super::{
    NewTrial, RETRIED_FROM_ATTR, STALE_MESSAGE, Storage, StudyInfo, budget_plan, not_finishable,
    retried_message,
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

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS temper_studies (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS temper_trials (
    study_id BIGINT NOT NULL REFERENCES temper_studies(id),
    number BIGINT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    value DOUBLE PRECISION,
    started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    message TEXT,
    attrs TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (study_id, number)
);
CREATE TABLE IF NOT EXISTS temper_intermediate_values (
    study_id BIGINT NOT NULL,
    number BIGINT NOT NULL,
    step BIGINT NOT NULL,
    value DOUBLE PRECISION,
    PRIMARY KEY (study_id, number, step),
    FOREIGN KEY (study_id, number) REFERENCES temper_trials(study_id, number)
);
";

/// The advisory-lock key serialising table creation ("temper" in ASCII).
const SCHEMA_LOCK: i64 = 0x7465_6d70_6572;

/// How long a connection attempt may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A study database on a PostgreSQL server; one connection per handle (open one per worker
/// thread or process).
pub struct PostgresStorage {
    client: Client,
    /// The URL with its password hidden, for error messages.
    shown: String,
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?OPTIONS]`, or libpq's
    /// `key=value` form) without TLS and creates the tables if they are missing. Errors name
    /// the URL with its password replaced by `***`.
    pub fn connect(url: &str) -> Result<PostgresStorage, TuneError> {
        let shown = redact(url);
        let ctx = format!("connect to {shown}");
        let mut config: postgres::Config = url.parse().map_err(|e| storage(&ctx, chain(&e)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("temper-tune");
        }
        let mut client = config
            .connect(NoTls)
            .map_err(|e| storage(&ctx, chain(&e)))?;
        ensure_tables(&mut client)
            .map_err(|e| storage(&format!("create tables in {shown}"), chain(&e)))?;
        Ok(PostgresStorage { client, shown })
    }

    /// Turns a database error into a [`TuneError`] naming what was done and where.
    fn err(&self, context: &str) -> impl Fn(postgres::Error) -> TuneError + use<> {
        let context = format!("{context} ({})", self.shown);
        move |e| storage(&context, chain(&e))
    }
}

/// An error and its causes on one line: the `postgres` crate's own text is only the kind
/// ("db error", "error connecting to server"), the server's message is its source.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text
}

fn ensure_tables(client: &mut Client) -> Result<(), postgres::Error> {
    let present: bool = client
        .query_one(
            "SELECT to_regclass('temper_studies') IS NOT NULL
                AND to_regclass('temper_trials') IS NOT NULL
                AND to_regclass('temper_intermediate_values') IS NOT NULL",
            &[],
        )?
        .get(0);
    if present {
        return Ok(());
    }
    // Concurrent `CREATE TABLE IF NOT EXISTS` can still collide on the catalog's unique
    // indexes; the advisory lock makes creators take turns.
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    tx.batch_execute(SCHEMA)?;
    tx.commit()
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

impl Storage for PostgresStorage {
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError> {
        let row = self
            .client
            .query_opt(
                "SELECT id, direction FROM temper_studies WHERE name = $1",
                &[&name],
            )
            .map_err(self.err("find study"))?;
        row.map(|r| {
            let dir: String = r.get(1);
            let direction = Direction::parse(&dir)
                .ok_or_else(|| storage("find study", format!("bad direction {dir:?}")))?;
            Ok(StudyInfo {
                id: r.get(0),
                name: name.to_string(),
                direction,
            })
        })
        .transpose()
    }

    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError> {
        self.client
            .execute(
                concat!(
                    "INSERT INTO temper_studies (name, direction, created_at) VALUES ($1, $2, ",
                    now!(),
                    ") ON CONFLICT (name) DO NOTHING"
                ),
                &[&name, &direction.as_str()],
            )
            .map_err(self.err("create study"))?;
        self.find_study(name)?
            .ok_or_else(|| storage("create study", "study vanished after insert"))
    }

    fn create_trial(&mut self, study: i64, _now: f64) -> Result<u64, TuneError> {
        let err = self.err("create trial");
        let mut tx = self.client.transaction().map_err(&err)?;
        if !lock_study(&mut tx, study).map_err(&err)? {
            return Err(no_study());
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
    }

    fn create_trial_within(
        &mut self,
        study: i64,
        budget: u64,
        _now: f64,
    ) -> Result<Option<NewTrial>, TuneError> {
        let err = self.err("create trial");
        let mut tx = self.client.transaction().map_err(&err)?;
        if !lock_study(&mut tx, study).map_err(&err)? {
            return Err(no_study());
        }
        // Only a late `finish` (outside the lock) can change the plan under us: it turns an
        // unretried stale trial into a finished one. Then the retry's conditional update
        // matches nothing and we plan again; each round removes one candidate.
        loop {
            let rows = tx
                .query(
                    "SELECT number, state, message FROM temper_trials WHERE study_id = $1",
                    &[&study],
                )
                .map_err(&err)?;
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
                parsed.push((number as u64, state, r.get::<_, Option<&str>>(2)));
            }
            let plan = budget_plan(parsed);
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

    fn set_params(
        &mut self,
        study: i64,
        number: u64,
        p: &Params,
        attrs: &BTreeMap<String, f64>,
    ) -> Result<(), TuneError> {
        let json = serde_json::to_string(p).map_err(|e| storage("set params", e))?;
        let n = self
            .client
            .execute(
                "UPDATE temper_trials SET params = $3 WHERE study_id = $1 AND number = $2",
                &[&study, &(number as i64), &json],
            )
            .map_err(self.err("set params"))?;
        expect_one(n, number)?;
        if !attrs.is_empty() {
            let list: Vec<(String, f64)> = attrs.iter().map(|(k, v)| (k.clone(), *v)).collect();
            self.set_attrs(study, number, &list)?;
        }
        Ok(())
    }

    fn report(
        &mut self,
        study: i64,
        number: u64,
        step: u64,
        value: f64,
        _now: f64,
    ) -> Result<(), TuneError> {
        let err = self.err("report");
        let mut tx = self.client.transaction().map_err(&err)?;
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
    }

    fn set_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError> {
        let err = self.err("set attrs");
        let mut tx = self.client.transaction().map_err(&err)?;
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

    fn finish(
        &mut self,
        study: i64,
        number: u64,
        state: TrialState,
        value: Option<f64>,
        message: Option<&str>,
        _now: f64,
    ) -> Result<(), TuneError> {
        let n = self
            .client
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
            .map_err(self.err("finish trial"))?;
        if n == 1 {
            return Ok(());
        }
        let row = self
            .client
            .query_opt(
                "SELECT state, message FROM temper_trials WHERE study_id = $1 AND number = $2",
                &[&study, &(number as i64)],
            )
            .map_err(self.err("finish trial"))?;
        Err(not_finishable(
            number,
            row.as_ref()
                .and_then(|r| Some((TrialState::parse(r.get(0))?, r.get::<_, Option<&str>>(1)))),
        ))
    }

    fn fail_stale(&mut self, study: i64, max_age: f64, _now: f64) -> Result<usize, TuneError> {
        let err = self.err("fail stale trials");
        let mut tx = self.client.transaction().map_err(&err)?;
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
    }

    fn trials(&mut self, study: i64) -> Result<Vec<Trial>, TuneError> {
        let err = self.err("read trials");
        // One snapshot for both queries: a trial and its intermediate values agree.
        let mut tx = self
            .client
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
}
