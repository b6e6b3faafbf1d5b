//! temper's Markdown (`report.md`) to HTML that cannot run or fetch anything.
//!
//! `report.md` holds strings a user controls: class names come from folder names, run names
//! and paths from the command line. The parser is pulldown-cmark (CommonMark 0.31.2 with GFM
//! tables and strikethrough); its events are rewritten before its HTML writer sees them:
//!
//! - **Raw HTML becomes text.** CommonMark passes raw HTML through (spec §4.6 HTML blocks,
//!   §6.6 raw HTML); here every `Html` and `InlineHtml` event is turned into a text event, which
//!   the writer escapes, so a class named `<script>alert(1)</script>` reads as itself. An HTML
//!   block becomes a paragraph of that text.
//! - **Links: relative or nothing.** A link keeps its `href` only when [`is_relative_href`]
//!   holds: a relative path (`trial-0003/report.html`, `../report.html`) or a fragment
//!   (`#top`). Everything else (`javascript:`, `data:`, `mailto:` and e-mail autolinks,
//!   `http://`, protocol-relative `//host`, absolute paths) loses its `<a>`: the link text stays
//!   as plain text. This is the scheme allowlist of OWASP's *Cross Site Scripting Prevention
//!   Cheat Sheet* (rule on URL contexts), narrowed to "no scheme at all", because the page
//!   must also work offline and fetch nothing.
//! - **Images are not loaded.** An image becomes its alt text: the page's own charts are
//!   embedded by the page, and an image in `report.md` would be a reference to something
//!   outside the file.
//! - **Numbers are right-aligned.** A table column whose body cells are all numbers (`0.9918`,
//!   `99.18%`, `-3`, `1e-4`; a cell that is empty or `-`/`—` is neutral) and that has no
//!   alignment of its own is aligned right, as spreadsheets align numbers, so that digits of
//!   equal place line up; temper's tables are written with `|---|` (no alignment).

use pulldown_cmark::{Alignment, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// Renders `md` (CommonMark with GFM tables and strikethrough) to an HTML fragment in which
/// raw HTML is text and only relative links remain links (the rules in the module docs).
pub fn markdown_to_html(md: &str) -> String {
    render(md, 0)
}

/// [`markdown_to_html`] with every heading `shift` levels deeper (at most `<h6>`), for a
/// fragment placed under the page's own headings.
pub(crate) fn render(md: &str, shift: usize) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events = sanitize(Parser::new_ext(md, options), shift);
    align_numbers(&mut events);
    let mut out = String::with_capacity(md.len() + md.len() / 2);
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    out
}

/// Text from a user (a class, group or run name, a parameter value) made safe inside a
/// Markdown table cell: pipes escaped so the row keeps its columns, line breaks (which would
/// end the row) turned into spaces.
pub fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Whether `href` may be the target of a link in a report: non-empty; no whitespace, control
/// character or backslash (browsers drop tabs and newlines inside URLs and read `\` as `/`,
/// so `java\tscript:` and `/\host` would escape a simpler check); not starting with `/`
/// (an absolute path, or `//host`); and no `:` before the first `/`, `?` or `#`, which is
/// where a URL's scheme ends (WHATWG URL Standard, "scheme state").
pub fn is_relative_href(href: &str) -> bool {
    if href.is_empty() || href.starts_with('/') {
        return false;
    }
    if href
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    let scheme_end = href.find(['/', '?', '#']).unwrap_or(href.len());
    !href[..scheme_end].contains(':')
}

/// The parser's events with raw HTML turned into text, unsafe links and all images reduced
/// to their text, and headings moved `shift` levels down.
fn sanitize<'a>(parser: impl Iterator<Item = Event<'a>>, shift: usize) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    // One entry per open link or image: whether its tags were kept. CommonMark guarantees
    // balanced starts and ends, so an end pops its own start's entry.
    let mut kept: Vec<bool> = Vec::new();
    for event in parser {
        match event {
            Event::Html(text) | Event::InlineHtml(text) => out.push(Event::Text(text)),
            Event::Start(Tag::HtmlBlock) => out.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => out.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let keep = link_type != LinkType::Email && is_relative_href(&dest_url);
                kept.push(keep);
                if keep {
                    out.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::Start(Tag::Image { .. }) => kept.push(false),
            Event::End(end @ (TagEnd::Link | TagEnd::Image)) => {
                if kept.pop().unwrap_or(false) {
                    out.push(Event::End(end));
                }
            }
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => out.push(Event::Start(Tag::Heading {
                level: deeper(level, shift),
                id,
                classes,
                attrs,
            })),
            Event::End(TagEnd::Heading(level)) => {
                out.push(Event::End(TagEnd::Heading(deeper(level, shift))))
            }
            other => out.push(other),
        }
    }
    out
}

fn deeper(level: HeadingLevel, shift: usize) -> HeadingLevel {
    HeadingLevel::try_from((level as usize + shift).min(6)).unwrap_or(HeadingLevel::H6)
}

/// Right-aligns each table column that holds only numbers and has no alignment of its own.
fn align_numbers(events: &mut [Event]) {
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Table(columns)) = &events[i] {
            let columns = columns.len();
            let end = events[i..]
                .iter()
                .position(|e| matches!(e, Event::End(TagEnd::Table)))
                .map_or(events.len(), |p| i + p);
            let numeric = numeric_columns(&events[i + 1..end], columns);
            if let Event::Start(Tag::Table(alignments)) = &mut events[i] {
                for (alignment, numeric) in alignments.iter_mut().zip(numeric) {
                    if numeric && *alignment == Alignment::None {
                        *alignment = Alignment::Right;
                    }
                }
            }
            i = end;
        }
        i += 1;
    }
}

/// For each of `columns`, whether its body cells (`events` inside one table) hold at least
/// one number and nothing but numbers and neutral cells.
fn numeric_columns(events: &[Event], columns: usize) -> Vec<bool> {
    let mut numbers = vec![0usize; columns];
    let mut words = vec![0usize; columns];
    let (mut in_head, mut column) = (false, 0);
    let mut cell: Option<String> = None;
    for event in events {
        match event {
            Event::Start(Tag::TableHead) => (in_head, column) = (true, 0),
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => column = 0,
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(cell) = &mut cell {
                    cell.push_str(text);
                }
            }
            Event::End(TagEnd::TableCell) => {
                let text = cell.take().unwrap_or_default();
                if !in_head && column < columns {
                    match classify(&text) {
                        Cell::Number => numbers[column] += 1,
                        Cell::Word => words[column] += 1,
                        Cell::Neutral => {}
                    }
                }
                column += 1;
            }
            _ => {}
        }
    }
    (0..columns)
        .map(|c| numbers[c] > 0 && words[c] == 0)
        .collect()
}

enum Cell {
    Number,
    Word,
    Neutral,
}

fn classify(text: &str) -> Cell {
    let text = text.trim();
    if matches!(text, "" | "-" | "—" | "–" | "n/a") {
        return Cell::Neutral;
    }
    let number = text.strip_suffix('%').unwrap_or(text).trim_end();
    let number = number.strip_prefix('−').unwrap_or(number);
    if number.parse::<f64>().is_ok() {
        Cell::Number
    } else {
        Cell::Word
    }
}
