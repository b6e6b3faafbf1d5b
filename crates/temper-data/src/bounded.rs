//! Bounded echoes of user text in error messages.
//!
//! An error line names the key, flag or file at fault and often quotes the value given; that
//! value can be anything the user (or a hostile file) wrote, up to the 1 MiB experiment file,
//! a command-line argument or a path of any length. Quoting it whole would turn a one-line
//! error into megabytes of terminal output, so every error of temper that echoes user text
//! goes through [`quote`] (one value) or [`clip`] (a whole message that may embed values, such
//! as a TOML parser's): at most a short prefix is kept, followed by `…` and the full length
//! in bytes, so the user still sees which value it was and how long it is.
//!
//! It lives here, in the lowest crate that every error-producing crate above it already
//! depends on (temper-train, temper-augment), so no new dependency edge is needed. It is not
//! part of temper-data's dataset API, hence hidden from its documentation.

/// Characters of a user value [`quote`] keeps: enough to recognize a path, a metric or a
/// mistyped name, and short enough that several of them fit on one terminal line.
pub const QUOTE_CHARS: usize = 60;

/// `value` as an error message quotes it: Rust string syntax (`"..."`, with newlines and
/// other control characters escaped, so the message stays on one line), and for a value of
/// more than [`QUOTE_CHARS`] characters only their prefix, then `… (N bytes)`.
pub fn quote(value: &str) -> String {
    match cut(value, QUOTE_CHARS) {
        None => format!("{value:?}"),
        Some(end) => format!("{:?}… ({} bytes)", &value[..end], value.len()),
    }
}

/// `message` on one line (line breaks become spaces) and at most `max_chars` characters
/// long: a longer one keeps its first `max_chars` characters, then `… (N bytes)`. For
/// messages written by another library that may embed a user value whole.
pub fn clip(message: &str, max_chars: usize) -> String {
    let line = |s: &str| s.replace(['\n', '\r'], " ");
    match cut(message, max_chars) {
        None => line(message),
        Some(end) => format!("{}… ({} bytes)", line(&message[..end]), message.len()),
    }
}

/// The byte index where `text` is cut to `max_chars` characters, or `None` when it fits.
fn cut(text: &str, max_chars: usize) -> Option<usize> {
    text.char_indices().nth(max_chars).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_value_is_quoted_whole_and_on_one_line() {
        assert_eq!(quote("flex"), "\"flex\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn a_long_value_keeps_a_prefix_and_its_length() {
        let value = "é".repeat(10 << 20);
        let quoted = quote(&value);
        assert_eq!(
            quoted,
            format!("{:?}… ({} bytes)", "é".repeat(QUOTE_CHARS), 20 << 20)
        );
        assert!(quoted.len() < 200, "{}", quoted.len());
    }

    #[test]
    fn clip_bounds_a_whole_message_and_joins_its_lines() {
        assert_eq!(clip("one\ntwo", 100), "one two");
        let long = format!("unknown variant `{}`", "x".repeat(1 << 20));
        let clipped = clip(&long, 100);
        assert!(clipped.starts_with("unknown variant `xxx"), "{clipped}");
        assert!(clipped.ends_with(&format!("… ({} bytes)", long.len())));
        assert!(clipped.len() < 130);
    }
}
