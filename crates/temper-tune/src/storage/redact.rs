//! Keeping passwords out of messages and files: [`redact`] hides every password a storage
//! spec can carry, [`spec_for_disk`] is the form a run directory may hold.
//!
//! The rule is "when in doubt, hide more": a spec is a user's string, not a well-formed URL,
//! so the password's end is taken where the widest reading puts it.
//! - URL userinfo (`scheme://USER:PASSWORD@HOST`, and the scheme-less `USER:PASSWORD@HOST`):
//!   the password runs from the first `:` of the userinfo to the **last** `@` of the spec,
//!   so a password holding `/`, `?`, `#`, `:` or `@` (written raw, not percent-encoded) is
//!   hidden whole. An `@` in a query string makes more than the password hidden, never less.
//! - `password=VALUE` parameters (any case, so `sslpassword=` too, spaces allowed around
//!   `=`): in a URL the value runs to the next `&` or the end (a raw `#` or space does not
//!   end it); in libpq's `key=value` form it is one quoted (`'...'`, with `\'` and `\\`
//!   escapes) or unquoted (backslash escapes) value, as libpq reads it.

use std::ops::Range;

/// `spec` with every password replaced by `***`: the one in a URL's `user:password@`, and
/// every `password=VALUE` (a URL query parameter or libpq's `key=value` form, the value
/// quoted or not). See the module docs for where a password is taken to end.
pub fn redact(spec: &str) -> String {
    let mut out = spec.to_string();
    for span in secret_spans(spec).into_iter().rev() {
        out.replace_range(span, "***");
    }
    out
}

/// The form of a storage spec that may be written to disk (a run directory's copy of the
/// configuration, a summary, a log): [`redact`]ed, so no password ever lands in a file.
/// The result names the same server, database and user, so a reader knows where the study
/// lives; a process that must connect takes the spec, password included, from its own
/// configuration or environment, never from such a file.
pub fn spec_for_disk(spec: &str) -> String {
    redact(spec)
}

/// The passwords `spec` carries, as written and as a server would read them (percent-decoded,
/// unquoted), longest first: what [`scrub`] removes from third-party error text.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn secrets(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    for span in secret_spans(spec) {
        let raw = &spec[span];
        out.push(raw.to_string());
        out.push(percent_decode(raw));
        let unquoted = raw.strip_prefix('\'').unwrap_or(raw);
        let unquoted = unquoted.strip_suffix('\'').unwrap_or(unquoted);
        out.push(unescape(unquoted));
    }
    out.retain(|s| !s.is_empty());
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `text` with every one of `secrets` (see [`secrets`]) replaced by `***`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// The byte ranges of `spec` that hold a password, sorted and disjoint.
fn secret_spans(spec: &str) -> Vec<Range<usize>> {
    let url = spec.contains("://");
    let mut spans: Vec<Range<usize>> = userinfo_password(spec).into_iter().collect();
    spans.extend(password_params(spec, url));
    spans.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// The password of `[scheme://]USER:PASSWORD@HOST...`: from the userinfo's first `:` to the
/// spec's last `@`. Without `://`, only when the text before the `:` could be a user name
/// (no `/`, `\`, `=` or space, and not `sqlite`), so that paths, `sqlite:PATH` and
/// `key=value` strings are left alone.
fn userinfo_password(spec: &str) -> Option<Range<usize>> {
    let start = match spec.find("://") {
        Some(i) => i + 3,
        None => {
            let colon = spec.find(':')?;
            let user = &spec[..colon];
            if user.contains(['/', '\\', '='])
                || user.contains(char::is_whitespace)
                || user.eq_ignore_ascii_case("sqlite")
            {
                return None;
            }
            0
        }
    };
    let at = start + spec[start..].rfind('@')?;
    let colon = start + spec[start..at].find(':')?;
    Some(colon + 1..at)
}

/// The values of every `password = VALUE` in `spec` (case-insensitive key).
fn password_params(spec: &str, url: bool) -> Vec<Range<usize>> {
    const KEY: &str = "password";
    let lower = spec.to_ascii_lowercase();
    let bytes = spec.as_bytes();
    let skip_space = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(KEY).map(|i| from + i) {
        from = i + KEY.len();
        let eq = skip_space(from);
        if bytes.get(eq) != Some(&b'=') {
            continue;
        }
        let v = if url { eq + 1 } else { skip_space(eq + 1) };
        let end = if url {
            spec[v..].find('&').map_or(spec.len(), |j| v + j)
        } else {
            libpq_value_end(bytes, v)
        };
        if end > v {
            spans.push(v..end);
        }
        from = end.max(from);
    }
    spans
}

/// Where a libpq `key=value` value starting at `v` ends (exclusive): after its closing quote
/// when quoted (an unclosed quote runs to the end), else at the next unescaped whitespace.
/// Only ever stops at an ASCII byte or the end, so the result is a char boundary.
fn libpq_value_end(bytes: &[u8], v: usize) -> usize {
    let quoted = bytes.get(v) == Some(&b'\'');
    let mut j = if quoted { v + 1 } else { v };
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\'' if quoted => return j + 1,
            c if !quoted && c.is_ascii_whitespace() => return j,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// `%XX` sequences decoded (invalid ones kept as written), lossy UTF-8.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's backslash escapes removed (`\x` is `x`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}
