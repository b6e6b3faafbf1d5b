//! Storage hiccups: a call that fails for a passing reason is retried within a bound, and one
//! that keeps failing comes back as a one-line error instead of hanging. SQLite: a second
//! connection holds the write lock. PostgreSQL: the server ends the worker's session
//! (`pg_terminate_backend`), or refuses its reconnects for a while (`ALTER ROLE ... NOLOGIN`).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::error::storage;
use crate::storage::retry::{Fail, with_retries};
use crate::storage::*;

fn quick(tries: u32) -> Backoff {
    Backoff {
        tries,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    }
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let b = quick(9);
    let ms: Vec<u128> = (1..=6).map(|k| b.delay(k).as_millis()).collect();
    assert_eq!(ms, [20, 40, 80, 160, 200, 200]);
    assert_eq!(DEFAULT_BACKOFF.delay(1), Duration::from_millis(250));
    assert_eq!(DEFAULT_BACKOFF.delay(3), Duration::from_secs(1));
    assert_eq!(
        DEFAULT_BACKOFF.delay(40),
        Duration::from_secs(4),
        "no overflow"
    );
}

#[test]
fn a_call_that_keeps_failing_transiently_stops_after_its_tries() {
    let calls = Cell::new(0);
    let e = with_retries(&quick(4), |k| -> Result<(), Fail> {
        assert_eq!(k, calls.get());
        calls.set(calls.get() + 1);
        Err(Fail::Transient(storage("report", "database is locked")))
    })
    .unwrap_err();
    assert_eq!(calls.get(), 4);
    assert_eq!(
        e.to_string(),
        "storage: report: database is locked (gave up after 4 tries)"
    );
    // A fatal failure is not retried; a transient one that clears succeeds.
    calls.set(0);
    let e = with_retries(&quick(4), |_| -> Result<(), Fail> {
        calls.set(calls.get() + 1);
        Err(Fail::Fatal(storage("report", "no such table")))
    });
    assert_eq!((calls.get(), e.is_err()), (1, true));
    let ok = with_retries(&quick(4), |k| {
        if k < 2 {
            Err(Fail::Transient(storage("report", "busy")))
        } else {
            Ok(k)
        }
    });
    assert_eq!(ok, Ok(2));
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    /// A storage with a 50 ms busy timeout on `path`, and another connection holding the
    /// file's write lock until the returned sender is dropped or sent to.
    fn locked(
        path: &std::path::Path,
        tries: u32,
    ) -> (
        SqliteStorage,
        std::sync::mpsc::Sender<()>,
        std::thread::JoinHandle<()>,
    ) {
        let mut s = SqliteStorage::open(path).unwrap();
        s.set_busy_timeout(Duration::from_millis(50)).unwrap();
        s.set_backoff(quick(tries));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        let path = path.to_path_buf();
        let holder = std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            held_tx.send(()).unwrap();
            let _ = rx.recv();
            conn.execute_batch("COMMIT").unwrap();
        });
        held_rx.recv().unwrap();
        (s, tx, holder)
    }

    #[test]
    fn sqlite_busy_beyond_the_busy_timeout_is_retried_until_the_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, release, holder) = locked(&dir.path().join("s.db"), 8);
        let start = Instant::now();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            release.send(()).unwrap();
        });
        let info = s.create_study("busy", Direction::Minimize).unwrap();
        // Six busy timeouts' worth at least: the lock was held past the first try.
        assert!(
            start.elapsed() >= Duration::from_millis(290),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(s.find_study("busy").unwrap(), Some(info));
        releaser.join().unwrap();
        holder.join().unwrap();
    }

    #[test]
    fn sqlite_locked_for_good_fails_after_a_bounded_wait_naming_the_tries() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, release, holder) = locked(&dir.path().join("s.db"), 3);
        let start = Instant::now();
        let e = s
            .create_study("never", Direction::Minimize)
            .unwrap_err()
            .to_string();
        let waited = start.elapsed();
        assert_eq!(
            e,
            "storage: create study: database is locked (gave up after 3 tries)"
        );
        // Three 50 ms busy waits and two sleeps of at most 20 and 40 ms.
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        drop(release);
        holder.join().unwrap();
        assert_eq!(s.find_study("never").unwrap(), None);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::test_support::{pg_url, unique_name};

    fn admin(url: &str) -> ::postgres::Client {
        ::postgres::Client::connect(url, ::postgres::NoTls).unwrap()
    }

    #[test]
    fn a_postgres_session_ended_by_the_server_is_reopened_and_the_call_succeeds() {
        let Some(url) = pg_url() else { return };
        let mut s = PostgresStorage::connect(&url).unwrap();
        let name = unique_name("reconnect");
        let info = s.create_study(&name, Direction::Minimize).unwrap();
        let n = s.create_trial(info.id, 0.0).unwrap();
        for round in 0..2 {
            let pid: i32 = s
                .client()
                .query_one("SELECT pg_backend_pid()", &[])
                .unwrap()
                .get(0);
            let ended: bool = admin(&url)
                .query_one("SELECT pg_terminate_backend($1)", &[&pid])
                .unwrap()
                .get(0);
            assert!(ended, "round {round}");
            s.report(info.id, n, round, round as f64, 0.0).unwrap();
            let now: i32 = s
                .client()
                .query_one("SELECT pg_backend_pid()", &[])
                .unwrap()
                .get(0);
            assert_ne!(now, pid, "a new session");
        }
        let t = &s.trials(info.id).unwrap()[0];
        assert_eq!(
            t.intermediate.values().copied().collect::<Vec<_>>(),
            [0.0, 1.0]
        );
        s.finish(info.id, n, TrialState::Complete, Some(1.5), None, 0.0)
            .unwrap();
        assert_eq!(s.trials(info.id).unwrap()[0].value, Some(1.5));
    }

    #[test]
    fn a_postgres_session_has_timeouts_and_keepalives() {
        let Some(url) = pg_url() else { return };
        let mut s = PostgresStorage::connect(&url).unwrap();
        let show = |s: &mut PostgresStorage, name: &str| -> String {
            s.client()
                .query_one(&format!("SHOW {name}"), &[])
                .unwrap()
                .get(0)
        };
        assert_eq!(show(&mut s, "statement_timeout"), "1min");
        assert_eq!(show(&mut s, "idle_in_transaction_session_timeout"), "1min");
        let c = s.config();
        assert!(c.get_keepalives());
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(30));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_secs(60)));
        assert!(c.get_connect_timeout().is_some());
        // A spec's own setting wins.
        let own = format!("{url}?options=-c%20statement_timeout%3D5s");
        let mut s = PostgresStorage::connect(&own).unwrap();
        assert_eq!(show(&mut s, "statement_timeout"), "5s");
    }

    #[test]
    fn a_postgres_server_refusing_reconnects_fails_the_call_after_a_bounded_wait() {
        let Some(url) = pg_url() else { return };
        let mut root = admin(&url);
        let role = unique_name("hostile_role").replace('-', "_");
        root.batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN;
             GRANT ALL ON ALL TABLES IN SCHEMA public TO \"{role}\";
             GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO \"{role}\";"
        ))
        .unwrap();
        let c: ::postgres::Config = url.parse().unwrap();
        let spec = format!(
            "postgres://{role}:hunter22@{}:{}/{}",
            match &c.get_hosts()[0] {
                ::postgres::config::Host::Tcp(h) => h.clone(),
                #[allow(unreachable_patterns)]
                other => panic!("{other:?}"),
            },
            c.get_ports()[0],
            c.get_dbname().unwrap()
        );
        let mut s = PostgresStorage::connect(&spec).unwrap();
        s.set_backoff(quick(3));
        let name = unique_name("refused");
        s.create_study(&name, Direction::Minimize).unwrap();
        let pid: i32 = s
            .client()
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        root.batch_execute(&format!("ALTER ROLE \"{role}\" NOLOGIN"))
            .unwrap();
        root.execute("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap();
        let start = Instant::now();
        let e = s.find_study(&name).unwrap_err().to_string();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert!(e.ends_with("(gave up after 3 tries)"), "{e}");
        assert!(e.contains("not permitted to log in"), "{e}");
        assert!(!e.contains("hunter22") && !e.contains('\n'), "{e}");
        // The server lets it back in: the same handle works again.
        root.batch_execute(&format!("ALTER ROLE \"{role}\" LOGIN"))
            .unwrap();
        assert_eq!(s.find_study(&name).unwrap().map(|i| i.name), Some(name));
        drop(s);
        root.batch_execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\";"))
            .unwrap();
    }
}
