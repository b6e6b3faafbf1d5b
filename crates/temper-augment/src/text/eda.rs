//! EDA's four operations (Wei & Zou, "EDA: Easy Data Augmentation Techniques for Boosting
//! Performance on Text Classification Tasks", EMNLP 2019), following the reference code
//! `jasonwei20/eda_nlp/code/eda.py`:
//!
//! - **SR** replaces `n` distinct non-stop words (every occurrence of each) by a random synonym;
//! - **RI** inserts, `n` times, a random synonym of a random non-stop word at a random position;
//! - **RS** swaps two random words, `n` times;
//! - **RD** deletes each word with probability `p`, never all of them;
//!
//! with `n = max(1, floor(alpha * words))`. Unlike the reference, which lower-cases the line
//! and strips everything but letters first, the operations act on the word tokens of the
//! lossless [`tokenize`](super::tokenize) and leave punctuation and spacing in place; a
//! replacement copies the case pattern of the word it replaces ("Quick" → "Speedy"); inserted
//! words are lower case. RI picks among the words that have synonyms, so it inserts exactly
//! `n` words whenever one exists (the reference gives up after 10 random tries).
//!
//! **Bounds.** Every operation is `O(w log w)` or better in a line's `w` tokens, so one line of
//! a million words augments in well under a second per copy: no step rescans or shifts the
//! line once per change. The counts that size the output are bounded: `num_aug` is at most
//! [`MAX_NUM_AUG`], and [`augment_lines`] refuses a text whose copies would exceed
//! [`MAX_OUTPUT_BYTES`], before producing any of them.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::error::{Result, TextError};
use super::index::{LineIndex, Piece, concat, pieces, to_tokens};
use super::synonyms::SynonymTable;
use super::tokenize::{Token, TokenKind, tokenize};

/// The reference code's stop-word list (NLTK's English list of 2019 minus its contractions);
/// these words are never replaced and never used as an insertion's source.
pub const STOP_WORDS: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
];

/// Largest `num_aug`: 256, eight times the largest the EDA paper tries (32); every copy is
/// another full line of output.
pub const MAX_NUM_AUG: usize = 256;

/// Largest output [`augment_lines`] builds, estimated as the text's length times
/// `num_aug + 1`: 4 GiB, held in memory before it is written.
pub const MAX_OUTPUT_BYTES: usize = 4 << 30;

/// Whether `word` (any case) is in [`STOP_WORDS`].
pub fn is_stop_word(word: &str) -> bool {
    let w = word.to_lowercase();
    STOP_WORDS.contains(&w.as_str())
}

/// EDA's parameters. The defaults are the reference code's (`eda(sentence, alpha_sr=0.1,
/// alpha_ri=0.1, alpha_rs=0.1, p_rd=0.1, num_aug=9)`), which the paper recommends for most
/// training-set sizes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdaConfig {
    /// Synonym replacement changes `max(1, floor(alpha_sr * words))` distinct words; `0`
    /// disables it. In `[0, 1]`; default `0.1`.
    pub alpha_sr: f64,
    /// Random insertion adds `max(1, floor(alpha_ri * words))` words; `0` disables it. In
    /// `[0, 1]`; default `0.1`.
    pub alpha_ri: f64,
    /// Random swap makes `max(1, floor(alpha_rs * words))` swaps; `0` disables it. In `[0, 1]`;
    /// default `0.1`.
    pub alpha_rs: f64,
    /// Random deletion removes each word with this probability; `0` disables it. In `[0, 1]`;
    /// default `0.1`.
    pub p_rd: f64,
    /// Augmented sentences per input line. Each enabled operation makes
    /// `num_aug / enabled + 1` candidates; they are shuffled and the first `num_aug` kept, as in
    /// the reference. At most [`MAX_NUM_AUG`]; default `9`.
    pub num_aug: usize,
    /// Whether [`augment_lines`] also writes the original line after its augmentations (the
    /// reference appends it). Default `true`.
    pub keep_original: bool,
}

impl Default for EdaConfig {
    fn default() -> Self {
        Self {
            alpha_sr: 0.1,
            alpha_ri: 0.1,
            alpha_rs: 0.1,
            p_rd: 0.1,
            num_aug: 9,
            keep_original: true,
        }
    }
}

impl EdaConfig {
    /// Checks every field; the error names the first one out of range.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("alpha_sr", self.alpha_sr),
            ("alpha_ri", self.alpha_ri),
            ("alpha_rs", self.alpha_rs),
            ("p_rd", self.p_rd),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(TextError::Config {
                    field,
                    message: format!("must be in [0, 1], got {v}"),
                });
            }
        }
        if self.num_aug > MAX_NUM_AUG {
            return Err(TextError::Config {
                field: "num_aug",
                message: format!("= {} is more than the limit of {MAX_NUM_AUG}", self.num_aug),
            });
        }
        if self.num_aug > 0 && self.enabled().is_empty() {
            return Err(TextError::Config {
                field: "alpha_sr",
                message: "and alpha_ri, alpha_rs, p_rd are all 0: no operation left".into(),
            });
        }
        Ok(())
    }

    fn enabled(&self) -> Vec<Op> {
        [
            (Op::Sr, self.alpha_sr),
            (Op::Ri, self.alpha_ri),
            (Op::Rs, self.alpha_rs),
            (Op::Rd, self.p_rd),
        ]
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .map(|(op, _)| op)
        .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sr,
    Ri,
    Rs,
    Rd,
}

/// `max(1, floor(alpha * words))`, the reference's number of changes.
pub fn num_changes(alpha: f64, words: usize) -> usize {
    ((alpha * words as f64) as usize).max(1)
}

fn word_positions(tokens: &[Token]) -> Vec<usize> {
    (0..tokens.len()).filter(|&i| tokens[i].is_word()).collect()
}

/// Synonym replacement: up to `n` distinct non-stop words that have synonyms, in random
/// order, each replaced at every occurrence by one random synonym written in the case pattern
/// of that occurrence. Token count is unchanged. Linear in the tokens: each distinct word is
/// looked up, and its occurrences listed, once.
pub fn synonym_replacement<R: Rng + ?Sized>(
    tokens: &[Token],
    n: usize,
    table: &SynonymTable,
    rng: &mut R,
) -> Vec<Token> {
    to_tokens(LineIndex::new(tokens, table).replace(tokens, n, rng))
}

/// Random insertion, `n` times (at most once per word of `tokens`, EDA's largest `n`): a
/// random synonym of a random non-stop word of `tokens` that has synonyms, in lower case,
/// inserted before a random word or after the last one. Returns the tokens unchanged when no
/// word has a synonym. `O(w log w)` in the `w` words: the places are resolved at the end
/// rather than by shifting the tokens once per insertion, with the reference's result.
pub fn random_insertion<R: Rng + ?Sized>(
    tokens: &[Token],
    n: usize,
    table: &SynonymTable,
    rng: &mut R,
) -> Vec<Token> {
    to_tokens(LineIndex::new(tokens, table).insert(tokens, n, rng))
}

/// Random swap, `n` times: two distinct random words exchange places (texts move, spacing and
/// punctuation stay). Fewer than two words: unchanged.
pub fn random_swap<R: Rng + ?Sized>(tokens: &[Token], n: usize, rng: &mut R) -> Vec<Token> {
    to_tokens(swap_pieces(tokens, n, rng))
}

/// [`random_swap`] as pieces borrowing `tokens` (texts move, nothing is copied).
fn swap_pieces<'a, R: Rng + ?Sized>(tokens: &'a [Token], n: usize, rng: &mut R) -> Vec<Piece<'a>> {
    let mut out = pieces(tokens);
    let positions = word_positions(tokens);
    if positions.len() < 2 {
        return out;
    }
    for _ in 0..n {
        let a = rng.random_range(0..positions.len());
        let b = (a + rng.random_range(1..positions.len())) % positions.len();
        let (i, j) = (
            positions[a].min(positions[b]),
            positions[a].max(positions[b]),
        );
        let (left, right) = out.split_at_mut(j);
        std::mem::swap(&mut left[i].1, &mut right[0].1);
    }
    out
}

/// Random deletion: each word removed with probability `p` together with one adjacent
/// whitespace token (the one before it, else the one after). A one-word sentence is returned
/// unchanged; if every word would go, one random word is kept, as in the reference.
pub fn random_deletion<R: Rng + ?Sized>(tokens: &[Token], p: f64, rng: &mut R) -> Vec<Token> {
    to_tokens(delete_pieces(tokens, p, rng))
}

/// [`random_deletion`] as pieces borrowing `tokens`.
fn delete_pieces<'a, R: Rng + ?Sized>(tokens: &'a [Token], p: f64, rng: &mut R) -> Vec<Piece<'a>> {
    let positions = word_positions(tokens);
    if positions.len() <= 1 {
        return pieces(tokens);
    }
    let mut delete: Vec<bool> = positions.iter().map(|_| rng.random::<f64>() < p).collect();
    if delete.iter().all(|&d| d) {
        delete[rng.random_range(0..positions.len())] = false;
    }
    let mut removed = vec![false; tokens.len()];
    for (&t, _) in positions.iter().zip(&delete).filter(|(_, d)| **d) {
        removed[t] = true;
        let space = |i: usize| tokens[i].kind == TokenKind::Space;
        if t > 0 && space(t - 1) && !removed[t - 1] {
            removed[t - 1] = true;
        } else if t + 1 < tokens.len() && space(t + 1) && !removed[t + 1] {
            removed[t + 1] = true;
        }
    }
    pieces(tokens)
        .into_iter()
        .zip(&removed)
        .filter(|(_, r)| !**r)
        .map(|(t, _)| t)
        .collect()
}

/// The `cfg.num_aug` augmentations of one line (not the line itself); none when the line has
/// no word. `cfg.num_aug` counts at most [`MAX_NUM_AUG`] here whatever the config says
/// ([`augment_lines`] refuses a larger one).
pub fn augment_line<R: Rng + ?Sized>(
    line: &str,
    cfg: &EdaConfig,
    table: &SynonymTable,
    rng: &mut R,
) -> Vec<String> {
    let tokens = tokenize(line);
    let words = tokens.iter().filter(|t| t.is_word()).count();
    let ops = cfg.enabled();
    let num_aug = cfg.num_aug.min(MAX_NUM_AUG);
    if words == 0 || num_aug == 0 || ops.is_empty() {
        return Vec::new();
    }
    let per_op = num_aug / ops.len() + 1;
    let mut out = Vec::with_capacity(per_op * ops.len());
    // Looked up once per line, not once per candidate: the lookups dominate on long lines.
    let index = LineIndex::new(&tokens, table);
    for op in ops {
        for _ in 0..per_op {
            // Pieces borrow the line's tokens: a copy allocates its output string and little
            // else, which matters on a line of a million words.
            let t = match op {
                Op::Sr => index.replace(&tokens, num_changes(cfg.alpha_sr, words), rng),
                Op::Ri => index.insert(&tokens, num_changes(cfg.alpha_ri, words), rng),
                Op::Rs => swap_pieces(&tokens, num_changes(cfg.alpha_rs, words), rng),
                Op::Rd => delete_pieces(&tokens, cfg.p_rd, rng),
            };
            out.push(concat(&t));
        }
    }
    out.shuffle(rng);
    out.truncate(num_aug);
    out
}

/// Augments every line of `text`: for line `i`, its [`augment_line`] results, then the line
/// itself if `cfg.keep_original`, one sentence per output element. Line `i` draws from
/// ChaCha8 seeded with `seed` on stream `i`, so a line's output depends only on the seed, its
/// index and its content.
pub fn augment_lines(
    text: &str,
    cfg: &EdaConfig,
    table: &SynonymTable,
    seed: u64,
) -> Result<Vec<String>> {
    cfg.validate()?;
    let copies = cfg.num_aug + usize::from(cfg.keep_original);
    if text.len().saturating_mul(copies) > MAX_OUTPUT_BYTES {
        return Err(TextError::Config {
            field: "num_aug",
            message: format!(
                "= {}: {copies} copies of {} bytes of text is more than the {MAX_OUTPUT_BYTES}-byte \
                 output limit",
                cfg.num_aug,
                text.len()
            ),
        });
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(i as u64);
        out.extend(augment_line(line, cfg, table, &mut rng));
        if cfg.keep_original {
            out.push(line.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
