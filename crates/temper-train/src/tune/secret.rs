//! A storage URL's password stays out of files and messages.
//!
//! `[tune] storage` (or `--storage`) may be `postgres://user:password@host/db`. The rule: the
//! spec is written and shown only in its safe form ([`safe_storage`]), and that is enforced
//! where it cannot be bypassed: the field serializes through [`serialize_storage`], so every
//! copy of an experiment on disk (a run's `config.toml`, whoever writes it) holds the safe
//! form, and the search's errors and failed-trial messages pass through [`scrub`].
//!
//! The safe form is temper-tune's `redact` (a URL's password and libpq `password=` values
//! become `***`), after which a URL's user-info is cut once more at the spec's *last* `@`, so
//! that a password holding `/`, `?`, `#` or `@` unencoded is hidden whole whichever reading of
//! the URL `redact` takes (on its output this step changes nothing).

use serde::{Serialize, Serializer};

use crate::error::TrainError;

/// The spec with every password replaced by `***`; other specs unchanged.
pub(crate) fn safe_storage(spec: &str) -> String {
    let redacted = temper_tune::storage::redact(spec);
    let Some(start) = redacted.find("://").map(|i| i + 3) else {
        return redacted;
    };
    let rest = &redacted[start..];
    let Some(at) = rest.rfind('@') else {
        return redacted;
    };
    match rest[..at].split_once(':') {
        Some((_, "***")) | None => redacted,
        Some((user, _)) => format!("{}{user}:***{}", &redacted[..start], &rest[at..]),
    }
}

/// Serializes `[tune] storage` in its safe form.
pub(crate) fn serialize_storage<S: Serializer>(
    storage: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    storage.as_deref().map(safe_storage).serialize(serializer)
}

/// The passwords a spec holds (as written and percent-decoded), to strip from messages that
/// quote a part of it. Passwords shorter than 3 characters are not stripped: replacing every
/// `p` of a message would make it unreadable, and such a password protects nothing.
fn secrets(spec: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(start) = spec.find("://").map(|i| i + 3) {
        let rest = &spec[start..];
        if let Some((_, password)) = rest.rfind('@').and_then(|at| rest[..at].split_once(':')) {
            found.push(password.to_string());
        }
    }
    let lower = spec.to_ascii_lowercase();
    for (i, _) in lower.match_indices("password=") {
        let value = &spec[i + "password=".len()..];
        let end = value
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
            .unwrap_or(value.len());
        found.push(value[..end].trim_matches('\'').to_string());
    }
    let decoded: Vec<String> = found.iter().filter_map(|s| percent_decode(s)).collect();
    found.extend(decoded);
    found.retain(|s| s.chars().count() >= 3);
    // Longest first, so a password containing another candidate is replaced whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

/// `%XX` sequences decoded; `None` when there are none or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `message` with `spec` in its safe form and any of its passwords replaced by `***`.
pub(crate) fn scrub(message: &str, spec: Option<&str>) -> String {
    let Some(spec) = spec else {
        return message.to_string();
    };
    let mut out = message.to_string();
    for form in [spec, spec.trim()] {
        if !form.is_empty() {
            out = out.replace(form, &safe_storage(form));
        }
    }
    for secret in secrets(spec) {
        out = out.replace(&secret, "***");
    }
    out
}

/// `err` unchanged unless its message quotes a password of `spec`; then the scrubbed message,
/// as a [`TrainError::Config`].
pub(crate) fn scrub_error(err: TrainError, spec: Option<&str>) -> TrainError {
    let message = err.to_string();
    let scrubbed = scrub(&message, spec);
    if scrubbed == message {
        err
    } else {
        TrainError::Config(scrubbed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_with_url_delimiters_are_redacted_whole() {
        let cases = [
            ("postgres://u:p@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:pa/ss?w#o@rd@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://u:p%2Fa%40ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite:study.db", "sqlite:study.db"),
        ];
        for (spec, want) in cases {
            assert_eq!(safe_storage(spec), want, "{spec}");
            assert_eq!(safe_storage(want), want, "idempotent: {want}");
        }
    }

    #[test]
    fn a_message_quoting_the_password_alone_is_scrubbed() {
        let spec = "postgres://u:s%40cret/x@h/db";
        let message = format!("tune.storage: {spec}: refused; password s@cret/x is wrong");
        let clean = scrub(&message, Some(spec));
        assert!(!clean.contains("cret"), "{clean}");
        assert!(clean.contains("postgres://u:***@h/db"), "{clean}");
    }
}
