//! A PostgreSQL session that cannot hang a worker forever, errors that name the server
//! without its password, and the tables a fresh database gets.
//!
//! A network partition, a server that stops answering or a worker stopped half-way through
//! a transaction must end in an error (then a reconnect, see [`super::Backoff`]), never in a
//! wait without end. Unless the spec sets them itself, every connection gets:
//! - `connect_timeout` [`CONNECT_TIMEOUT`]: an unreachable host fails the connect;
//! - TCP keepalives after [`KEEPALIVES_IDLE`] of silence, every [`KEEPALIVES_INTERVAL`],
//!   [`KEEPALIVES_RETRIES`] unanswered probes ending the connection (the system default
//!   waits two hours before the first probe);
//! - `tcp_user_timeout` [`TCP_USER_TIMEOUT`]: data unacknowledged that long ends the
//!   connection (keepalives only probe an idle one);
//! - `statement_timeout` [`STATEMENT_TIMEOUT`]: the server cancels a statement running
//!   (or waiting for a lock) that long; every statement here takes milliseconds;
//! - `idle_in_transaction_session_timeout` [`IDLE_IN_TRANSACTION_TIMEOUT`]: the server ends
//!   the session of a worker that stopped inside a transaction, so that the study row it
//!   had locked does not block every other worker.

use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::redact::{redact, scrub, secrets};
use super::retry::Fail;
use crate::error::{TuneError, storage};

/// How long a connection attempt may take when the spec sets no `connect_timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Silence before the first TCP keepalive probe.
pub const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
/// Time between TCP keepalive probes.
pub const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
/// Unanswered probes that end the connection.
pub const KEEPALIVES_RETRIES: u32 = 3;
/// How long sent data may stay unacknowledged before the connection is dropped.
pub const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);
/// The server-side limit on one statement.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// The server-side limit on a session idle inside a transaction.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// What error messages need: the spec with its password hidden, and the passwords to scrub
/// from the driver's and the server's text.
pub(crate) struct Names {
    /// The spec [`redact`]ed.
    pub shown: String,
    secrets: Vec<String>,
}

impl Names {
    pub(crate) fn new(spec: &str) -> Names {
        Names {
            shown: redact(spec),
            secrets: secrets(spec),
        }
    }

    /// A storage error naming `context` and the server, its cause on one line, scrubbed.
    pub(crate) fn error(&self, context: &str, e: &dyn std::error::Error) -> TuneError {
        storage(context, scrub(&chain(e), &self.secrets))
    }

    /// Turns a database error into a [`Fail`] naming what was done and where: transient when
    /// the connection was lost or the server rolled the transaction back for a conflict.
    pub(crate) fn err(&self, context: &str) -> impl Fn(postgres::Error) -> Fail + '_ {
        let context = format!("{context} ({})", self.shown);
        move |e| {
            let err = self.error(&context, &e);
            if transient(&e) {
                Fail::Transient(err)
            } else {
                Fail::Fatal(err)
            }
        }
    }
}

/// Whether retrying (after a reconnect) may succeed: the connection is gone (closed, an I/O
/// error, SQLSTATE class 08, the server shutting down or ending the session: 57P01-57P03) or
/// the server gave up the transaction for a deadlock or a serialization conflict (40P01,
/// 40001). A statement timeout (57014) is not: it would only time out again.
fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "40001" | "40P01");
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// An error and its causes on one line: the `postgres` crate's own text is only the kind
/// ("db error", "error connecting to server"), the server's message is its source.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text.replace(['\n', '\r'], " ")
}

/// Parses `spec` (a URL or libpq's `key=value` form) and sets the limits of the module docs
/// that it does not set itself.
pub(crate) fn config(spec: &str, names: &Names) -> Result<Config, TuneError> {
    if raw_at_in_userinfo(spec) {
        // The `postgres` crate ends the userinfo at the first `@`: the rest of the password
        // would be read as a host name and could reach an error message.
        return Err(storage(
            &format!("connect to {}", names.shown),
            "the user or password holds a raw `@`: percent-encode it as %40",
        ));
    }
    let mut config: Config = spec.parse().map_err(|e: postgres::Error| {
        let hint = if spec.contains("://") {
            ""
        } else {
            " (read as libpq's key=value form; a SQLite file: write sqlite:PATH)"
        };
        let mut err = names.error(&format!("connect to {}", names.shown), &e);
        if let TuneError::Storage { message, .. } = &mut err {
            message.push_str(hint);
        }
        err
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("temper-tune");
    }
    config.keepalives(true);
    // The crate cannot say whether the spec set `keepalives_idle` (it has a default).
    if !spec.contains("keepalives_idle") {
        config.keepalives_idle(KEEPALIVES_IDLE);
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(KEEPALIVES_INTERVAL);
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(KEEPALIVES_RETRIES);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
    Ok(config)
}

/// Whether a URL's userinfo holds an `@` of its own: two `@` before the host, taking the
/// last `@` for the userinfo's end when a `/DB` path follows it (an `@` with no path after
/// it may be a query string's, and is left to the driver).
fn raw_at_in_userinfo(spec: &str) -> bool {
    let Some(start) = spec.find("://").map(|i| i + 3) else {
        return false;
    };
    let rest = &spec[start..];
    match rest.rfind('@') {
        Some(last) => rest[last..].contains('/') && rest[..last].contains('@'),
        None => false,
    }
}

/// Connects and sets the session's server-side timeouts (unless the spec's `options` set
/// them).
pub(crate) fn open_session(config: &Config, names: &Names) -> Result<Client, TuneError> {
    let ctx = format!("connect to {}", names.shown);
    let mut client = config.connect(NoTls).map_err(|e| names.error(&ctx, &e))?;
    let options = config.get_options().unwrap_or("");
    let mut set = String::new();
    for (name, value) in [
        ("statement_timeout", STATEMENT_TIMEOUT),
        (
            "idle_in_transaction_session_timeout",
            IDLE_IN_TRANSACTION_TIMEOUT,
        ),
    ] {
        if !options.contains(name) {
            set.push_str(&format!("SET {name} = {};", value.as_millis()));
        }
    }
    if !set.is_empty() {
        client
            .batch_execute(&set)
            .map_err(|e| names.error(&ctx, &e))?;
    }
    Ok(client)
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

/// Creates the tables (`postgres.rs` describes them) unless all exist.
pub(crate) fn ensure_tables(client: &mut Client) -> Result<(), postgres::Error> {
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
