use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::text::tokenize::{CasePattern, join};

const LINE: &str = "The quick brown fox jumps over the lazy dog, and the car stops.";

fn table() -> SynonymTable {
    SynonymTable::bundled().unwrap()
}

fn words(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .filter(|t| t.is_word())
        .map(|t| t.text.clone())
        .collect()
}

fn multiset(ws: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for w in ws {
        *m.entry(w.clone()).or_default() += 1;
    }
    m
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn defaults_are_the_reference_codes() {
    // eda.py: def eda(sentence, alpha_sr=0.1, alpha_ri=0.1, alpha_rs=0.1, p_rd=0.1, num_aug=9)
    let c = EdaConfig::default();
    assert_eq!(
        (c.alpha_sr, c.alpha_ri, c.alpha_rs, c.p_rd),
        (0.1, 0.1, 0.1, 0.1)
    );
    assert_eq!(c.num_aug, 9);
    // n = max(1, int(alpha * num_words)).
    assert_eq!(num_changes(0.1, 5), 1);
    assert_eq!(num_changes(0.1, 25), 2);
    assert_eq!(num_changes(0.3, 10), 3);
    let parsed: EdaConfig = toml::from_str("alpha_sr = 0.2\nnum_aug = 4").unwrap();
    assert_eq!(
        (parsed.alpha_sr, parsed.alpha_ri, parsed.num_aug),
        (0.2, 0.1, 4)
    );
    assert!(toml::from_str::<EdaConfig>("alpha = 0.2").is_err());
    let bad = EdaConfig {
        p_rd: 1.5,
        ..EdaConfig::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "eda config: `p_rd` must be in [0, 1], got 1.5"
    );
}

#[test]
fn swap_keeps_the_multiset_of_words_and_the_layout() {
    let tokens = tokenize(LINE);
    for seed in 0..20 {
        let out = random_swap(&tokens, 3, &mut rng(seed));
        assert_eq!(multiset(&words(&out)), multiset(&words(&tokens)));
        // Punctuation and spacing stay where they were.
        let layout = |t: &[Token]| -> Vec<(TokenKind, String)> {
            t.iter()
                .map(|t| {
                    (
                        t.kind,
                        if t.is_word() {
                            String::new()
                        } else {
                            t.text.clone()
                        },
                    )
                })
                .collect()
        };
        assert_eq!(layout(&out), layout(&tokens));
    }
    // One swap of two distinct positions always changes a line of distinct words.
    let distinct = tokenize("alpha beta gamma delta");
    assert_ne!(
        join(&random_swap(&distinct, 1, &mut rng(1))),
        "alpha beta gamma delta"
    );
}

#[test]
fn deletion_only_removes_and_never_empties() {
    let tokens = tokenize(LINE);
    let original = words(&tokens);
    for seed in 0..50 {
        for p in [0.1, 0.5, 1.0] {
            let out = random_deletion(&tokens, p, &mut rng(seed));
            let kept = words(&out);
            assert!(!kept.is_empty());
            // `kept` is a subsequence of the original words.
            let mut it = original.iter();
            assert!(kept.iter().all(|w| it.any(|o| o == w)), "{kept:?}");
            if p == 1.0 {
                assert_eq!(kept.len(), 1);
            }
            // No doubled spaces are left behind.
            assert!(!join(&out).contains("  "), "{:?}", join(&out));
        }
    }
    // p = 0 removes nothing; a one-word line is never touched.
    assert_eq!(join(&random_deletion(&tokens, 0.0, &mut rng(0))), LINE);
    assert_eq!(
        join(&random_deletion(&tokenize("Hello!"), 1.0, &mut rng(0))),
        "Hello!"
    );
}

#[test]
fn insertion_adds_exactly_n_synonyms_of_words_present() {
    let t = table();
    let tokens = tokenize(LINE);
    let original = words(&tokens);
    for seed in 0..20 {
        let n = 3;
        let out = random_insertion(&tokens, n, &t, &mut rng(seed));
        let new = words(&out);
        assert_eq!(new.len(), original.len() + n);
        // Removing the inserted words gives the original back: the rest is untouched.
        let mut extra = multiset(&new);
        for w in &original {
            *extra.get_mut(w).unwrap() -= 1;
        }
        let inserted: Vec<&String> = extra
            .iter()
            .flat_map(|(w, &c)| std::iter::repeat_n(w, c))
            .collect();
        assert_eq!(inserted.len(), n);
        for w in inserted {
            assert!(
                original
                    .iter()
                    .any(|o| !is_stop_word(o) && t.synonyms(o).contains(&w.as_str())),
                "{w} is not a synonym of a word of the line"
            );
        }
    }
    // No word with a synonym: nothing inserted.
    let none = tokenize("the of and");
    assert_eq!(random_insertion(&none, 2, &t, &mut rng(0)), none);
}

#[test]
fn replacement_keeps_length_and_replaces_only_words_with_synonyms() {
    let t = table();
    let tokens = tokenize(LINE);
    for seed in 0..20 {
        let out = synonym_replacement(&tokens, 2, &t, &mut rng(seed));
        assert_eq!(out.len(), tokens.len());
        let mut changed = std::collections::BTreeSet::new();
        for (a, b) in tokens.iter().zip(&out) {
            assert_eq!(a.kind, b.kind);
            if a.text != b.text {
                assert!(!is_stop_word(&a.text));
                let lower = b.text.to_lowercase();
                assert!(
                    t.synonyms(&a.text).contains(&lower.as_str()),
                    "{a:?} -> {b:?}"
                );
                assert_eq!(CasePattern::of(&b.text), CasePattern::of(&a.text));
                changed.insert(a.text.to_lowercase());
            }
        }
        assert!(!changed.is_empty() && changed.len() <= 2, "{changed:?}");
    }
}

#[test]
fn replacement_keeps_capitalization() {
    let t = table();
    // "Quick" is the only non-stop word; its synonyms include "speedy" (synset 00979366-s).
    let out = join(&synonym_replacement(
        &tokenize("Quick!"),
        1,
        &t,
        &mut rng(3),
    ));
    let first = out.chars().next().unwrap();
    assert!(
        first.is_uppercase() && out.ends_with('!') && out != "Quick!",
        "{out}"
    );
    assert!(
        t.synonyms("quick")
            .contains(&out[..out.len() - 1].to_lowercase().as_str())
    );
    // Stop words are never replaced even with alpha = 1.
    assert_eq!(
        join(&synonym_replacement(
            &tokenize("The and"),
            5,
            &t,
            &mut rng(0)
        )),
        "The and"
    );
}

#[test]
fn augment_lines_is_deterministic_and_counts_lines() {
    let t = table();
    let text = "The quick brown fox jumps.\n\nA car is a fast machine.\n";
    let cfg = EdaConfig {
        num_aug: 4,
        ..EdaConfig::default()
    };
    let a = augment_lines(text, &cfg, &t, 7).unwrap();
    // 4 augmentations + the original for each of the two lines with words; the empty line is
    // copied once.
    assert_eq!(a.len(), 4 + 1 + 1 + 4 + 1);
    assert_eq!(a[4], "The quick brown fox jumps.");
    assert_eq!(a[5], "");
    assert_eq!(a[10], "A car is a fast machine.");
    assert_eq!(a, augment_lines(text, &cfg, &t, 7).unwrap());
    assert_ne!(a, augment_lines(text, &cfg, &t, 8).unwrap());
    // A line's output depends on its index and content only, not on the lines before it.
    let shifted = augment_lines("The quick brown fox jumps.\n", &cfg, &t, 7).unwrap();
    assert_eq!(shifted, a[..5]);
    let without = EdaConfig {
        keep_original: false,
        ..cfg
    };
    assert_eq!(augment_lines(text, &without, &t, 7).unwrap().len(), 8);
}

#[test]
fn a_small_table_works_without_wordnet() {
    let t = SynonymTable::parse_compact("S a quick speedy\n", Path::new("t")).unwrap();
    let out = synonym_replacement(&tokenize("so QUICK."), 1, &t, &mut rng(0));
    assert_eq!(join(&out), "so SPEEDY.");
    let out = random_insertion(&tokenize("quick"), 1, &t, &mut rng(0));
    assert!(["speedy quick", "quick speedy"].contains(&join(&out).as_str()));
}
