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
//! Connections wait up to 30 s for the lock (`busy_timeout`).
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

use super::{
    NewTrial, RETRIED_FROM_ATTR, STALE_MESSAGE, Storage, StudyInfo, budget_plan, not_finishable,
    retried_message,
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

/// A study file several processes of one machine can share.
pub struct SqliteStorage {
    conn: Connection,
}

fn db(context: &str) -> impl Fn(rusqlite::Error) -> TuneError + '_ {
    move |e| storage(context, e)
}

impl SqliteStorage {
    /// Opens (creating if needed) the study file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStorage, TuneError> {
        let path = path.as_ref();
        let ctx = format!("open {}", path.display());
        let conn = Connection::open(path).map_err(|e| storage(&ctx, e))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| storage(&ctx, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| storage(&ctx, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| storage(&ctx, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| storage(&ctx, e))?;
        Ok(SqliteStorage { conn })
    }

    fn merge_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError> {
        let tx = self
            .conn
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

impl Storage for SqliteStorage {
    fn find_study(&mut self, name: &str) -> Result<Option<StudyInfo>, TuneError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, direction FROM studies WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db("find study"))?;
        row.map(|(id, dir)| {
            let direction = Direction::parse(&dir)
                .ok_or_else(|| storage("find study", format!("bad direction {dir:?}")))?;
            Ok(StudyInfo {
                id,
                name: name.to_string(),
                direction,
            })
        })
        .transpose()
    }

    fn create_study(&mut self, name: &str, direction: Direction) -> Result<StudyInfo, TuneError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO studies (name, direction, created_at) VALUES (?1, ?2, ?3)",
                params![name, direction.as_str(), crate::trial::now_secs()],
            )
            .map_err(db("create study"))?;
        self.find_study(name)?
            .ok_or_else(|| storage("create study", "study vanished after insert"))
    }

    fn create_trial(&mut self, study: i64, now: f64) -> Result<u64, TuneError> {
        let tx = self
            .conn
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
    }

    fn create_trial_within(
        &mut self,
        study: i64,
        budget: u64,
        now: f64,
    ) -> Result<Option<NewTrial>, TuneError> {
        let ctx = "create trial";
        // The write lock, taken first, makes the count, the retry pick and the insert one step.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        let rows: Vec<(i64, String, Option<String>)> = {
            let mut stmt = tx
                .prepare_cached("SELECT number, state, message FROM trials WHERE study_id = ?1")
                .map_err(db(ctx))?;
            stmt.query_map(params![study], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(db(ctx))?
                .collect::<Result<_, _>>()
                .map_err(db(ctx))?
        };
        let mut parsed = Vec::with_capacity(rows.len());
        for (number, state, message) in &rows {
            let state = TrialState::parse(state)
                .ok_or_else(|| storage(ctx, format!("trial {number}: bad state {state:?}")))?;
            parsed.push((*number as u64, state, message.as_deref()));
        }
        let plan = budget_plan(parsed);
        if plan.counted >= budget {
            return Ok(None);
        }
        let number = plan.next as i64;
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
            params![study, number, p, now, attrs],
        )
        .map_err(db(ctx))?;
        tx.commit().map_err(db(ctx))?;
        Ok(Some(NewTrial {
            number: plan.next,
            retried_from: plan.retry,
        }))
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
            .conn
            .execute(
                "UPDATE trials SET params = ?3 WHERE study_id = ?1 AND number = ?2",
                params![study, number as i64, json],
            )
            .map_err(db("set params"))?;
        expect_one(n, number)?;
        if !attrs.is_empty() {
            let list: Vec<(String, f64)> = attrs.iter().map(|(k, v)| (k.clone(), *v)).collect();
            self.merge_attrs(study, number, &list)?;
        }
        Ok(())
    }

    fn report(
        &mut self,
        study: i64,
        number: u64,
        step: u64,
        value: f64,
        now: f64,
    ) -> Result<(), TuneError> {
        let tx = self.conn.transaction().map_err(db("report"))?;
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
    }

    fn set_attrs(
        &mut self,
        study: i64,
        number: u64,
        attrs: &[(String, f64)],
    ) -> Result<(), TuneError> {
        self.merge_attrs(study, number, attrs)
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
        let n = self
            .conn
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
        let current: Option<(String, Option<String>)> = self
            .conn
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
        ))
    }

    fn fail_stale(&mut self, study: i64, max_age: f64, now: f64) -> Result<usize, TuneError> {
        let cutoff = now - max_age;
        self.conn
            .execute(
                "UPDATE trials SET state = 'failed', message = ?3, finished_at = ?4
                 WHERE study_id = ?1 AND state = 'running' AND heartbeat_at < ?2",
                params![study, cutoff, STALE_MESSAGE, now],
            )
            .map_err(db("fail stale trials"))
    }

    fn trials(&mut self, study: i64) -> Result<Vec<Trial>, TuneError> {
        let tx = self.conn.transaction().map_err(db("read trials"))?;
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
}
