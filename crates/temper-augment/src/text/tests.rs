//! Hostile and careless text input: a line of a million words, counts that drive allocation,
//! oversized files and a gzip bomb as a synonym table. Each ends in the documented output or a
//! one-line error naming the file or field, without a panic; the size cases run in a child
//! process whose address space is capped at 512 MiB (`temper_data::memory_cap`).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::eda::{
    EdaConfig, MAX_NUM_AUG, augment_line, augment_lines, is_stop_word, random_insertion,
    synonym_replacement,
};
use super::synonyms::MAX_TABLE_BYTES;
use super::tokenize::{Token, TokenKind, join, tokenize};
use super::wordnet::{MAX_WORDNET_FILE_BYTES, Pos, WordNetDb, parse_data};
use super::*;

const CAP_MIB: u64 = 512;

fn words_of(s: &str) -> usize {
    tokenize(s).iter().filter(|t| t.is_word()).count()
}

/// A line of `n` words: every fourth a word with synonyms, the rest distinct words without
/// any (so the distinct-word count grows with the line, as in real text).
fn long_line(n: usize) -> String {
    let vocab = ["car", "quick", "happy", "house", "big", "walk"];
    let mut line = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            line.push(if i % 17 == 0 { ',' } else { ' ' });
            if i % 17 == 0 {
                line.push(' ');
            }
        }
        if i % 4 == 0 {
            line.push_str(vocab[(i / 4) % vocab.len()]);
        } else {
            line.push_str(&format!("zq{i}"));
        }
    }
    line
}

#[test]
fn a_line_of_a_million_words_augments_in_near_linear_time() {
    // The quadratic steps this guards against (a membership scan per word, a token shift per
    // insertion) take minutes at this size; the current code a second or two in release.
    let table = SynonymTable::bundled().unwrap();
    let n = 1_000_000;
    let line = long_line(n);
    assert_eq!(words_of(&line), n);
    let cfg = EdaConfig::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let started = std::time::Instant::now();
    let out = augment_line(&line, &cfg, &table, &mut rng);
    // Shown with --nocapture; the speed target itself belongs to a bench, not a test.
    eprintln!(
        "augment_line, {n} words, 12 candidates: {:?}",
        started.elapsed()
    );
    assert_eq!(out.len(), 9);
    // SR and RS keep the word count, RI adds floor(0.1 n), RD removes about 0.1 n. The line's
    // words and every synonym are single words between spaces and commas.
    let count = |s: &str| s.split([' ', ',']).filter(|w| !w.is_empty()).count();
    let counts: Vec<usize> = out.iter().map(|s| count(s)).collect();
    assert!(counts.contains(&n), "{counts:?}");
    for &c in &counts {
        let ok = c == n || c == n + n / 10 || (n * 85 / 100..n * 95 / 100).contains(&c);
        assert!(ok, "{c} words out of {n}");
    }
}

/// Random insertion as the reference writes it: one token shift per insertion.
fn insertion_one_at_a_time(
    tokens: &[Token],
    n: usize,
    table: &SynonymTable,
    rng: &mut ChaCha8Rng,
) -> Vec<Token> {
    let sources: Vec<Vec<&str>> = tokens
        .iter()
        .filter(|t| t.is_word() && !is_stop_word(&t.text))
        .map(|t| table.synonyms(&t.text))
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = tokens.to_vec();
    if sources.is_empty() {
        return out;
    }
    let space = || Token {
        kind: TokenKind::Space,
        text: " ".to_string(),
    };
    for _ in 0..n {
        let synonyms = &sources[rng.random_range(0..sources.len())];
        let word = Token::word(synonyms[rng.random_range(0..synonyms.len())]);
        let positions: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_word()).collect();
        let k = rng.random_range(0..=positions.len());
        if k < positions.len() {
            out.splice(positions[k]..positions[k], [word, space()]);
        } else {
            let after = positions[positions.len() - 1] + 1;
            out.splice(after..after, [space(), word]);
        }
    }
    out
}

#[test]
fn insertion_resolved_at_the_end_gives_the_tokens_of_inserting_one_at_a_time() {
    let table = SynonymTable::bundled().unwrap();
    for (seed, line) in [
        "A quick car!",
        "quick",
        "  The happy dog walks, and the big car waits.  ",
        "car car car car",
    ]
    .iter()
    .enumerate()
    {
        let tokens = tokenize(line);
        for n in [1, 2, 5, 9] {
            let mut a = ChaCha8Rng::seed_from_u64(seed as u64 * 100 + n as u64);
            let mut b = a.clone();
            let fast = random_insertion(&tokens, n, &table, &mut a);
            let n = n.min(words_of(line));
            let slow = insertion_one_at_a_time(&tokens, n, &table, &mut b);
            assert_eq!(join(&fast), join(&slow), "{line:?}, n = {n}");
            assert_eq!(fast, slow);
        }
    }
    // Replacement is unchanged by its occurrence index: every "car" gets the same synonym.
    let tokens = tokenize("car, Car and CAR");
    let out = join(&synonym_replacement(
        &tokens,
        1,
        &table,
        &mut ChaCha8Rng::seed_from_u64(0),
    ));
    let w: Vec<&str> = out.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    assert_eq!(w[0].to_uppercase(), w[3].to_uppercase(), "{out}");
    assert_ne!(w[0], "car", "{out}");
}

#[test]
fn a_huge_num_aug_is_refused_by_name_and_capped_per_line() {
    let table = SynonymTable::parse_compact("S a quick speedy\n", Path::new("t")).unwrap();
    let cfg = EdaConfig {
        num_aug: usize::MAX,
        ..EdaConfig::default()
    };
    let e = augment_lines("quick", &cfg, &table, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "eda config: `num_aug` = {} is more than the limit of {MAX_NUM_AUG}",
            usize::MAX
        )
    );
    // Called per line, past validation, the count is capped rather than overflowing.
    let out = augment_line("quick fox", &cfg, &table, &mut ChaCha8Rng::seed_from_u64(0));
    assert_eq!(out.len(), MAX_NUM_AUG);
    let ok = EdaConfig {
        num_aug: MAX_NUM_AUG,
        ..EdaConfig::default()
    };
    assert_eq!(
        augment_lines("quick", &ok, &table, 0).unwrap().len(),
        MAX_NUM_AUG + 1
    );
}

#[test]
fn oversized_text_and_wordnet_files_fail_fast_from_their_length() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "oversized_text_and_wordnet_files_fail_fast_from_their_length",
            CAP_MIB,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("corpus.txt");
    File::create(&text).unwrap().set_len(13 << 30).unwrap();
    let e = read_text(&text).unwrap_err().to_string();
    assert!(
        e.ends_with(&format!(
            "corpus.txt: {} bytes is more than the limit of {MAX_TEXT_BYTES}",
            13u64 << 30
        )),
        "{e}"
    );
    let noun = dir.path().join("data.noun");
    File::create(&noun).unwrap().set_len(13 << 30).unwrap();
    let e = WordNetDb::read_dir(dir.path()).unwrap_err().to_string();
    assert!(
        e.ends_with(&format!(
            "data.noun: {} bytes is more than the limit of {MAX_WORDNET_FILE_BYTES}",
            13u64 << 30
        )),
        "{e}"
    );
    // A text of many copies' worth refused up front, by the field that multiplies it.
    let cfg = EdaConfig {
        num_aug: MAX_NUM_AUG,
        ..EdaConfig::default()
    };
    let big = " ".repeat(32 << 20);
    let e = augment_lines(&big, &cfg, &SynonymTable::default(), 0).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("eda config: `num_aug` = 256: 257 copies"),
        "{e}"
    );
    // Not UTF-8: an error naming the file.
    std::fs::write(&text, [0xff, 0xfe, b'a']).unwrap();
    assert!(
        read_text(&text)
            .unwrap_err()
            .to_string()
            .contains("corpus.txt: ")
    );
}

#[test]
fn a_gzip_bomb_as_a_synonym_table_stops_at_the_limit_in_little_memory() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_gzip_bomb_as_a_synonym_table_stops_at_the_limit_in_little_memory",
            CAP_MIB,
        );
    }
    // 640 MiB of comment lines (valid table syntax) in well under 1 MiB of gzip. At the best
    // level: flate2's zlib-rs backend (which burn-store's zip reader turns on) stores this at
    // only about 1:150 at its fastest level.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = "#\n".repeat(1 << 19);
    for _ in 0..640 {
        gz.write_all(chunk.as_bytes()).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 4 << 20);
    let e = SynonymTable::read_compact(&bomb, Path::new("bomb.tsv.gz"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("bomb.tsv.gz: unpacks to more than the limit of {MAX_TABLE_BYTES} bytes")
    );
    // The shipped table loads within the bound.
    assert!(SynonymTable::bundled().unwrap().num_synsets() > 28_000);
}

#[test]
fn a_wordnet_line_announcing_more_words_than_two_hex_digits_is_refused() {
    for count in ["ffffffff", "100", "-1", ""] {
        let line = format!("00001 00 n {count} car 0\n");
        let e = parse_data(&line, Pos::Noun, Path::new("data.noun"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!("data.noun:1: word count {count:?} is not two hex digits")
        );
    }
    // A hostile table: one word in 20 000 synsets of distinct lemmas. Its synonyms come back
    // once each, in file order.
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!("S n hub w{i}\n"));
    }
    let t = SynonymTable::parse_compact(&text, Path::new("wide")).unwrap();
    let s = t.synonyms("hub");
    assert_eq!(s.len(), 20_000);
    assert_eq!((s[0], s[19_999]), ("w0", "w19999"));
}
