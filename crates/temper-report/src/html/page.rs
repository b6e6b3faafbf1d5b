//! The page: a title, a table of contents and sections, written as one HTML5 document.

use std::fmt::Write as _;

use base64::Engine as _;

use super::markdown::{is_relative_href, render};
use super::style::STYLE;
use super::{PNG_SIGNATURE, escape};

/// The Content Security Policy of every page: nothing may load but the embedded images and
/// the inline style, so no script runs and no URL is fetched.
const POLICY: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; \
                      base-uri 'none'; form-action 'none'";

/// One self-contained HTML page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The page's `<title>` and top heading.
    pub title: String,
    /// The sections, in order; each is listed in the table of contents.
    pub sections: Vec<Section>,
}

/// One part of a [`Page`], under its own heading.
#[derive(Debug, Clone)]
pub enum Section {
    /// Markdown rendered by [`markdown_to_html`](super::markdown_to_html) (raw HTML escaped,
    /// only relative links), its headings one level below the section's.
    Markdown {
        /// The section's heading.
        heading: String,
        /// The Markdown text.
        text: String,
    },
    /// Text shown as it is, in a monospaced block (a TOML file).
    Preformatted {
        /// The section's heading.
        heading: String,
        /// The text, escaped on output.
        text: String,
    },
    /// Images embedded in the page.
    Figures {
        /// The section's heading.
        heading: String,
        /// The figures, in order; one whose bytes are not a PNG shows as a note instead.
        figures: Vec<Figure>,
        /// Lines shown after the figures: what was left out and why.
        notes: Vec<String>,
    },
    /// Links to other pages.
    Links {
        /// The section's heading.
        heading: String,
        /// `(label, href)`: an `href` that fails
        /// [`is_relative_href`](super::is_relative_href) shows its label without a link.
        links: Vec<(String, String)>,
        /// Lines shown after the links: what was left out and why.
        notes: Vec<String>,
    },
}

impl Section {
    /// The section's heading.
    pub fn heading(&self) -> &str {
        match self {
            Section::Markdown { heading, .. }
            | Section::Preformatted { heading, .. }
            | Section::Figures { heading, .. }
            | Section::Links { heading, .. } => heading,
        }
    }
}

/// A PNG image and its caption.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Shown under the image, and its alt text.
    pub caption: String,
    /// The encoded PNG file; bytes that do not start with the PNG signature are not embedded.
    pub png: Vec<u8>,
}

impl Page {
    /// An empty page titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            sections: Vec::new(),
        }
    }

    /// The whole document: HTML5, UTF-8, an inline style sheet, no script and no URL that
    /// leaves the page other than relative links.
    pub fn to_html(&self) -> String {
        let embedded: usize = self
            .sections
            .iter()
            .map(|s| match s {
                Section::Figures { figures, .. } => figures.iter().map(|f| f.png.len()).sum(),
                _ => 0,
            })
            .sum();
        let mut out = String::with_capacity(16 * 1024 + embedded * 4 / 3);
        let title = escape(&self.title);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(
            out,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">"
        );
        out.push_str("<meta name=\"generator\" content=\"temper\">\n");
        let _ = writeln!(out, "<title>{title}</title>\n<style>{STYLE}</style>");
        out.push_str("</head>\n<body>\n<div class=\"page\">\n");
        let _ = writeln!(out, "<header><h1>{title}</h1></header>");
        self.write_contents(&mut out);
        out.push_str("<main>\n");
        for (i, section) in self.sections.iter().enumerate() {
            let _ = writeln!(
                out,
                "<section id=\"{}\">\n<h2>{}</h2>",
                anchor(i),
                escape(section.heading())
            );
            write_section(&mut out, section);
            out.push_str("</section>\n");
        }
        out.push_str("</main>\n<footer>Written by temper. This page is one file: its charts ");
        out.push_str(
            "are embedded, and it loads nothing else.</footer>\n</div>\n</body>\n</html>\n",
        );
        out
    }

    /// The table of contents: one link per section.
    fn write_contents(&self, out: &mut String) {
        if self.sections.is_empty() {
            return;
        }
        out.push_str("<nav class=\"toc\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ol>\n");
        for (i, section) in self.sections.iter().enumerate() {
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                anchor(i),
                escape(section.heading())
            );
        }
        out.push_str("</ol>\n</nav>\n");
    }
}

/// The `id` of the `i`-th section: numbered, since headings are arbitrary text.
fn anchor(i: usize) -> String {
    format!("section-{}", i + 1)
}

fn write_section(out: &mut String, section: &Section) {
    match section {
        Section::Markdown { text, .. } => {
            out.push_str("<div class=\"markdown\">\n");
            // The section's heading is an <h2>: a Markdown `#` becomes the <h2> beside it and
            // `##` an <h3>, below the page's <h1>.
            out.push_str(&render(text, 1));
            out.push_str("</div>\n");
        }
        Section::Preformatted { text, .. } => {
            let _ = writeln!(out, "<pre><code>{}</code></pre>", escape(text));
        }
        Section::Figures { figures, notes, .. } => write_figures(out, figures, notes),
        Section::Links { links, notes, .. } => {
            write_links(out, links);
            write_notes(out, notes);
        }
    }
}

/// The figures, then one list of what was not embedded: `notes`, and the figures whose bytes
/// are not a PNG.
fn write_figures(out: &mut String, figures: &[Figure], notes: &[String]) {
    let mut refused = notes.to_vec();
    out.push_str("<div class=\"figures\">\n");
    for figure in figures {
        if !figure.png.starts_with(&PNG_SIGNATURE) {
            refused.push(format!("{}: not embedded: not a PNG file", figure.caption));
            continue;
        }
        let caption = escape(&figure.caption);
        let size = match png_size(&figure.png) {
            Some((w, h)) => format!(" width=\"{w}\" height=\"{h}\""),
            None => String::new(),
        };
        out.push_str("<figure><img src=\"data:image/png;base64,");
        // Encoded straight into the page: no second copy of a large image.
        base64::engine::general_purpose::STANDARD.encode_string(&figure.png, out);
        let _ = writeln!(
            out,
            "\" alt=\"{caption}\"{size}><figcaption>{caption}</figcaption></figure>"
        );
    }
    out.push_str("</div>\n");
    write_notes(out, &refused);
}

/// The width and height in a PNG's `IHDR` chunk, which must come first (PNG specification,
/// section 11.2.2), so the browser reserves the image's box before decoding it.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

fn write_links(out: &mut String, links: &[(String, String)]) {
    if links.is_empty() {
        return;
    }
    out.push_str("<ul class=\"links\">\n");
    for (label, href) in links {
        if is_relative_href(href) {
            let _ = writeln!(
                out,
                "<li><a href=\"{}\">{}</a></li>",
                escape(href),
                escape(label)
            );
        } else {
            let _ = writeln!(out, "<li>{}</li>", escape(label));
        }
    }
    out.push_str("</ul>\n");
}

fn write_notes(out: &mut String, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    out.push_str("<ul class=\"notes\">\n");
    for note in notes {
        let _ = writeln!(out, "<li>{}</li>", escape(note));
    }
    out.push_str("</ul>\n");
}
