//! The groups file: which group each sample belongs to (`[data] groups = "FILE.csv"`).
//!
//! # Format
//!
//! UTF-8 CSV (a leading byte-order mark is skipped), LF or CRLF line ends, blank lines ignored.
//! The first line is the header `key,group`; each other line is one sample:
//!
//! ```text
//! key,group
//! cat/0001.png,site A
//! dog/0001.png,site B
//! ```
//!
//! - `key` is either a file path relative to the ImageFolder root, `/`-separated, exactly as
//!   the folder source lists it (`cat/0001.png`: no leading `/`, no empty, `.` or `..`
//!   component), for `folder:` sources; or a 0-based sample index for IDX and CIFAR sources,
//!   counting the training set first and then the test set (with 60,000 training images, test
//!   image 0 is key `60000`), in the files' own order, before any shuffle or validation split.
//!   A key made only of ASCII digits is an index, anything else a path; one file holds one
//!   kind. Each key appears once.
//! - `group` is the group's name: not empty, at most [`MAX_GROUP_NAME_BYTES`] bytes.
//! - Fields are as RFC 4180 writes them on one line: a field holding a comma or a quote is
//!   enclosed in double quotes, a quote inside doubled (`"a,b.png"`, `"say ""hi"""`). Spaces
//!   and tabs around an unquoted field are dropped; no field holds a control character.
//!
//! Groups are numbered in the byte order of their names (`GroupsFile::names`), so the same file
//! always gives the same numbering.
//!
//! The file is hostile input: its size is checked from the file's metadata before it is read,
//! the number of groups and the length of names and keys are bounded, and every fault is one
//! line `FILE:LINE: ...` (`FairError::BadGroupsFile`, line 0 for the file as a whole) that
//! quotes at most 60 characters of the offending text.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::FairError;

/// Largest groups file read, in bytes. ImageNet-1k's 1.33 M images at about 45 bytes a row
/// (`n01440764/n01440764_10026.JPEG,site A`) make 60 MB, so this covers it twice over while
/// keeping the text and its key table (about 100 bytes a row) within a few hundred MB.
pub const MAX_GROUPS_FILE_BYTES: u64 = 128 << 20;

/// Most distinct groups. Each is a row of the fairness report and a weight of the mitigation
/// step; past a few hundred, per-group figures rest on too few samples each to compare, and
/// such a count more likely means a per-sample column was given as the group column.
pub const MAX_GROUPS: usize = 256;

/// Longest group name, in bytes: a name is a report label, not data.
pub const MAX_GROUP_NAME_BYTES: usize = 100;

/// Longest key, in bytes: Linux's `PATH_MAX`.
pub const MAX_KEY_BYTES: usize = 4096;

/// How many characters of user text an error message quotes.
const MAX_QUOTED_CHARS: usize = 60;

/// What the keys of a groups file are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// File paths relative to an ImageFolder root (`folder:` sources).
    Path,
    /// 0-based sample indices, training set then test set (IDX and CIFAR sources).
    Index,
}

/// A parsed groups file: group names and each key's group.
#[derive(Debug, Clone)]
pub struct GroupsFile {
    /// Group names in byte order; a group's index is its position here.
    pub names: Vec<String>,
    path: PathBuf,
    keys: Keys,
}

/// Each key's group index and the line that gave it.
#[derive(Debug, Clone)]
enum Keys {
    Paths(HashMap<String, (usize, usize)>),
    Indices(HashMap<usize, (usize, usize)>),
}

impl GroupsFile {
    /// Reads and parses `path`, refusing a file over [`MAX_GROUPS_FILE_BYTES`] before reading
    /// it, and a file that is not UTF-8.
    pub fn read(path: &Path) -> Result<Self, FairError> {
        let io = |source| FairError::Io {
            path: path.to_path_buf(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(io)?;
        if !metadata.is_file() {
            return Err(bad(path, 0, "not a regular file".into()));
        }
        let too_big = |len: u64| {
            bad(
                path,
                0,
                format!("{len} bytes, over the limit of {MAX_GROUPS_FILE_BYTES} bytes"),
            )
        };
        if metadata.len() > MAX_GROUPS_FILE_BYTES {
            return Err(too_big(metadata.len()));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_GROUPS_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        // The file may have grown between the metadata and the read.
        if bytes.len() as u64 > MAX_GROUPS_FILE_BYTES {
            return Err(too_big(bytes.len() as u64));
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            bad(
                path,
                line,
                format!("not UTF-8: an invalid byte at byte {column} of the line"),
            )
        })?;
        Self::parse(text, path)
    }

    /// Parses the text of a groups file; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, FairError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut builder = Builder::new(path);
        let mut header_seen = false;
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.contains('\r') {
                return Err(bad(
                    path,
                    number,
                    "a carriage return inside a line: line ends must be LF or CRLF".into(),
                ));
            }
            if line.trim().is_empty() {
                continue;
            }
            let fields = split_fields(line).map_err(|message| bad(path, number, message))?;
            if !header_seen {
                if fields != ["key", "group"] {
                    return Err(bad(
                        path,
                        number,
                        format!("expected the header `key,group`, found {}", quote(line)),
                    ));
                }
                header_seen = true;
                continue;
            }
            let [key, group] = <[String; 2]>::try_from(fields).map_err(|fields| {
                bad(
                    path,
                    number,
                    format!(
                        "expected two fields `key,group`, found {} in {}",
                        fields.len(),
                        quote(line)
                    ),
                )
            })?;
            builder.add(number, &key, &group)?;
        }
        if !header_seen {
            return Err(bad(
                path,
                0,
                "empty: expected the header `key,group`".into(),
            ));
        }
        builder.finish()
    }

    /// Whether the keys are paths or sample indices.
    pub fn kind(&self) -> KeyKind {
        match self.keys {
            Keys::Paths(_) => KeyKind::Path,
            Keys::Indices(_) => KeyKind::Index,
        }
    }

    /// The group of the file at `relative` (to the ImageFolder root), if the file lists it.
    pub fn group_of_path(&self, relative: &str) -> Option<usize> {
        match &self.keys {
            Keys::Paths(map) => map.get(relative).map(|&(group, _)| group),
            Keys::Indices(_) => None,
        }
    }

    /// The group of sample `index`, if the file lists it.
    pub fn group_of_index(&self, index: usize) -> Option<usize> {
        match &self.keys {
            Keys::Indices(map) => map.get(&index).map(|&(group, _)| group),
            Keys::Paths(_) => None,
        }
    }

    /// The group of each sample of a folder source, in the order given; the first sample the
    /// file does not list is an error naming it.
    pub fn assign_paths(&self, relative_paths: &[&str]) -> Result<Vec<usize>, FairError> {
        if self.kind() != KeyKind::Path {
            return Err(self.whole(
                "holds sample indices, but the data source is a folder: keys must be file \
                 paths relative to its root"
                    .into(),
            ));
        }
        relative_paths
            .iter()
            .map(|&p| {
                self.group_of_path(p)
                    .ok_or_else(|| self.whole(format!("no group for sample {}", quote(p))))
            })
            .collect()
    }

    /// The group of samples `0..n` of an IDX or CIFAR source (training set, then test set);
    /// the first sample the file does not list is an error naming it.
    pub fn assign_indices(&self, n: usize) -> Result<Vec<usize>, FairError> {
        if self.kind() != KeyKind::Index {
            return Err(self.whole(
                "holds file paths, but the data source is indexed: keys must be 0-based \
                 sample indices"
                    .into(),
            ));
        }
        (0..n)
            .map(|i| {
                self.group_of_index(i)
                    .ok_or_else(|| self.whole(format!("no group for sample index {i}")))
            })
            .collect()
    }

    fn whole(&self, message: String) -> FairError {
        bad(&self.path, 0, message)
    }
}

fn bad(path: &Path, line: usize, message: String) -> FairError {
    FairError::BadGroupsFile {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// User text for an error message: at most [`MAX_QUOTED_CHARS`] characters, escaped so that the
/// message stays on one line.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting, no line break inside a field).
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let blank: &[char] = &[' ', '\t'];
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let field = rest.trim_start_matches(blank);
        let Some(quoted) = field.strip_prefix('"') else {
            let (value, next) = match field.find(',') {
                Some(comma) => (&field[..comma], Some(&field[comma + 1..])),
                None => (field, None),
            };
            if value.contains('"') {
                return Err(format!(
                    "a quote inside an unquoted field {}: enclose the field in quotes and double \
                     the quote",
                    quote(value)
                ));
            }
            fields.push(value.trim_end_matches(blank).to_owned());
            match next {
                Some(next) => rest = next,
                None => return Ok(fields),
            }
            continue;
        };
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let mut after = None;
        while let Some((i, c)) = chars.next() {
            if c != '"' {
                value.push(c);
            } else if quoted[i + 1..].starts_with('"') {
                value.push('"');
                chars.next();
            } else {
                after = Some(&quoted[i + 1..]);
                break;
            }
        }
        let Some(after) = after else {
            return Err(format!("a quoted field is not closed: {}", quote(field)));
        };
        fields.push(value);
        let after = after.trim_start_matches(blank);
        if after.is_empty() {
            return Ok(fields);
        }
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => {
                return Err(format!("text after a closing quote: {}", quote(after)));
            }
        }
    }
}

/// Collects rows, numbering groups by first appearance until `finish` sorts them.
struct Builder<'a> {
    path: &'a Path,
    names: Vec<String>,
    ids: HashMap<String, usize>,
    keys: Option<Keys>,
}

impl<'a> Builder<'a> {
    fn new(path: &'a Path) -> Self {
        Self {
            path,
            names: Vec::new(),
            ids: HashMap::new(),
            keys: None,
        }
    }

    fn add(&mut self, line: usize, key: &str, group: &str) -> Result<(), FairError> {
        let fail = |message: String| Err(bad(self.path, line, message));
        check_text("key", key, MAX_KEY_BYTES).or_else(fail)?;
        check_text("group name", group, MAX_GROUP_NAME_BYTES).or_else(fail)?;
        let is_index = key.bytes().all(|b| b.is_ascii_digit());
        let index = if is_index {
            match key.parse::<usize>() {
                Ok(index) => Some(index),
                Err(_) => return fail(format!("sample index {} is too large", quote(key))),
            }
        } else {
            // A leading `/` shows up as an empty first component.
            if key
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return fail(format!(
                    "key {} is not a plain relative path (no leading `/`, no empty, `.` or \
                     `..` component)",
                    quote(key)
                ));
            }
            None
        };
        let keys = self.keys.get_or_insert_with(|| match index {
            Some(_) => Keys::Indices(HashMap::new()),
            None => Keys::Paths(HashMap::new()),
        });
        let group_id = match self.ids.get(group) {
            Some(&id) => id,
            None if self.names.len() == MAX_GROUPS => {
                return fail(format!(
                    "group {} would be group {}, over the limit of {MAX_GROUPS}",
                    quote(group),
                    MAX_GROUPS + 1
                ));
            }
            None => {
                self.ids.insert(group.to_owned(), self.names.len());
                self.names.push(group.to_owned());
                self.names.len() - 1
            }
        };
        let first = match (keys, index) {
            (Keys::Indices(map), Some(index)) => insert(map.entry(index), group_id, line),
            (Keys::Paths(map), None) => insert(map.entry(key.to_owned()), group_id, line),
            (Keys::Paths(_), Some(_)) | (Keys::Indices(_), None) => {
                let (this, other) = if is_index {
                    ("a sample index", "file paths")
                } else {
                    ("a file path", "sample indices")
                };
                return fail(format!(
                    "key {} is {this}, but earlier keys are {other}: a file holds paths \
                     (folder sources) or indices (IDX, CIFAR), not both",
                    quote(key)
                ));
            }
        };
        match first {
            Some(first) => fail(format!(
                "key {} given twice (first on line {first})",
                quote(key)
            )),
            None => Ok(()),
        }
    }

    fn finish(self) -> Result<GroupsFile, FairError> {
        let Some(mut keys) = self.keys else {
            return Err(bad(self.path, 0, "no rows after the header".into()));
        };
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
        let mut rank = vec![0; order.len()];
        for (sorted, &first_seen) in order.iter().enumerate() {
            rank[first_seen] = sorted;
        }
        match &mut keys {
            Keys::Paths(map) => map.values_mut().for_each(|v| v.0 = rank[v.0]),
            Keys::Indices(map) => map.values_mut().for_each(|v| v.0 = rank[v.0]),
        }
        let names = order.iter().map(|&i| self.names[i].clone()).collect();
        Ok(GroupsFile {
            names,
            path: self.path.to_path_buf(),
            keys,
        })
    }
}

/// Inserts a key's group; on a repeated key, the line that first gave it.
fn insert<K>(entry: Entry<'_, K, (usize, usize)>, group: usize, line: usize) -> Option<usize> {
    match entry {
        Entry::Occupied(first) => Some(first.get().1),
        Entry::Vacant(slot) => {
            slot.insert((group, line));
            None
        }
    }
}

/// A field is not empty, fits `max_bytes` and holds no control character.
fn check_text(what: &str, text: &str, max_bytes: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("empty {what}"));
    }
    if text.len() > max_bytes {
        return Err(format!(
            "{what} {} is {} bytes, over the limit of {max_bytes}",
            quote(text),
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} {} holds a control character", quote(text)));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
