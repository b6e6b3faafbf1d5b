//! Test helpers: one test body run on every storage.
//!
//! The PostgreSQL runs read the server's URL from `TEMPER_TEST_POSTGRES` (start one with
//! `scripts/start-test-postgres.sh`). Without it they return early, unless `CI` is set: then
//! they fail, so that CI cannot skip them silently. Every test uses its own study name
//! (process id, clock and a counter), so reruns and parallel tests share the database safely.

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "postgres")]
use crate::storage::PostgresStorage;
#[cfg(feature = "sqlite")]
use crate::storage::SqliteStorage;
use crate::storage::{MemoryStorage, Storage};

#[cfg(feature = "postgres")]
pub(crate) const PG_ENV: &str = "TEMPER_TEST_POSTGRES";

/// The test server's URL; `None` (skip) when unset outside CI.
#[cfg(feature = "postgres")]
pub(crate) fn pg_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{PG_ENV} is not set but CI is: the PostgreSQL storage tests must run in CI \
             (export {PG_ENV}=\"$(crates/temper-tune/scripts/start-test-postgres.sh)\")"
        ),
        _ => None,
    }
}

/// A study name no other test run uses.
pub(crate) fn unique_name(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{test}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where a test's study lives; `open` gives a new handle (a new connection for SQLite and
/// PostgreSQL) each time, as a separate worker would have.
pub(crate) enum Backend {
    Memory(MemoryStorage),
    #[cfg(feature = "sqlite")]
    Sqlite(tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Backend {
    pub(crate) fn memory() -> Backend {
        Backend::Memory(MemoryStorage::new())
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }

    /// `None` when the tests run without a server (see [`pg_url`]).
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres() -> Option<Backend> {
        pg_url().map(Backend::Postgres)
    }

    pub(crate) fn open(&self) -> Box<dyn Storage> {
        match self {
            Backend::Memory(m) => Box::new(m.clone()),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(dir) => Box::new(SqliteStorage::open(dir.path().join("s.db")).unwrap()),
            #[cfg(feature = "postgres")]
            Backend::Postgres(url) => Box::new(PostgresStorage::connect(url).unwrap()),
        }
    }
}

/// `mod NAME { memory, sqlite, postgres }` tests, each calling `NAME(&Backend)`; the SQLite and
/// PostgreSQL ones exist when their storage's feature is on.
macro_rules! on_every_storage {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            use crate::test_support::Backend;
            #[test]
            fn memory() {
                super::$body(&Backend::memory());
            }
            #[cfg(feature = "sqlite")]
            #[test]
            fn sqlite() {
                super::$body(&Backend::sqlite());
            }
            #[cfg(feature = "postgres")]
            #[test]
            fn postgres() {
                if let Some(b) = Backend::postgres() {
                    super::$body(&b);
                }
            }
        }
    )*};
}
pub(crate) use on_every_storage;
