//! `report.html`: one self-contained page per directory, readable offline from disk.
//!
//! A [`Page`] is a title and [`Section`]s: Markdown (temper's `report.md`), preformatted text
//! (a TOML file), figures (PNG charts embedded as `data:image/png;base64,...` URIs, RFC 2397)
//! and links to other reports. [`Page::to_html`] writes one HTML5 document with everything in
//! it: an inline `<style>`, the images in the file, no script and no reference to anything
//! outside it, so the page can be mailed, archived or opened years later and look the same.
//! [`DirReport`] builds the page for whatever a directory holds (a run, an eval or monitor
//! folder, a study, a user's own folder) and writes it atomically.
//!
//! The rule against active content is layered: every string from a file or a user is escaped
//! (`&`, `<`, `>`, `"`, `'`, the five characters the HTML Standard's attribute and text states
//! react to); Markdown goes through [`markdown_to_html`] (raw HTML becomes text, links must be
//! relative); and the page carries a Content Security Policy (`default-src 'none'`,
//! `img-src data:`, `style-src 'unsafe-inline'`, `base-uri 'none'`, `form-action 'none'`),
//! so that even a mistake in escaping could neither run a script nor fetch a URL.

mod dir;
mod markdown;
mod page;
mod style;

pub use dir::{DEFAULT_FIGURE_ORDER, DirReport, Limits};
pub use markdown::{is_relative_href, markdown_cell, markdown_to_html};
pub use page::{Figure, Page, Section};

/// The eight bytes every PNG file starts with (PNG specification, section 5.2).
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe in element
/// content and in a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
