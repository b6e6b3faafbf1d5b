//! [`LineIndex`]: a line's distinct words and their synonyms, looked up once, behind EDA's
//! synonym replacement and random insertion.
//!
//! Both operations are linear in the line (random insertion `O(w log w)`): each distinct word
//! is looked up once and its occurrences listed once, so no step rescans the line per change,
//! and insertions are placed at the end ([`final_slots`]) instead of shifting the tokens once
//! per insertion. The random draws, and so the output for a seed, are the reference's.

use std::borrow::Cow;
use std::collections::HashMap;

use rand::Rng;
use rand::seq::SliceRandom;

use super::eda::is_stop_word;
use super::synonyms::SynonymTable;
use super::tokenize::{CasePattern, Token, TokenKind};

/// A token of an augmented line: its kind and its text, borrowed from the input line (or the
/// synonym table) unless the operation wrote a new one.
pub(crate) type Piece<'a> = (TokenKind, Cow<'a, str>);

/// The tokens as pieces borrowing their texts.
pub(crate) fn pieces(tokens: &[Token]) -> Vec<Piece<'_>> {
    tokens
        .iter()
        .map(|t| (t.kind, Cow::Borrowed(t.text.as_str())))
        .collect()
}

/// Owned tokens of the pieces.
pub(crate) fn to_tokens(pieces: Vec<Piece<'_>>) -> Vec<Token> {
    pieces
        .into_iter()
        .map(|(kind, text)| Token {
            kind,
            text: text.into_owned(),
        })
        .collect()
}

/// The pieces' texts joined, in one allocation.
pub(crate) fn concat(pieces: &[Piece<'_>]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.1.len()).sum());
    for p in pieces {
        out.push_str(&p.1);
    }
    out
}

/// The distinct non-stop words of a line, in first-occurrence order, with their synonyms and
/// occurrences.
pub(crate) struct LineIndex<'t> {
    /// Synonyms of each distinct word (empty when it has none).
    synonyms: Vec<Vec<&'t str>>,
    /// Token positions of each distinct word's occurrences.
    occurrences: Vec<Vec<usize>>,
    /// Per word occurrence with synonyms, in line order, its distinct word.
    sources: Vec<usize>,
    /// Number of word tokens, stop words included.
    words: usize,
}

impl<'t> LineIndex<'t> {
    /// Indexes `tokens`, looking each distinct lower-cased non-stop word up in `table` once.
    pub(crate) fn new(tokens: &[Token], table: &'t SynonymTable) -> LineIndex<'t> {
        // Keyed by the lower-case text, borrowed when the word is already lower case.
        let mut ids: HashMap<Cow<str>, Option<usize>> = HashMap::new();
        let mut index = LineIndex {
            synonyms: Vec::new(),
            occurrences: Vec::new(),
            sources: Vec::new(),
            words: 0,
        };
        for (i, t) in tokens.iter().enumerate().filter(|(_, t)| t.is_word()) {
            index.words += 1;
            let key: Cow<str> = if t.text.chars().any(char::is_uppercase) {
                Cow::Owned(t.text.to_lowercase())
            } else {
                Cow::Borrowed(&t.text)
            };
            let id = match ids.get(&key) {
                Some(id) => *id,
                None => {
                    let id = (!is_stop_word(&key)).then(|| {
                        index.synonyms.push(table.synonyms(&key));
                        index.occurrences.push(Vec::new());
                        index.synonyms.len() - 1
                    });
                    ids.insert(key, id);
                    id
                }
            };
            if let Some(id) = id {
                index.occurrences[id].push(i);
                if !index.synonyms[id].is_empty() {
                    index.sources.push(id);
                }
            }
        }
        index
    }

    /// Synonym replacement on `tokens` (the line indexed): distinct words in random order,
    /// each with synonyms replaced at every occurrence, until `n` are.
    pub(crate) fn replace<'a, R: Rng + ?Sized>(
        &self,
        tokens: &'a [Token],
        n: usize,
        rng: &mut R,
    ) -> Vec<Piece<'a>>
    where
        't: 'a,
    {
        let mut out = pieces(tokens);
        let mut candidates: Vec<usize> = (0..self.synonyms.len()).collect();
        candidates.shuffle(rng);
        let mut replaced = 0;
        for id in candidates {
            if replaced >= n {
                break;
            }
            let synonyms = &self.synonyms[id];
            if synonyms.is_empty() {
                continue;
            }
            let synonym = synonyms[rng.random_range(0..synonyms.len())];
            for &i in &self.occurrences[id] {
                out[i].1 = match CasePattern::of(&tokens[i].text) {
                    // Written as the table has it: borrowed, not copied.
                    CasePattern::Lower | CasePattern::Mixed => Cow::Borrowed(synonym),
                    pattern => Cow::Owned(pattern.apply(synonym)),
                };
            }
            replaced += 1;
        }
        out
    }

    /// Random insertion on `tokens` (the line indexed), `min(n, words)` times. Each insertion
    /// picks its place among the words present at that moment (the earlier insertions
    /// included), as the reference does; the places are resolved at the end with
    /// [`final_slots`] and the line built in one pass, giving the reference's tokens.
    pub(crate) fn insert<'a, R: Rng + ?Sized>(
        &self,
        tokens: &'a [Token],
        n: usize,
        rng: &mut R,
    ) -> Vec<Piece<'a>>
    where
        't: 'a,
    {
        if self.sources.is_empty() {
            return pieces(tokens);
        }
        let (words, n) = (self.words, n.min(self.words));
        let mut inserted: Vec<&str> = Vec::with_capacity(n);
        let mut ranks: Vec<usize> = Vec::with_capacity(n);
        for i in 0..n {
            let synonyms = &self.synonyms[self.sources[rng.random_range(0..self.sources.len())]];
            inserted.push(synonyms[rng.random_range(0..synonyms.len())]);
            ranks.push(rng.random_range(0..=words + i));
        }
        // `placed[s]`: the inserted word at final word slot `s`, `None` for an original word.
        let mut placed: Vec<Option<&str>> = vec![None; words + n];
        for (slot, word) in final_slots(words + n, &ranks).into_iter().zip(&inserted) {
            placed[slot] = Some(word);
        }
        render(tokens, &placed, words, n)
    }
}

/// The line with the inserted words of `placed` (see [`LineIndex::insert`]): words inserted
/// before an original word are each followed by a space, those after the last one each
/// preceded by one, as the reference's token shifts leave them.
fn render<'a>(
    tokens: &'a [Token],
    placed: &[Option<&'a str>],
    words: usize,
    n: usize,
) -> Vec<Piece<'a>> {
    let space = || (TokenKind::Space, Cow::Borrowed(" "));
    let word = |w: &'a str| (TokenKind::Word, Cow::Borrowed(w));
    let mut out = Vec::with_capacity(tokens.len() + 2 * n);
    let (mut slot, mut seen) = (0, 0);
    for t in tokens {
        let piece = (t.kind, Cow::Borrowed(t.text.as_str()));
        if !t.is_word() {
            out.push(piece);
            continue;
        }
        while let Some(Some(w)) = placed.get(slot) {
            out.extend([word(w), space()]);
            slot += 1;
        }
        slot += 1;
        seen += 1;
        out.push(piece);
        if seen == words {
            for w in placed[slot..].iter().flatten() {
                out.extend([space(), word(w)]);
            }
        }
    }
    out
}

/// Where sequential insertions end up: insertion `i` went in at rank `ranks[i]` among the
/// `total - ranks.len() + i` words then present (rank `r` = before the `r`-th word, or after
/// the last one); returns each insertion's slot among the `total` final words. Resolved
/// backwards: the last insertion's rank is its final slot, and each earlier one takes the
/// `rank`-th slot still free, found in `O(log total)` on a Fenwick tree of free slots.
fn final_slots(total: usize, ranks: &[usize]) -> Vec<usize> {
    // tree[i] (1-based) counts the free slots in (i - lowbit(i), i]; all start free.
    let mut tree: Vec<usize> = (0..=total).map(|i| i & i.wrapping_neg()).collect();
    tree[0] = 0;
    let top = if total == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - total.leading_zeros())
    };
    let mut slots = vec![0; ranks.len()];
    for (i, &rank) in ranks.iter().enumerate().rev() {
        // Descend to the largest prefix holding at most `rank` free slots.
        let (mut pos, mut left) = (0, rank);
        let mut step = top;
        while step > 0 {
            if pos + step <= total && tree[pos + step] <= left {
                pos += step;
                left -= tree[pos];
            }
            step >>= 1;
        }
        slots[i] = pos;
        let mut j = pos + 1;
        while j <= total {
            tree[j] -= 1;
            j += j & j.wrapping_neg();
        }
    }
    slots
}
