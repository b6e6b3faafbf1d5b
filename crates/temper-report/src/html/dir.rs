//! The page of a directory, from whatever it holds, within bounds a hostile folder cannot
//! push past.
//!
//! What is shown, in order: `report.md` (its first `# heading` becomes the section's
//! heading), every `*.png` directly in the directory as a figure, `config.toml`,
//! `summary.toml` and `best.toml` as text, and the links: the caller's own, then each
//! immediate subdirectory that holds a `report.html` or a `report.md`, as
//! `NAME/report.html`. Nothing is followed through a symbolic link (`symlink_metadata`
//! throughout): a link in a shared folder could otherwise embed any file the reader may read.
//! Hidden names (a leading `.`) are skipped, which also skips the temporaries of a write in
//! progress (`.loss.png.<pid>.<n>.tmp.png`).
//!
//! Every size is checked from metadata before a byte is read, and reads are capped again at
//! the limit in case the file grows meanwhile ([`Limits`]: 4 MiB of text per file, 16 MiB per
//! PNG, 64 MiB of images per page, 200 figures, 10,000 links). A text file over its limit or
//! not UTF-8 is an error naming it; an image over a limit is listed as not embedded, so one
//! oversized chart does not cost the rest of the page.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::PNG_SIGNATURE;
use super::page::{Figure, Page, Section};
use crate::ReportError;

const MIB: u64 = 1024 * 1024;

/// The charts temper writes, in the order a reader wants them: training curves, then the
/// confusion matrix, then a study's charts in the order of Optuna's `plot_*` gallery.
pub const DEFAULT_FIGURE_ORDER: [&str; 14] = [
    "loss",
    "accuracy",
    "lr",
    "confusion",
    "lr_find",
    "augment",
    "history",
    "importance",
    "parallel",
    "slice",
    "contour",
    "edf",
    "intermediate",
    "monitor",
];

/// The TOML files shown as text, with their sections' headings.
const TOML_FILES: [(&str, &str); 3] = [
    ("config.toml", "Configuration (config.toml)"),
    ("summary.toml", "Summary (summary.toml)"),
    ("best.toml", "Best trial (best.toml)"),
];

/// How much of a directory a page may take in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `report.md` or TOML file, in bytes (default 4 MiB).
    pub text_bytes: u64,
    /// Largest PNG embedded, in bytes (default 16 MiB).
    pub png_bytes: u64,
    /// Most PNG bytes embedded in one page (default 64 MiB; base64 makes the page 4/3 of it).
    pub embedded_bytes: u64,
    /// Most figures (default 200).
    pub figures: usize,
    /// Most links (default 10,000: a study of that many trials still gets one page).
    pub links: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            text_bytes: 4 * MIB,
            png_bytes: 16 * MIB,
            embedded_bytes: 64 * MIB,
            figures: 200,
            links: 10_000,
        }
    }
}

/// Builds and writes the `report.html` of one directory.
#[derive(Debug, Clone)]
pub struct DirReport {
    /// The page's title.
    pub title: String,
    /// Figure file stems (`loss` for `loss.png`) shown first, in this order; the other PNGs
    /// follow alphabetically. [`DirReport::new`] sets [`DEFAULT_FIGURE_ORDER`].
    pub figure_order: Vec<String>,
    /// `(label, relative href)` links shown before the subdirectories' (a trial's link back
    /// to its study, `../report.html`).
    pub links: Vec<(String, String)>,
    /// Text shown after a subdirectory's link, by subdirectory name (a trial's parameters).
    pub link_notes: BTreeMap<String, String>,
    /// The bounds on what is read.
    pub limits: Limits,
}

impl DirReport {
    /// A report titled `title` with the default figure order and limits and no extra links.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            figure_order: DEFAULT_FIGURE_ORDER.map(String::from).to_vec(),
            links: Vec::new(),
            link_notes: BTreeMap::new(),
            limits: Limits::default(),
        }
    }

    /// The page for `dir`'s contents (see the module docs); an error names the file that
    /// could not be read or is over a text limit.
    pub fn page(&self, dir: &Path) -> Result<Page, ReportError> {
        let listing = scan(dir)?;
        let mut page = Page::new(self.title.clone());
        if let Some(text) = read_text(&dir.join("report.md"), self.limits.text_bytes)? {
            page.sections.push(markdown_section(&text));
        }
        if let Some(figures) = self.figures(dir, &listing.pngs) {
            page.sections.push(figures);
        }
        for (file, heading) in TOML_FILES {
            if let Some(text) = read_text(&dir.join(file), self.limits.text_bytes)? {
                page.sections.push(Section::Preformatted {
                    heading: heading.to_string(),
                    text,
                });
            }
        }
        if let Some(links) = self.links_section(dir, &listing.subdirs) {
            page.sections.push(links);
        }
        Ok(page)
    }

    /// Writes `dir/report.html` atomically (a hidden `.report.html.<pid>.<n>.tmp` beside it,
    /// `fsync`ed, renamed over it, the directory `fsync`ed) and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, ReportError> {
        let html = self.page(dir)?.to_html();
        let path = dir.join("report.html");
        write_atomic(&path, html.as_bytes())?;
        Ok(path)
    }

    /// The figures section: the PNGs in order, each read only when it fits the limits.
    fn figures(&self, dir: &Path, pngs: &[OsString]) -> Option<Section> {
        if pngs.is_empty() {
            return None;
        }
        let (mut figures, mut notes) = (Vec::new(), Vec::new());
        let mut embedded = 0u64;
        let ordered = self.order(pngs);
        for name in ordered.iter().take(self.limits.figures) {
            let path = dir.join(name);
            let caption = stem(name);
            let label = name.to_string_lossy();
            match self.read_png(&path, embedded) {
                Ok(png) => {
                    embedded += png.len() as u64;
                    figures.push(Figure { caption, png });
                }
                Err(why) => notes.push(format!("{label}: not embedded: {why}")),
            }
        }
        if ordered.len() > self.limits.figures {
            notes.push(format!(
                "{} more PNG files not embedded: a page shows at most {} figures",
                ordered.len() - self.limits.figures,
                self.limits.figures
            ));
        }
        Some(Section::Figures {
            heading: "Charts".into(),
            figures,
            notes,
        })
    }

    /// `pngs` in the preferred order, then the rest by name.
    fn order(&self, pngs: &[OsString]) -> Vec<OsString> {
        let mut rest: Vec<OsString> = pngs.to_vec();
        rest.sort();
        let mut ordered = Vec::with_capacity(rest.len());
        for wanted in &self.figure_order {
            if let Some(i) = rest.iter().position(|n| stem(n) == *wanted) {
                ordered.push(rest.remove(i));
            }
        }
        ordered.extend(rest);
        ordered
    }

    /// One PNG's bytes, or why it is left out: a symbolic link or other non-file, over the
    /// per-file limit or over what is left of the page's budget (`embedded` bytes are spent),
    /// or not starting with the PNG signature.
    fn read_png(&self, path: &Path, embedded: u64) -> Result<Vec<u8>, String> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read: {e}"))?;
        if meta.file_type().is_symlink() {
            return Err("a symbolic link, not followed".into());
        }
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        let limit = self.limits.png_bytes;
        let too_large = |size: u64| format!("too large ({}; at most {})", mib(size), mib(limit));
        if meta.len() > limit {
            return Err(too_large(meta.len()));
        }
        let budget = self.limits.embedded_bytes.saturating_sub(embedded);
        let over_budget = || {
            format!(
                "too large (the page embeds at most {} of images)",
                mib(self.limits.embedded_bytes)
            )
        };
        if meta.len() > budget {
            return Err(over_budget());
        }
        let cap = limit.min(budget);
        let bytes = read_capped(path, cap).map_err(|e| format!("cannot read: {e}"))?;
        match bytes {
            Some(bytes) if !bytes.starts_with(&PNG_SIGNATURE) => Err("not a PNG file".into()),
            Some(bytes) => Ok(bytes),
            // The file grew past the limit between the metadata check and the read.
            None if cap == limit => Err(too_large(limit + 1)),
            None => Err(over_budget()),
        }
    }

    /// The links section: the caller's links, then each subdirectory with a report.
    fn links_section(&self, dir: &Path, subdirs: &[OsString]) -> Option<Section> {
        let max = self.limits.links;
        let mut links: Vec<(String, String)> = self.links.iter().take(max).cloned().collect();
        let mut notes = Vec::new();
        let mut sorted = subdirs.to_vec();
        sorted.sort();
        for (i, name) in sorted.iter().enumerate() {
            if links.len() >= max {
                notes.push(format!(
                    "{} more folders not checked: a page holds at most {max} links",
                    sorted.len() - i
                ));
                break;
            }
            let sub = dir.join(name);
            if !is_file(&sub.join("report.html")) && !is_file(&sub.join("report.md")) {
                continue;
            }
            let label = name.to_string_lossy().into_owned();
            let text = match self.link_notes.get(&label) {
                Some(note) => format!("{label} — {note}"),
                None => label,
            };
            links.push((text, format!("{}/report.html", percent_encode(name))));
        }
        if links.is_empty() && notes.is_empty() {
            return None;
        }
        Some(Section::Links {
            heading: "Linked reports".into(),
            links,
            notes,
        })
    }
}

/// What a directory holds that a page may show: PNG files and subdirectories, by name,
/// hidden names and symbolic links left out.
struct Listing {
    pngs: Vec<OsString>,
    subdirs: Vec<OsString>,
}

fn scan(dir: &Path) -> Result<Listing, ReportError> {
    let io = |source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut listing = Listing {
        pngs: Vec::new(),
        subdirs: Vec::new(),
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        // `DirEntry::file_type` does not follow symbolic links.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            listing.subdirs.push(name);
        } else if is_png_name(&name) {
            // A link or a special file named *.png is listed, then refused with its reason.
            listing.pngs.push(name);
        }
    }
    Ok(listing)
}

fn is_png_name(name: &OsString) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes.len() > 4 && bytes[bytes.len() - 4..].eq_ignore_ascii_case(b".png")
}

/// The file name without its `.png`, as text.
fn stem(name: &OsString) -> String {
    Path::new(name)
        .file_stem()
        .unwrap_or(name)
        .to_string_lossy()
        .into_owned()
}

/// Whether `path` is a regular file, without following a symbolic link.
fn is_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// The text of `path`: `None` when it does not exist or is not a regular file (a symbolic
/// link is not followed); an error when it is over `limit` bytes or not UTF-8.
fn read_text(path: &Path, limit: u64) -> Result<Option<String>, ReportError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReportError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !meta.is_file() {
        return Ok(None);
    }
    let too_large = || ReportError::Input {
        path: path.to_path_buf(),
        message: format!("too large for a report (at most {})", mib(limit)),
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    let bytes = read_capped(path, limit)
        .map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .ok_or_else(too_large)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| ReportError::Input {
            path: path.to_path_buf(),
            message: format!("not UTF-8 text: {e}"),
        })
}

/// The bytes of `path`, or `None` when it holds more than `limit` bytes.
fn read_capped(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// `report.md` as a section: a leading `# heading` line becomes the section's heading (so
/// the page does not show two headings in a row), else the heading is "Report".
fn markdown_section(text: &str) -> Section {
    let trimmed = text.trim_start_matches(['\n', '\r']);
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    match first.trim_end().strip_prefix("# ") {
        Some(heading) if !heading.trim().is_empty() => Section::Markdown {
            heading: heading.trim().trim_end_matches('#').trim_end().to_string(),
            text: rest.to_string(),
        },
        _ => Section::Markdown {
            heading: "Report".into(),
            text: text.to_string(),
        },
    }
}

/// `name`'s bytes with everything but RFC 3986's unreserved characters percent-encoded, so
/// a folder named `a b`, `x:y` or `#1` is still one relative path segment.
fn percent_encode(name: &OsString) -> String {
    let mut out = String::new();
    for &b in name.as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, whole: a
/// hidden temporary beside it (`.NAME.<pid>.<n>.tmp`, the pattern a run's clean-up removes
/// after a crash), written and `fsync`ed, renamed over `path`, then the directory `fsync`ed
/// so the rename survives a power cut. The temporary is removed when any step fails.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| "report.html".as_ref()));
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io(parent))
}
