//! Bounded retries of a storage operation that failed for a passing reason: SQLite still
//! busy after its busy timeout, a PostgreSQL connection lost (the server restarted, a
//! network hiccup, an administrator ended the session) or a transaction the server rolled
//! back for a deadlock or a serialization conflict.
//!
//! The rule: every [`crate::Storage`] call of [`super::SqliteStorage`] and
//! [`super::PostgresStorage`] is one unit that either took effect or did not, so a failed one
//! is run again whole, at most [`Backoff::tries`] times in all, sleeping
//! `first_delay * 2^(k-1)` (capped at `max_delay`, then scaled by a random factor in
//! [0.5, 1] so that workers cut off together do not come back together) before retry `k`.
//! The bound matters: a worker must report a storage that is gone rather than wait forever,
//! and a retry loop without one turns a dead database into a hung search. Anything else (a
//! constraint, a missing trial, a statement timeout) fails at once: running it again would
//! only fail again.
//!
//! With [`DEFAULT_BACKOFF`] a call sleeps at most 0.25 + 0.5 + 1 = 1.75 s between its four
//! tries; each try may itself wait up to SQLite's busy timeout (30 s) or PostgreSQL's
//! connect timeout (30 s unless the URL sets one), so a call gives up after about two
//! minutes at worst.

use std::time::Duration;

use crate::error::TuneError;

/// How often, and how patiently, a storage call that failed for a passing reason is retried
/// (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included (at least 1).
    pub tries: u32,
    /// The sleep before the first retry; it doubles for each later one.
    pub first_delay: Duration,
    /// The longest sleep between two tries.
    pub max_delay: Duration,
}

/// Four tries, sleeping up to 0.25 s, 0.5 s and 1 s between them.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    tries: 4,
    first_delay: Duration::from_millis(250),
    max_delay: Duration::from_secs(4),
};

impl Default for Backoff {
    fn default() -> Self {
        DEFAULT_BACKOFF
    }
}

impl Backoff {
    /// The longest sleep before retry `k` (1 for the first retry): `first_delay * 2^(k-1)`,
    /// at most `max_delay`. The sleep itself is this scaled by a random factor in [0.5, 1].
    pub fn delay(&self, k: u32) -> Duration {
        let factor = 1u32 << k.saturating_sub(1).min(20);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Why one try of a storage call failed.
#[derive(Debug)]
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) enum Fail {
    /// A passing reason: try again after a sleep.
    Transient(TuneError),
    /// Anything else: give up at once.
    Fatal(TuneError),
}

impl From<TuneError> for Fail {
    fn from(e: TuneError) -> Self {
        Fail::Fatal(e)
    }
}

/// Runs `attempt(k)` for k = 0, 1, ... until it succeeds, fails fatally or has been tried
/// `backoff.tries` times; the last transient error then comes back saying how many tries
/// were made.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn with_retries<T>(
    backoff: &Backoff,
    mut attempt: impl FnMut(u32) -> Result<T, Fail>,
) -> Result<T, TuneError> {
    let tries = backoff.tries.max(1);
    let mut k = 0;
    loop {
        match attempt(k) {
            Ok(v) => return Ok(v),
            Err(Fail::Fatal(e)) => return Err(e),
            Err(Fail::Transient(e)) => {
                k += 1;
                if k >= tries {
                    return Err(gave_up(e, tries));
                }
                let jitter = 0.5 + 0.5 * rand::random::<f64>();
                std::thread::sleep(backoff.delay(k).mul_f64(jitter));
            }
        }
    }
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
fn gave_up(e: TuneError, tries: u32) -> TuneError {
    match e {
        TuneError::Storage { context, message } => TuneError::Storage {
            context,
            message: format!("{message} (gave up after {tries} tries)"),
        },
        other => other,
    }
}
