//! One entry point from a storage string (a command-line flag, a config value) to a
//! [`Storage`], and the redaction that keeps passwords out of messages.

#[cfg(feature = "postgres")]
use super::PostgresStorage;
#[cfg(feature = "sqlite")]
use super::SqliteStorage;
use super::{MemoryStorage, Storage};
use crate::error::{TuneError, invalid};

const EXPECTED: &str =
    "expected memory, a SQLite file path, sqlite:PATH or postgres://USER@HOST[:PORT]/DB";

/// Opens the storage `spec` names:
/// - `memory`: a fresh [`MemoryStorage`] (nothing survives the process);
/// - `postgres://...` or `postgresql://...`: a [`PostgresStorage`] (tables created if missing);
/// - `sqlite:PATH`, `sqlite:///PATH` (SQLAlchemy's and so Optuna's spelling: `sqlite:///a.db`
///   is the relative `a.db`, `sqlite:////tmp/a.db` the absolute `/tmp/a.db`) or a bare path:
///   a [`SqliteStorage`] file, created if missing.
///
/// Any other `scheme://` is refused rather than taken for a file name.
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
                    format!("{spec:?}: write sqlite:PATH or sqlite:///PATH"),
                ));
            }
            None => rest,
        };
        if path.is_empty() {
            return Err(invalid(
                "storage",
                format!("{spec:?}: no file path after sqlite:"),
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
    open_sqlite(spec, spec)
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

/// `spec` with any password replaced by `***`: the one in a URL's `user:password@`, and
/// every `password=VALUE` (a URL query parameter or libpq's `key=value` form, the value
/// quoted or not).
pub fn redact(spec: &str) -> String {
    let mut out = spec.to_string();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let end = out[start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@').map(|i| start + i)
            && let Some(colon) = out[start..at].find(':').map(|i| start + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    let key = "password=";
    let mut from = 0;
    while let Some(i) = out[from..].to_ascii_lowercase().find(key).map(|i| from + i) {
        let v = i + key.len();
        let end = if out[v..].starts_with('\'') {
            // A quoted libpq value runs to the next unescaped quote.
            let bytes = out.as_bytes();
            let mut j = v + 1;
            while j < out.len() && !(bytes[j] == b'\'' && bytes[j - 1] != b'\\') {
                j += 1;
            }
            (j + 1).min(out.len())
        } else {
            out[v..]
                .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
                .map_or(out.len(), |j| v + j)
        };
        out.replace_range(v..end, "***");
        from = v + 3;
    }
    out
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
