//! One entry point from a storage string (a command-line flag, a config value) to a
//! [`Storage`].
//!
//! The rule: only a string that is clearly a file path becomes a SQLite file. A bare spec
//! that reads as anything else (libpq's `key=value` form, a `NAME:` scheme, a query string,
//! spaces around `=`, a control character) is a PostgreSQL spec or a one-line refusal, never
//! a file silently named after it in the working directory. `sqlite:PATH` takes any path
//! literally, for the rare file whose name looks like one of those.

#[cfg(feature = "postgres")]
use super::PostgresStorage;
#[cfg(feature = "sqlite")]
use super::SqliteStorage;
use super::redact::redact;
use super::{MemoryStorage, Storage};
use crate::error::{TuneError, invalid};

const EXPECTED: &str = "expected memory, a SQLite file path, sqlite:PATH, \
     postgres://USER@HOST[:PORT]/DB or libpq's key=value form (host=HOST dbname=DB ...)";

/// Opens the storage `spec` names:
/// - `memory`: a fresh [`MemoryStorage`] (nothing survives the process);
/// - `postgres://...`, `postgresql://...` or libpq's `key=value` form (`host=db.lan
///   dbname=t user=u`, the first word a key followed by `=`): a [`PostgresStorage`] (tables
///   created if missing);
/// - `sqlite:PATH`, `sqlite:///PATH` (SQLAlchemy's and so Optuna's spelling: `sqlite:///a.db`
///   is the relative `a.db`, `sqlite:////tmp/a.db` the absolute `/tmp/a.db`) or a bare path:
///   a [`SqliteStorage`] file, created if missing.
///
/// Any other `scheme://` or `NAME:...`, and a bare spec that is not clearly a path (see the
/// module docs), is refused rather than taken for a file name. Errors show the spec
/// [`redact`]ed.
pub fn open_storage(spec: &str) -> Result<Box<dyn Storage>, TuneError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(invalid("storage", format!("empty: {EXPECTED}")));
    }
    if spec == "memory" {
        return Ok(Box::new(MemoryStorage::new()));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        return open_postgres(spec);
    }
    if let Some(rest) = spec.strip_prefix("sqlite:") {
        let path = match rest.strip_prefix("///") {
            Some(path) => path,
            None if rest.starts_with("//") => {
                return Err(invalid(
                    "storage",
                    format!("{:?}: write sqlite:PATH or sqlite:///PATH", redact(spec)),
                ));
            }
            None => rest,
        };
        if path.is_empty() {
            return Err(invalid(
                "storage",
                format!("{:?}: no file path after sqlite:", redact(spec)),
            ));
        }
        return open_sqlite(spec, path);
    }
    if let Some((scheme, _)) = spec.split_once("://") {
        return Err(invalid(
            "storage",
            format!(
                "unknown scheme {scheme:?} in {:?}: {EXPECTED}",
                redact(spec)
            ),
        ));
    }
    if is_key_value(spec) {
        return open_postgres(spec);
    }
    if let Some(why) = not_a_path(spec) {
        return Err(invalid(
            "storage",
            format!(
                "{:?}: {why}, not a file path; write sqlite:PATH for a SQLite file of that \
                 name ({EXPECTED})",
                redact(spec)
            ),
        ));
    }
    open_sqlite(spec, spec)
}

/// Whether `spec` is libpq's `key=value` form: its first word is a key (letters, digits,
/// `_`) followed, spaces allowed, by `=`.
pub(crate) fn is_key_value(spec: &str) -> bool {
    let key_len = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(spec.len());
    key_len > 0
        && spec.as_bytes()[0].is_ascii_alphabetic()
        && spec[key_len..].trim_start().starts_with('=')
}

/// Why a bare spec (no scheme recognised, not `key=value`) is not clearly a file path, if
/// it is not.
fn not_a_path(spec: &str) -> Option<String> {
    if spec.contains(char::is_control) {
        return Some("it holds a control character".into());
    }
    if let Some((name, rest)) = spec.split_once(':') {
        // One letter then a separator is a Windows drive (`C:\runs`); a `/` or `\` before
        // the colon makes it part of a directory name.
        let drive = name.len() == 1 && rest.starts_with(['/', '\\']);
        if !drive && !name.contains(['/', '\\']) {
            return Some(format!(
                "{:?} reads as a scheme or a USER:PASSWORD@ prefix",
                redact(name)
            ));
        }
    }
    if spec.contains('=') && spec.contains(char::is_whitespace) {
        return Some("it holds `=` and spaces, as a key=value connection string does".into());
    }
    if let Some((_, query)) = spec.split_once('?')
        && query.contains('=')
    {
        return Some("it ends in a ?key=value query string".into());
    }
    None
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Box<dyn Storage>, TuneError> {
    Ok(Box::new(PostgresStorage::connect(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(url: &str) -> Result<Box<dyn Storage>, TuneError> {
    Err(not_built_in(url, "PostgreSQL", "postgres"))
}

#[cfg(feature = "sqlite")]
fn open_sqlite(_spec: &str, path: &str) -> Result<Box<dyn Storage>, TuneError> {
    Ok(Box::new(SqliteStorage::open(path)?))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(spec: &str, _path: &str) -> Result<Box<dyn Storage>, TuneError> {
    Err(not_built_in(spec, "SQLite", "sqlite"))
}

/// The error for a storage whose Cargo feature is off in this build: one line, naming the
/// feature that adds it.
#[cfg(not(all(feature = "postgres", feature = "sqlite")))]
fn not_built_in(spec: &str, what: &str, feature: &str) -> TuneError {
    invalid(
        "storage",
        format!(
            "{:?}: this build has no {what} storage (enable temper-tune's `{feature}` feature)",
            redact(spec)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "sqlite")]
    use crate::trial::Direction;

    #[test]
    fn redact_hides_every_password_form() {
        let cases = [
            (
                "postgres://tuner:s3cr:et@db.lan:5432/temper?sslmode=disable",
                "postgres://tuner:***@db.lan:5432/temper?sslmode=disable",
            ),
            ("postgresql://tuner@db.lan/t", "postgresql://tuner@db.lan/t"),
            (
                "postgres://db.lan/t?user=u&password=hunter2&connect_timeout=5",
                "postgres://db.lan/t?user=u&password=***&connect_timeout=5",
            ),
            (
                "host=db.lan user=u PASSWORD='a b\\'c' dbname=t",
                "host=db.lan user=u PASSWORD=*** dbname=t",
            ),
            ("study.db", "study.db"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn open_storage_picks_the_backend_from_the_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        // A study written through `sqlite:PATH` is found through the bare path and through
        // SQLAlchemy's `sqlite:///` + absolute path (four slashes in all).
        let mut s = open_storage(&format!("sqlite:{}", path.display())).unwrap();
        s.create_study("s", Direction::Minimize).unwrap();
        for spec in [
            path.display().to_string(),
            format!("sqlite:///{}", path.display()),
        ] {
            let found = open_storage(&spec).unwrap().find_study("s").unwrap();
            assert_eq!(found.map(|i| i.name), Some("s".to_string()), "{spec}");
        }
        let mut m = open_storage(" memory ").unwrap();
        assert_eq!(m.find_study("s").unwrap(), None);
        let err = |spec: &str| open_storage(spec).err().unwrap().to_string();
        assert_eq!(err(""), format!("storage: empty: {EXPECTED}"), "empty spec");
        assert_eq!(
            err("sqlite:"),
            "storage: \"sqlite:\": no file path after sqlite:"
        );
        assert_eq!(
            err("sqlite://a.db"),
            "storage: \"sqlite://a.db\": write sqlite:PATH or sqlite:///PATH"
        );
        assert_eq!(
            err("mysql://u:pw@h/db"),
            format!("storage: unknown scheme \"mysql\" in \"mysql://u:***@h/db\": {EXPECTED}")
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_url_without_the_feature_is_a_clear_error() {
        let e = open_storage("postgres://tuner:hunter2@db.lan/temper")
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "storage: \"postgres://tuner:***@db.lan/temper\": this build has no PostgreSQL \
             storage (enable temper-tune's `postgres` feature)"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn connection_errors_name_the_url_without_its_password() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let e = open_storage("postgres://tuner:hunter2@127.0.0.1:1/temper?connect_timeout=5")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with(
                "storage: connect to postgres://tuner:***@127.0.0.1:1/temper?connect_timeout=5: "
            ),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        // The cause, not just the `postgres` crate's "error connecting to server".
        assert!(e.contains("error connecting to server: "), "{e}");
        assert!(e.len() > e.find("server: ").unwrap() + 8, "{e}");
    }
}
