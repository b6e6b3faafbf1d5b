//! A study file in SQLite (`rusqlite`, SQLite bundled).
//!
//! Tables: `studies(id, name, direction, created_at)`,
//! `trials(study_id, number, state, params JSON, value, started_at, finished_at, heartbeat_at,
//! message, attrs JSON)` and `intermediate_values(study_id, number, step, value)`. Times are
//! seconds since the Unix epoch. Every write is its own transaction, so a killed process loses
//! at most the trial it was running (left `running`; see [`crate::StaleRule`]).
//!
//! Trial numbers are allocated inside `BEGIN IMMEDIATE` (the write lock is taken before the
//! `MAX(number)` is read), so two processes on one file never get the same number; a budgeted
//! allocation counts the study's trials and picks a stale trial to retry under the same lock.
//! Connections wait up to 30 s for the lock (`busy_timeout`); a call still busy (or locked)
//! after that is run again whole with bounded backoff ([`super::Backoff`], at most four
//! tries by default): each call is one transaction, so a busy one changed nothing.
//!
//! SQLite's limits, which [`super::PostgresStorage`] lifts:
//! - one writer at a time: workers queue on the lock, fine for a handful of processes whose
//!   trials take seconds or more, not for hundreds of workers;
//! - the file must be on a local disk of the one machine all workers run on: the WAL journal
//!   uses shared memory and network filesystems (NFS, SMB) break SQLite's locking;
//! - a NaN intermediate value is stored as NULL (SQLite has no NaN) and read back as NaN.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::retry::{Backoff, DEFAULT_BACKOFF, Fail, with_retries};
use super::{
    GAVE_UP_MESSAGE, NewTrial, PlanRow, RETRIED_FROM_ATTR, STALE_MESSAGE, Storage, StudyInfo,
    budget_plan, not_finishable, retried_from_json, retried_message,
};
use crate::error::{TuneError, storage};
use crate::trial::{Direction, Trial, TrialState};
use crate::value::Params;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    value REAL,
    started_at REAL NOT NULL,
    finished_at REAL,
    heartbeat_at REAL NOT NULL,
    message TEXT,
    attrs TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (study_id, number)
);
CREATE TABLE IF NOT EXISTS intermediate_values (
    study_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (study_id, number, step)
);
";

/// How long a connection waits for another's write lock before a try counts as busy.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A study file several processes of one machine can share.
pub struct SqliteStorage {
    conn: Connection,
    backoff: Backoff,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.conn.path())
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// Whether SQLite gave up waiting for another connection's lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Turns a SQLite error into a [`Fail`]: busy and locked are transient.
fn db(context: &str) -> impl Fn(rusqlite::Error) -> Fail + '_ {
    move |e| {
        if is_busy(&e) {
            Fail::Transient(storage(context, e))
        } else {
            Fail::Fatal(storage(context, e))
        }
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the study file at `path`, with a [`SQLITE_BUSY_TIMEOUT`] and
    /// [`DEFAULT_BACKOFF`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStorage, TuneError> {
        let path = path.as_ref();
        let ctx = format!("open {}", path.display());
        let conn = Connection::open(path).map_err(|e| storage(&ctx, e))?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
            .map_err(|e| storage(&ctx, e))?;
        let mut s = SqliteStorage {
            conn,
            backoff: DEFAULT_BACKOFF,
        };
        // Setting WAL mode and creating the tables take the write lock too.
        s.run(|conn| {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db(&ctx))?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(db(&ctx))?;
            conn.execute_batch(SCHEMA).map_err(db(&ctx))
        })?;
        Ok(s)
    }

    /// Replaces how long one try waits for another connection's write lock
    /// ([`SQLITE_BUSY_TIMEOUT`] by default).
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), TuneError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| storage("set busy timeout", e))
    }

    /// Replaces how a call still busy after the busy timeout is retried ([`DEFAULT_BACKOFF`]
    /// by default).
    pub fn set_backoff(&mut self, backoff: Backoff) {
        self.backoff = backoff;
    }

    /// Runs one call, again whole while SQLite is busy, within the backoff's bound.
    fn run<T>(
        &mut self,
        mut f: impl FnMut(&mut Connection) -> Result<T, Fail>,
    ) -> Result<T, TuneError> {
        let conn = &mut self.conn;
        with_retries(&self.backoff, |_| f(conn))
    }
}

fn merge_attrs(
    conn: &mut Connection,
    study: i64,
    number: u64,
    attrs: &[(String, f64)],
) -> Result<(), Fail> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db("set attrs"))?;
    let current: String = tx
        .query_row(
            "SELECT attrs FROM trials WHERE study_id = ?1 AND number = ?2",
            params![study, number as i64],
            |r| r.get(0),
        )
        .map_err(db("set attrs"))?;
    let mut map: BTreeMap<String, f64> =
        serde_json::from_str(&current).map_err(|e| storage("set attrs", e))?;
    map.extend(attrs.iter().cloned());
    let json = serde_json::to_string(&map).map_err(|e| storage("set attrs", e))?;
    tx.execute(
        "UPDATE trials SET attrs = ?3 WHERE study_id = ?1 AND number = ?2",
        params![study, number as i64, json],
    )
    .map_err(db("set attrs"))?;
    tx.commit().map_err(db("set attrs"))
}

fn expect_one(n: usize, number: u64) -> Result<(), TuneError> {
    if n == 1 {
        Ok(())
    } else {
        Err(TuneError::Trial {
            number,
            message: "no such trial".into(),
        })
    }
}

fn find_study(conn: &mut Connection, name: &str) -> Result<Option<StudyInfo>, Fail> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, direction FROM studies WHERE name = ?1",
            params![name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db("find study"))?;
    let Some((id, dir)) = row else {
        return Ok(None);
    };
    let direction = Direction::parse(&dir)
        .ok_or_else(|| storage("find study", format!("bad direction {dir:?}")))?;
    Ok(Some(StudyInfo {
        id,
        name: name.to_string(),
        direction,
    }))
}

/// The budgeted allocation: the write lock, taken first, makes the count, the retry pick,
/// the give-ups and the insert one step.
fn allocate_within(
    conn: &mut Connection,
    study: i64,
    budget: u64,
    now: f64,
) -> Result<Option<NewTrial>, Fail> {
    let ctx = "create trial";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db(ctx))?;
    let rows: Vec<(i64, String, Option<String>, String)> = {
        let mut stmt = tx
            .prepare_cached("SELECT number, state, message, attrs FROM trials WHERE study_id = ?1")
            .map_err(db(ctx))?;
        stmt.query_map(params![study], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(db(ctx))?
        .collect::<Result<_, _>>()
        .map_err(db(ctx))?
    };
    let mut parsed = Vec::with_capacity(rows.len());
    for (number, state, message, attrs) in &rows {
        let state = TrialState::parse(state)
            .ok_or_else(|| storage(ctx, format!("trial {number}: bad state {state:?}")))?;
        parsed.push(PlanRow {
            number: *number as u64,
            state,
            message: message.as_deref(),
            retried_from: retried_from_json(attrs),
        });
    }
    let plan = budget_plan(parsed);
    for &g in &plan.give_up {
        tx.execute(
            "UPDATE trials SET message = ?3 WHERE study_id = ?1 AND number = ?2",
            params![study, g as i64, GAVE_UP_MESSAGE],
        )
        .map_err(db(ctx))?;
    }
    if plan.counted >= budget {
        tx.commit().map_err(db(ctx))?;
        return Ok(None);
    }
    let (p, attrs) = match plan.retry {
        Some(r) => {
            tx.execute(
                "UPDATE trials SET message = ?3 WHERE study_id = ?1 AND number = ?2",
                params![study, r as i64, retried_message(plan.next)],
            )
            .map_err(db(ctx))?;
            let p: String = tx
                .query_row(
                    "SELECT params FROM trials WHERE study_id = ?1 AND number = ?2",
                    params![study, r as i64],
                    |row| row.get(0),
                )
                .map_err(db(ctx))?;
            let attrs = BTreeMap::from([(RETRIED_FROM_ATTR.to_string(), r as f64)]);
            (
                p,
                serde_json::to_string(&attrs).map_err(|e| storage(ctx, e))?,
            )
        }
        None => ("{}".to_string(), "{}".to_string()),
    };
    tx.execute(
        "INSERT INTO trials (study_id, number, state, params, started_at, heartbeat_at, attrs)
         VALUES (?1, ?2, 'running', ?3, ?4, ?4, ?5)",
        params![study, plan.next as i64, p, now, attrs],
    )
    .map_err(db(ctx))?;
    tx.commit().map_err(db(ctx))?;
    Ok(Some(NewTrial {
        number: plan.next,
        retried_from: plan.retry,
    }))
}

fn finish(
    conn: &mut Connection,
    (study, number): (i64, u64),
    state: TrialState,
    value: Option<f64>,
    message: Option<&str>,
    now: f64,
) -> Result<(), Fail> {
    let n = conn
        .execute(
            "UPDATE trials SET state = ?3, value = ?4, message = ?5, finished_at = ?6
             WHERE study_id = ?1 AND number = ?2
               AND (state = 'running' OR (state = 'failed' AND message = ?7))",
            params![
                study,
                number as i64,
                state.as_str(),
                value,
                message,
                now,
                STALE_MESSAGE
            ],
        )
        .map_err(db("finish trial"))?;
    if n == 1 {
        return Ok(());
    }
    let current: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT state, message FROM trials WHERE study_id = ?1 AND number = ?2",
            params![study, number as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db("finish trial"))?;
    Err(not_finishable(
        number,
        current
            .as_ref()
            .and_then(|(s, m)| Some((TrialState::parse(s)?, m.as_deref()))),
    )
    .into())
}

impl Storage for SqliteStorage {
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError> {
        self.run(|conn| find_study(conn, name))
    }

    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError> {
        self.run(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO studies (name, direction, created_at) VALUES (?1, ?2, ?3)",
                params![name, direction.as_str(), crate::trial::now_secs()],
            )
            .map_err(db("create study"))?;
            find_study(conn, name)?
                .ok_or_else(|| storage("create study", "study vanished after insert").into())
        })
    }

    fn create_trial(&mut self, study: i64, now: f64) -> Result<u64, TuneError> {
        self.run(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("create trial"))?;
            let number: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1",
                    params![study],
                    |r| r.get(0),
                )
                .map_err(db("create trial"))?;
            tx.execute(
                "INSERT INTO trials (study_id, number, state, started_at, heartbeat_at)
                 VALUES (?1, ?2, 'running', ?3, ?3)",
                params![study, number, now],
            )
            .map_err(db("create trial"))?;
            tx.commit().map_err(db("create trial"))?;
            Ok(number as u64)
        })
    }

    fn create_trial_within(
        &mut self,
        study: i64,
        budget: u64,
        now: f64,
    ) -> Result<Option<NewTrial>, TuneError> {
        self.run(|conn| allocate_within(conn, study, budget, now))
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
        self.run(|conn| {
            let n = conn
                .execute(
                    "UPDATE trials SET params = ?3 WHERE study_id = ?1 AND number = ?2",
                    params![study, number as i64, json],
                )
                .map_err(db("set params"))?;
            expect_one(n, number)?;
            if !list.is_empty() {
                merge_attrs(conn, study, number, &list)?;
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
        now: f64,
    ) -> Result<(), TuneError> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(db("report"))?;
            tx.execute(
                "INSERT OR REPLACE INTO intermediate_values (study_id, number, step, value)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    study,
                    number as i64,
                    step as i64,
                    (!value.is_nan()).then_some(value)
                ],
            )
            .map_err(db("report"))?;
            let n = tx
                .execute(
                    "UPDATE trials SET heartbeat_at = ?3 WHERE study_id = ?1 AND number = ?2",
                    params![study, number as i64, now],
                )
                .map_err(db("report"))?;
            expect_one(n, number)?;
            tx.commit().map_err(db("report"))
        })
    }

    fn set_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError> {
        self.run(|conn| merge_attrs(conn, study, number, attrs))
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
        self.run(|conn| finish(conn, (study, number), state, value, message, now))
    }

    fn fail_stale(&mut self, study: i64, max_age: f64, now: f64) -> Result<usize, TuneError> {
        let cutoff = now - max_age;
        self.run(|conn| {
            conn.execute(
                "UPDATE trials SET state = 'failed', message = ?3, finished_at = ?4
                 WHERE study_id = ?1 AND state = 'running' AND heartbeat_at < ?2",
                params![study, cutoff, STALE_MESSAGE, now],
            )
            .map_err(db("fail stale trials"))
        })
    }

    fn trials(&mut self, study: i64) -> Result<Vec<Trial>, TuneError> {
        self.run(|conn| read_trials(conn, study))
    }
}

/// Every trial of `study` with its intermediate values, read in one transaction.
fn read_trials(conn: &mut Connection, study: i64) -> Result<Vec<Trial>, Fail> {
    let tx = conn.transaction().map_err(db("read trials"))?;
    let mut trials = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT number, state, params, value, started_at, finished_at, heartbeat_at,
                        message, attrs
                 FROM trials WHERE study_id = ?1 ORDER BY number",
            )
            .map_err(db("read trials"))?;
        let rows = stmt
            .query_map(params![study], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(db("read trials"))?;
        let mut out = Vec::new();
        for row in rows {
            let (number, state, p, value, started, finished, heartbeat, message, attrs) =
                row.map_err(db("read trials"))?;
            let bad = |what: &str, e: &dyn std::fmt::Display| {
                storage("read trials", format!("trial {number}: {what}: {e}"))
            };
            out.push(Trial {
                number: number as u64,
                state: TrialState::parse(&state).ok_or_else(|| bad("state", &state))?,
                params: serde_json::from_str(&p).map_err(|e| bad("params", &e))?,
                value,
                intermediate: BTreeMap::new(),
                started_at: started,
                finished_at: finished,
                heartbeat_at: heartbeat,
                message,
                attrs: serde_json::from_str(&attrs).map_err(|e| bad("attrs", &e))?,
            });
        }
        out
    };
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT number, step, value FROM intermediate_values WHERE study_id = ?1",
            )
            .map_err(db("read trials"))?;
        let rows = stmt
            .query_map(params![study], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                ))
            })
            .map_err(db("read trials"))?;
        for row in rows {
            let (number, step, value) = row.map_err(db("read trials"))?;
            if let Some(t) = trials
                .get_mut(number as usize)
                .filter(|t| t.number == number as u64)
            {
                t.intermediate
                    .insert(step as u64, value.unwrap_or(f64::NAN));
            }
        }
    }
    tx.commit().map_err(db("read trials"))?;
    Ok(trials)
}
