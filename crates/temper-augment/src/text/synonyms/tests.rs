use std::path::PathBuf;

use super::*;
use crate::text::wordnet::{Exception, Synset};

/// The shared WordNet 3.0 copy, at `../shared/data/wordnet-3.0` next to the clone.
fn shared_wordnet() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wordnet-3.0");
    dir.join("data.noun").exists().then_some(dir)
}

fn bundled() -> SynonymTable {
    SynonymTable::bundled().unwrap()
}

#[test]
fn bundled_table_has_known_wordnet_synonyms() {
    let t = bundled();
    // WordNet 3.0 synset 00979366-s {speedy, quick} and 02958343-n {car, auto, automobile,
    // machine, motorcar} (the multi-word "motor_car" and "railway_car" are left out).
    assert!(t.synonyms("quick").contains(&"speedy"));
    assert!(t.synonyms("car").contains(&"automobile"));
    assert!(t.synonyms("Car").contains(&"motorcar"));
    assert!(!t.synonyms("car").contains(&"car"));
    assert!(t.synonyms("car").iter().all(|s| !s.contains('_')));
    assert!(t.synonyms("the").is_empty() || !t.synonyms("the").contains(&"the"));
    assert!(t.synonyms("xyzzyplugh").is_empty());
}

#[test]
fn exception_lists_and_suffix_rules_find_lemmas() {
    let t = bundled();
    // verb.exc: "ran run"; noun.exc: "geese goose"; adj.exc: "better good well".
    assert!(
        t.base_forms("ran")
            .contains(&(Pos::Verb, "run".to_string()))
    );
    assert!(
        t.base_forms("geese")
            .contains(&(Pos::Noun, "goose".to_string()))
    );
    assert!(
        t.base_forms("better")
            .contains(&(Pos::Adj, "good".to_string()))
    );
    // "ran" gets the synonyms of the verb "run" ({operate, run} 02443849-v) but not those of
    // the noun ({footrace, foot_race, run} 07460104-n), since only verb.exc maps it.
    let ran = t.synonyms("ran");
    let run = t.synonyms("run");
    assert!(ran.contains(&"operate") && !ran.contains(&"run"));
    assert!(!ran.contains(&"footrace") && run.contains(&"footrace"));
    assert!(ran.iter().all(|s| run.contains(s)));
    // {fathead, goof, goofball, bozo, jackass, goose, cuckoo, twat, zany} 10157744-n.
    assert!(t.synonyms("geese").contains(&"fathead"));
    // Suffix rule "s" -> "" for nouns.
    assert!(t.synonyms("cars").contains(&"automobile"));
}

#[test]
fn filtering_keeps_single_token_lemmas_of_shared_synsets() {
    let db = WordNetDb {
        synsets: vec![
            Synset {
                pos: Pos::Noun,
                lemmas: vec!["car".into(), "Auto".into(), "motor_car".into()],
            },
            // One single-token lemma left: no synonym, dropped.
            Synset {
                pos: Pos::Noun,
                lemmas: vec!["lonely".into(), "lonely_one".into()],
            },
            Synset {
                pos: Pos::Adj,
                lemmas: vec!["quick".into(), "speedy".into(), "quick".into()],
            },
        ],
        exceptions: vec![
            Exception {
                pos: Pos::Adj,
                inflected: "quicker".into(),
                bases: vec!["quick".into(), "unknown".into()],
            },
            Exception {
                pos: Pos::Noun,
                inflected: "cars".into(),
                bases: vec!["notalemma".into()],
            },
        ],
    };
    let t = SynonymTable::from_db(&db);
    assert_eq!(t.num_synsets(), 2);
    assert_eq!(t.num_exceptions(), 1);
    assert_eq!(
        t.compact_text().lines().skip(1).collect::<Vec<_>>(),
        ["S n car auto", "S a quick speedy", "X a quicker quick"]
    );
    assert_eq!(t.synonyms("AUTO"), ["car"]);
    assert_eq!(t.synonyms("quicker"), ["speedy"]);
    assert!(t.synonyms("lonely").is_empty());
    let back = SynonymTable::parse_compact(&t.compact_text(), Path::new("t")).unwrap();
    assert_eq!(back.compact_text(), t.compact_text());
}

#[test]
fn compact_parse_errors_name_the_line() {
    let err = SynonymTable::parse_compact("# h\nS q a b\n", Path::new("t.tsv"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "t.tsv:2: expected a part of speech n, v, a or r second, found \"S q a b\""
    );
    let err = SynonymTable::read_compact(b"not gzip", Path::new("t.gz"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("t.gz: "), "{err}");
}

#[test]
fn shipped_asset_is_rebuilt_byte_for_byte() {
    let Some(dir) = shared_wordnet() else {
        eprintln!("skipped: ../shared/data/wordnet-3.0 not found next to the clone");
        return;
    };
    let table = SynonymTable::from_wordnet_dir(&dir).unwrap();
    let mut bytes = Vec::new();
    table.write_compact(&mut bytes).unwrap();
    assert!(
        bytes == BUNDLED,
        "crates/temper-augment/assets/text/wordnet-synonyms.tsv.gz is stale; rebuild it with \
         the command in crates/temper-augment/assets/text/README.md"
    );
    // Reading the directory directly and reading the compact table agree.
    assert_eq!(bundled().compact_text(), table.compact_text());
}
