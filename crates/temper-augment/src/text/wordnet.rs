//! A reader of a WordNet 3.0 dictionary directory (Princeton's database files, `man 5 wndb`;
//! Debian's `wordnet-base` installs one at `/usr/share/wordnet`).
//!
//! Only what synonym lookup needs is read: the synsets of `data.{noun,verb,adj,adv}` (their
//! lemmas) and the morphological exception lists `{noun,verb,adj,adv}.exc` ("geese" → "goose",
//! "ran" → "run"). Index files are not needed: a lemma's synsets are found by scanning the
//! data files once.
//!
//! Each file is at most [`MAX_WORDNET_FILE_BYTES`], refused from its length before it is
//! read, and a synset announces at most 255 words (its count is two hex digits).

use std::path::Path;

use super::error::{Result, TextError};

/// A WordNet part of speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pos {
    /// Nouns (`n`).
    Noun,
    /// Verbs (`v`).
    Verb,
    /// Adjectives, head and satellite (`a` and `s` synsets).
    Adj,
    /// Adverbs (`r`).
    Adv,
}

impl Pos {
    /// All four, in the order files are read and tables are written.
    pub const ALL: [Pos; 4] = [Pos::Noun, Pos::Verb, Pos::Adj, Pos::Adv];

    /// The file-name stem WordNet uses (`noun` for `data.noun`, `noun.exc`).
    pub fn file_stem(self) -> &'static str {
        match self {
            Pos::Noun => "noun",
            Pos::Verb => "verb",
            Pos::Adj => "adj",
            Pos::Adv => "adv",
        }
    }

    /// The one-letter code of the compact table (`n v a r`, as in WordNet's `ss_type`).
    pub fn code(self) -> char {
        match self {
            Pos::Noun => 'n',
            Pos::Verb => 'v',
            Pos::Adj => 'a',
            Pos::Adv => 'r',
        }
    }

    /// The inverse of [`Pos::code`].
    pub fn from_code(c: &str) -> Option<Pos> {
        Pos::ALL
            .into_iter()
            .find(|p| c.len() == 1 && c.starts_with(p.code()))
    }

    /// Index into per-part-of-speech arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One synset: its part of speech and its lemmas as written in the data file (underscores
/// for spaces, adjective markers such as `(p)` removed, case kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synset {
    /// The data file it comes from.
    pub pos: Pos,
    /// Its lemmas, in file order.
    pub lemmas: Vec<String>,
}

/// One line of an exception list: an inflected form and its base forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The exception list it comes from.
    pub pos: Pos,
    /// The inflected form (`geese`).
    pub inflected: String,
    /// Its base forms (`goose`), at least one.
    pub bases: Vec<String>,
}

/// The synsets and exception lists of a WordNet dictionary directory, in file order
/// (nouns, verbs, adjectives, adverbs; byte-offset order within a file).
#[derive(Debug, Clone, Default)]
pub struct WordNetDb {
    /// Every synset of the four data files.
    pub synsets: Vec<Synset>,
    /// Every line of the four exception lists.
    pub exceptions: Vec<Exception>,
}

/// Largest WordNet file read: 64 MiB. WordNet 3.0's largest, `data.noun`, is 15 MiB; a bigger
/// file is not a WordNet dictionary and is refused from its length.
pub const MAX_WORDNET_FILE_BYTES: u64 = 64 << 20;

fn read_text(path: &Path) -> Result<String> {
    let io = |source| TextError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = crate::fs::read_bounded(path, MAX_WORDNET_FILE_BYTES).map_err(io)?;
    String::from_utf8(bytes)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

impl WordNetDb {
    /// Reads `data.*` and `*.exc` from `dir`; a missing or malformed file is an error naming it.
    pub fn read_dir(dir: &Path) -> Result<WordNetDb> {
        let mut db = WordNetDb::default();
        for pos in Pos::ALL {
            let path = dir.join(format!("data.{}", pos.file_stem()));
            db.synsets
                .extend(parse_data(&read_text(&path)?, pos, &path)?);
        }
        for pos in Pos::ALL {
            let path = dir.join(format!("{}.exc", pos.file_stem()));
            db.exceptions
                .extend(parse_exc(&read_text(&path)?, pos, &path)?);
        }
        Ok(db)
    }
}

/// Parses a `data.<pos>` file: `offset lex_filenum ss_type w_cnt word lex_id ...`, with
/// `w_cnt` two hexadecimal digits; the licence header's lines start with two spaces.
pub fn parse_data(text: &str, pos: Pos, path: &Path) -> Result<Vec<Synset>> {
    let mut synsets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("  ") || line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| TextError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 4 {
            return Err(bad(format!("expected a synset line, found {line:?}")));
        }
        let ss_type = fields[2];
        let type_ok = match pos {
            Pos::Adj => ss_type == "a" || ss_type == "s",
            _ => Pos::from_code(ss_type) == Some(pos),
        };
        if !type_ok {
            return Err(bad(format!(
                "synset type {ss_type:?} does not belong in data.{}",
                pos.file_stem()
            )));
        }
        // Two hexadecimal digits (`wndb(5)`), so at most 255 words.
        let w_cnt = Some(fields[3])
            .filter(|f| f.len() <= 2)
            .and_then(|f| usize::from_str_radix(f, 16).ok())
            .ok_or_else(|| bad(format!("word count {:?} is not two hex digits", fields[3])))?;
        if fields.len() < 4 + 2 * w_cnt {
            return Err(bad(format!(
                "announces {w_cnt} words but the line is shorter"
            )));
        }
        let lemmas = (0..w_cnt)
            .map(|k| {
                let word = fields[4 + 2 * k];
                // Adjective syntactic markers: "galore(ip)", "ready_to_hand(p)", "(a)".
                match word.find('(') {
                    Some(at) if word.ends_with(')') => word[..at].to_string(),
                    _ => word.to_string(),
                }
            })
            .collect();
        synsets.push(Synset { pos, lemmas });
    }
    Ok(synsets)
}

/// Parses a `<pos>.exc` file: `inflected base [base ...]` per line.
pub fn parse_exc(text: &str, pos: Pos, path: &Path) -> Result<Vec<Exception>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        let Some(inflected) = words.next() else {
            continue;
        };
        let bases: Vec<String> = words.map(str::to_string).collect();
        if bases.is_empty() {
            return Err(TextError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("exception {inflected:?} has no base form"),
            });
        }
        out.push(Exception {
            pos,
            inflected: inflected.to_string(),
            bases,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_parse_with_markers_removed() {
        // Two lines copied from WordNet 3.0 data.adj (header line skipped).
        let text = "  1 This software and database is being provided\n\
            00002312 00 a 02 abaxial 0 dorsal 4 002 ;c 06037666 n 0000 | facing away\n\
            00014358 00 s 02 abounding 0 galore(ip) 0 001 & 00013887 a 0000 | existing\n";
        let s = parse_data(text, Pos::Adj, Path::new("data.adj")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].lemmas, ["abaxial", "dorsal"]);
        assert_eq!(s[1].lemmas, ["abounding", "galore"]);
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        let err = parse_data("00001 00 n zz car 0\n", Pos::Noun, Path::new("x/data.noun"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "x/data.noun:1: word count \"zz\" is not two hex digits"
        );
        let err = parse_exc("geese\n", Pos::Noun, Path::new("noun.exc"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "noun.exc:1: exception \"geese\" has no base form");
        let err = WordNetDb::read_dir(Path::new("/nonexistent-wordnet"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/nonexistent-wordnet/data.noun: "), "{err}");
    }
}
