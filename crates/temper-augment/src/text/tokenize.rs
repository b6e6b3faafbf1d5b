//! A lossless tokenizer: text splits into words, punctuation and whitespace, and joining the
//! tokens gives back the exact input (`join(&tokenize(s)) == s` for every string).
//!
//! A *word* is a maximal run of alphanumeric characters, where a single apostrophe (`'` or
//! `’`) or hyphen between two alphanumerics stays inside the word ("don't", "well-known").
//! Every other non-space character is a punctuation token of its own; a run of whitespace is
//! one whitespace token. Case is kept as written.

/// What a [`Token`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters and digits, possibly joined by inner apostrophes or hyphens.
    Word,
    /// One character that is neither alphanumeric nor whitespace.
    Punct,
    /// A run of whitespace characters.
    Space,
}

/// A piece of text and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Word, punctuation or whitespace.
    pub kind: TokenKind,
    /// The characters, exactly as in the input.
    pub text: String,
}

impl Token {
    /// A word token holding `text`.
    pub fn word(text: impl Into<String>) -> Self {
        Self {
            kind: TokenKind::Word,
            text: text.into(),
        }
    }

    /// Whether this token is a word.
    pub fn is_word(&self) -> bool {
        self.kind == TokenKind::Word
    }
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | '-')
}

/// Splits `text` into tokens; [`join`] of the result is `text` again.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let kind = if c.is_alphanumeric() {
            i += 1;
            loop {
                if i < chars.len() && chars[i].is_alphanumeric() {
                    i += 1;
                } else if i + 1 < chars.len()
                    && is_joiner(chars[i])
                    && chars[i + 1].is_alphanumeric()
                {
                    i += 2;
                } else {
                    break;
                }
            }
            TokenKind::Word
        } else if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            TokenKind::Space
        } else {
            i += 1;
            TokenKind::Punct
        };
        tokens.push(Token {
            kind,
            text: chars[start..i].iter().collect(),
        });
    }
    tokens
}

/// Concatenates the tokens' texts.
pub fn join(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.text.as_str()).collect()
}

/// Whether `s` is exactly one word token (used to keep single-token WordNet lemmas).
pub fn is_single_word(s: &str) -> bool {
    let tokens = tokenize(s);
    tokens.len() == 1 && tokens[0].is_word()
}

/// The case pattern of a word, so a replacement can be written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasePattern {
    /// Every cased letter is lower case (or the word has no cased letter).
    Lower,
    /// First letter upper case, some later letter lower case ("Quick").
    Capitalized,
    /// Two or more letters, all upper case ("NASA").
    Upper,
    /// Anything else ("iPhone", "McDonald"); a replacement is written in lower case.
    Mixed,
}

impl CasePattern {
    /// The pattern of `word`.
    pub fn of(word: &str) -> Self {
        // One pass, no allocation: this runs once per replaced word of a line.
        let (mut letters, mut upper, mut lower) = (0usize, 0usize, 0usize);
        let mut first_upper = false;
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            if letters == 0 {
                first_upper = c.is_uppercase();
            }
            letters += 1;
            upper += usize::from(c.is_uppercase());
            lower += usize::from(c.is_lowercase());
        }
        if upper == 0 {
            CasePattern::Lower
        } else if lower == 0 && letters >= 2 {
            CasePattern::Upper
        } else if first_upper && upper == 1 {
            CasePattern::Capitalized
        } else if lower == 0 {
            // A single upper-case letter ("I", "A").
            CasePattern::Capitalized
        } else {
            CasePattern::Mixed
        }
    }

    /// Writes the lower-case `word` in this pattern.
    pub fn apply(self, word: &str) -> String {
        match self {
            CasePattern::Lower | CasePattern::Mixed => word.to_string(),
            CasePattern::Upper => word.to_uppercase(),
            CasePattern::Capitalized => {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, String)> {
        tokenize(text)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn tokenize_then_join_is_the_identity() {
        for s in [
            "",
            "  leading and trailing  ",
            "The quick brown fox, isn't it?  Well-known -- e.g. \"quotes\"\t(tabs)\n",
            "Ünïcödé wörds: naïve café’s 3.14 -5 x-",
            "'quoted' end-",
        ] {
            assert_eq!(join(&tokenize(s)), s, "{s:?}");
        }
    }

    #[test]
    fn words_keep_inner_apostrophes_and_hyphens_only() {
        use TokenKind::*;
        let expected = vec![
            (Punct, "'".to_string()),
            (Word, "Don't".to_string()),
            (Space, "  ".to_string()),
            (Word, "well-known".to_string()),
            (Punct, "-".to_string()),
            (Punct, "!".to_string()),
        ];
        assert_eq!(kinds("'Don't  well-known-!"), expected);
        assert!(is_single_word("automobile"));
        assert!(is_single_word("o'clock"));
        assert!(!is_single_word("motor_vehicle"));
        assert!(!is_single_word("a.m."));
    }

    #[test]
    fn case_pattern_round_trips() {
        assert_eq!(CasePattern::of("Quick"), CasePattern::Capitalized);
        assert_eq!(CasePattern::of("NASA"), CasePattern::Upper);
        assert_eq!(CasePattern::of("quick"), CasePattern::Lower);
        assert_eq!(CasePattern::of("iPhone"), CasePattern::Mixed);
        assert_eq!(CasePattern::of("I"), CasePattern::Capitalized);
        assert_eq!(CasePattern::Capitalized.apply("speedy"), "Speedy");
        assert_eq!(CasePattern::Upper.apply("speedy"), "SPEEDY");
        assert_eq!(CasePattern::Lower.apply("speedy"), "speedy");
    }
}
