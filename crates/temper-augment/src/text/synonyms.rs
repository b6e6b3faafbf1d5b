//! [`SynonymTable`]: WordNet synonyms of single-token words, with WordNet's morphology
//! (exception lists and suffix rules) so inflected forms find their lemma's synonyms.
//!
//! The synonyms of a word are, as in EDA's reference code (`get_synonyms` in
//! `jasonwei20/eda_nlp/code/eda.py`, through NLTK's `wordnet.synsets`, which applies
//! `morphy`), the lemmas of every synset, of any part of speech, that contains the word or one
//! of its base forms, minus the word itself. Unlike the reference, multi-word lemmas
//! ("motor_vehicle") are left out so a replacement is always one token. Lemmas are lower-cased.
//!
//! The table is kept in a compact form (see [`SynonymTable::write_compact`]); the copy built from
//! WordNet 3.0 is compiled into the crate (`assets/text/wordnet-synonyms.tsv.gz`, see
//! `assets/text/README.md` for its licence and the command that rebuilds it).
//!
//! **Bounds.** A compact table unpacks to at most [`MAX_TABLE_BYTES`] (the read stops there,
//! so a gzip bomb costs nothing), and every de-duplication goes through a hash set, so a
//! hostile table (one word in a million synsets) costs time linear in its size.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::GzBuilder;
use flate2::read::GzDecoder;

use super::error::{Result, TextError};
use super::tokenize::is_single_word;
use super::wordnet::{Pos, WordNetDb};

/// The compact table built from WordNet 3.0, compiled in.
const BUNDLED: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/text/wordnet-synonyms.tsv.gz"
));

/// Largest unpacked compact table: 64 MiB. The bundled WordNet 3.0 table is 843 KB and a
/// table of all of WordNet's lemmas would be a few MiB.
pub const MAX_TABLE_BYTES: u64 = 64 << 20;

const HEADER: &str = "# temper synonym table v1: single-token lemmas of WordNet synsets; \
S <pos> <lemmas...> is a synset, X <pos> <inflected> <bases...> an exception";

/// WordNet's detachment rules (`morphy(7)`): suffix → replacement, per part of speech.
fn suffix_rules(pos: Pos) -> &'static [(&'static str, &'static str)] {
    match pos {
        Pos::Noun => &[
            ("s", ""),
            ("ses", "s"),
            ("xes", "x"),
            ("zes", "z"),
            ("ches", "ch"),
            ("shes", "sh"),
            ("men", "man"),
            ("ies", "y"),
        ],
        Pos::Verb => &[
            ("s", ""),
            ("ies", "y"),
            ("es", "e"),
            ("es", ""),
            ("ed", "e"),
            ("ed", ""),
            ("ing", "e"),
            ("ing", ""),
        ],
        Pos::Adj => &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
        Pos::Adv => &[],
    }
}

/// Synonyms of single-token words from WordNet synsets. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct SynonymTable {
    /// Synsets in file order, each a list of distinct lower-cased single-token lemmas (at least two).
    synsets: Vec<(Pos, Vec<String>)>,
    /// Exceptions in file order, bases restricted to lemmas present in `synsets`.
    exceptions: Vec<(Pos, String, Vec<String>)>,
    /// Per part of speech: lemma → indices into `synsets`.
    lemma_index: [HashMap<String, Vec<usize>>; 4],
    /// Per part of speech: inflected form → base forms.
    exception_index: [HashMap<String, Vec<String>>; 4],
}

impl SynonymTable {
    /// The table built from WordNet 3.0 that ships with the crate.
    pub fn bundled() -> Result<SynonymTable> {
        SynonymTable::read_compact(BUNDLED, Path::new("assets/text/wordnet-synonyms.tsv.gz"))
    }

    /// The table from the WordNet directory `dir` when given (the CLI's `--wordnet DIR`), else
    /// the bundled one.
    pub fn load(dir: Option<&Path>) -> Result<SynonymTable> {
        match dir {
            Some(dir) => SynonymTable::from_wordnet_dir(dir),
            None => SynonymTable::bundled(),
        }
    }

    /// Reads a WordNet dictionary directory (`data.*`, `*.exc`) and keeps what synonym lookup
    /// needs; the result equals the compact table built from the same directory.
    pub fn from_wordnet_dir(dir: &Path) -> Result<SynonymTable> {
        Ok(SynonymTable::from_db(&WordNetDb::read_dir(dir)?))
    }

    /// Filters a WordNet database: lemmas lower-cased, multi-token lemmas dropped, duplicates
    /// within a synset dropped, synsets left with fewer than two lemmas dropped (they give no
    /// synonym), exception bases kept only when they are lemmas of a kept synset of that part of
    /// speech.
    pub fn from_db(db: &WordNetDb) -> SynonymTable {
        let mut synsets = Vec::new();
        for s in &db.synsets {
            let mut lemmas: Vec<String> = Vec::new();
            for l in &s.lemmas {
                let l = l.to_lowercase();
                if is_single_word(&l) && !lemmas.contains(&l) {
                    lemmas.push(l);
                }
            }
            if lemmas.len() >= 2 {
                synsets.push((s.pos, lemmas));
            }
        }
        let mut table = SynonymTable {
            synsets,
            ..SynonymTable::default()
        };
        table.index_synsets();
        for e in &db.exceptions {
            let inflected = e.inflected.to_lowercase();
            if !is_single_word(&inflected) {
                continue;
            }
            let lemmas = &table.lemma_index[e.pos.index()];
            let mut bases: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for b in &e.bases {
                let b = b.to_lowercase();
                if lemmas.contains_key(&b) && b != inflected && seen.insert(b.clone()) {
                    bases.push(b);
                }
            }
            if !bases.is_empty() {
                table.exceptions.push((e.pos, inflected, bases));
            }
        }
        table.index_exceptions();
        table
    }

    fn index_synsets(&mut self) {
        for (i, (pos, lemmas)) in self.synsets.iter().enumerate() {
            for l in lemmas {
                self.lemma_index[pos.index()]
                    .entry(l.clone())
                    .or_default()
                    .push(i);
            }
        }
    }

    fn index_exceptions(&mut self) {
        for (pos, inflected, bases) in &self.exceptions {
            self.exception_index[pos.index()]
                .entry(inflected.clone())
                .or_default()
                .extend(bases.iter().cloned());
        }
    }

    /// Number of synsets kept.
    pub fn num_synsets(&self) -> usize {
        self.synsets.len()
    }

    /// Number of exception entries kept.
    pub fn num_exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// The lemmas `word` may be an inflection of, per part of speech: the word itself, its
    /// exception-list bases, and WordNet's suffix rules, each kept only if it is a lemma.
    pub fn base_forms(&self, word: &str) -> Vec<(Pos, String)> {
        let w = word.to_lowercase();
        let mut out: Vec<(Pos, String)> = Vec::new();
        let mut seen: HashSet<(Pos, String)> = HashSet::new();
        let mut push = |pos: Pos, cand: &str, out: &mut Vec<(Pos, String)>| {
            if self.lemma_index[pos.index()].contains_key(cand)
                && seen.insert((pos, cand.to_string()))
            {
                out.push((pos, cand.to_string()));
            }
        };
        for pos in Pos::ALL {
            push(pos, &w, &mut out);
            if let Some(bases) = self.exception_index[pos.index()].get(&w) {
                for b in bases {
                    push(pos, b, &mut out);
                }
            }
            for (suffix, ending) in suffix_rules(pos) {
                if let Some(stem) = w.strip_suffix(suffix)
                    && !stem.is_empty()
                {
                    push(pos, &format!("{stem}{ending}"), &mut out);
                }
            }
        }
        out
    }

    /// The synonyms of `word` (any case, possibly inflected), lower case, without the word and
    /// its base forms, in a fixed order (part of speech, then synset file order, then lemma
    /// order). Empty when WordNet has none.
    pub fn synonyms(&self, word: &str) -> Vec<&str> {
        let w = word.to_lowercase();
        let bases = self.base_forms(&w);
        if bases.is_empty() {
            return Vec::new();
        }
        let mut seen: HashSet<&str> = bases.iter().map(|(_, b)| b.as_str()).collect();
        seen.insert(&w);
        let mut out: Vec<&str> = Vec::new();
        for (pos, base) in &bases {
            for &i in &self.lemma_index[pos.index()][base] {
                for l in &self.synsets[i].1 {
                    if seen.insert(l.as_str()) {
                        out.push(l);
                    }
                }
            }
        }
        out
    }

    /// Whether [`SynonymTable::synonyms`] of `word` is non-empty.
    pub fn has_synonyms(&self, word: &str) -> bool {
        !self.synonyms(word).is_empty()
    }

    /// The compact text form: a header line, one `S <pos> <lemma> <lemma>...` line per synset
    /// and one `X <pos> <inflected> <base>...` line per exception, in table order.
    pub fn compact_text(&self) -> String {
        let mut out = String::with_capacity(2 << 20);
        out.push_str(HEADER);
        out.push('\n');
        for (pos, lemmas) in &self.synsets {
            out.push_str(&format!("S {} {}\n", pos.code(), lemmas.join(" ")));
        }
        for (pos, inflected, bases) in &self.exceptions {
            out.push_str(&format!(
                "X {} {inflected} {}\n",
                pos.code(),
                bases.join(" ")
            ));
        }
        out
    }

    /// Writes [`SynonymTable::compact_text`] gzip-compressed at the best level, with no file
    /// name and a zero modification time, so the same table always gives the same bytes.
    pub fn write_compact(&self, mut out: impl Write) -> std::io::Result<()> {
        let mut gz = GzBuilder::new()
            .mtime(0)
            .write(&mut out, Compression::best());
        gz.write_all(self.compact_text().as_bytes())?;
        gz.finish()?;
        Ok(())
    }

    /// Reads what [`SynonymTable::write_compact`] wrote, unpacking at most
    /// `MAX_TABLE_BYTES`; `name` labels errors.
    pub fn read_compact(gz_bytes: &[u8], name: &Path) -> Result<SynonymTable> {
        let io = |source| TextError::Io {
            path: name.to_path_buf(),
            source,
        };
        let mut text = String::new();
        GzDecoder::new(gz_bytes)
            .take(MAX_TABLE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_TABLE_BYTES {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unpacks to more than the limit of {MAX_TABLE_BYTES} bytes"),
            )));
        }
        SynonymTable::parse_compact(&text, name)
    }

    /// Parses the compact text form.
    pub fn parse_compact(text: &str, name: &Path) -> Result<SynonymTable> {
        let mut table = SynonymTable::default();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let bad = |message: &str| TextError::Parse {
                path: name.to_path_buf(),
                line: i + 1,
                message: format!("{message}, found {line:?}"),
            };
            let fields: Vec<&str> = line.split(' ').collect();
            let pos = fields
                .get(1)
                .and_then(|c| Pos::from_code(c))
                .ok_or_else(|| bad("expected a part of speech n, v, a or r second"))?;
            let words = || fields[2..].iter().map(|s| s.to_string());
            match fields[0] {
                "S" if fields.len() >= 4 => table.synsets.push((pos, words().collect())),
                "X" if fields.len() >= 4 => {
                    table
                        .exceptions
                        .push((pos, fields[2].to_string(), words().skip(1).collect()))
                }
                _ => {
                    return Err(bad(
                        "expected `S <pos> <lemma> <lemma>...` or `X <pos> <inflected> <base>...`",
                    ));
                }
            }
        }
        table.index_synsets();
        table.index_exceptions();
        Ok(table)
    }
}

#[cfg(test)]
mod tests;
