//! Naming runs by what differs in their configuration.
//!
//! Runs compared side by side (a sweep, a study's trials, the runs a user lists) are best told
//! apart by the settings that differ between them, not by their directory names: a row
//! labelled `optim.lr=0.01, train.batch_size=64` says what the row is.
//!
//! The rule, after Hydra's `override_dirname` (`get_overrides_dirname` in
//! `hydra/_internal/config_loader_impl.py`: the overrides, less `exclude_keys`, sorted and
//! joined as `key=value` by `,`; defaults `kv_sep: "="`, `item_sep: ","`, `exclude_keys: []`,
//! and Hydra's documented example excludes `seed`):
//!
//! - every configuration is flattened to its leaves: dotted paths into nested tables, an array
//!   is one leaf compared whole, an empty table is a leaf (so `[augment]` against no
//!   `[augment]` shows);
//! - a leaf differs when it is missing from some configuration or not equal in all of them
//!   (floats compare by value, with NaN equal to NaN so that a NaN everywhere is no difference);
//! - a label is `key=value` for each differing key, in sorted order, joined by `, `. Values are
//!   printed as TOML writes them, except strings made only of letters, digits and `_-.:/+`,
//!   which are printed without quotes; a key a configuration lacks is `key=(unset)`.
//!
//! Two kinds of keys would make poor names, so the labels leave them out:
//!
//! - output locations ([`OUTPUT_KEYS`]: `out`, `output`, `run_dir`, ...), which differ between
//!   any two runs by construction and say nothing about the experiment;
//! - seeds ([`SEED_KEY`]), which differ in every repeat of a sweep: a seed is named only when
//!   the other differing keys do not already tell the runs apart (repeats of one setting, or a
//!   seed sweep alone).
//!
//! When nothing differs, a run is labelled with its name; when two labels are still equal (or
//! were cut to the same first keys), each of them gets ` (name)` appended. A label is cut at
//! [`MAX_LABEL_CHARS`]: the first keys that fit, then `…`.

use std::collections::{BTreeMap, BTreeSet};

use toml::Value;

/// Leaf names (the last segment of a dotted path) that hold where a run was written.
pub const OUTPUT_KEYS: [&str; 6] = ["out", "output", "out_dir", "output_dir", "run_dir", "dir"];

/// The leaf name of a random seed, named only when nothing else tells the runs apart.
pub const SEED_KEY: &str = "seed";

/// Longest label before it is cut (then `…` follows), in characters: a table column's width.
pub const MAX_LABEL_CHARS: usize = 60;

/// The dotted paths of the leaves that are not equal in all of `configs` (a key missing from
/// some of them counts as differing), sorted. Fewer than two configurations: none.
pub fn differing_keys(configs: &[toml::Table]) -> Vec<String> {
    let flat: Vec<BTreeMap<String, &Value>> = configs.iter().map(flatten).collect();
    differing(&flat)
}

/// One label per run, from the keys that differ between `configs` (see the module docs);
/// `names[i]` names the run whose configuration is `configs[i]`.
///
/// # Panics
/// When `names` and `configs` have different lengths (a caller's bug).
pub fn run_labels(names: &[String], configs: &[toml::Table]) -> Vec<String> {
    assert_eq!(
        names.len(),
        configs.len(),
        "run_labels: one name per configuration"
    );
    let flat: Vec<BTreeMap<String, &Value>> = configs.iter().map(flatten).collect();
    let keys: Vec<String> = differing(&flat)
        .into_iter()
        .filter(|k| !OUTPUT_KEYS.contains(&last_segment(k)))
        .collect();
    let without_seed: Vec<String> = keys
        .iter()
        .filter(|k| last_segment(k) != SEED_KEY)
        .cloned()
        .collect();
    if keys.is_empty() {
        return names.to_vec();
    }
    let items = |keys: &[String]| -> Vec<Vec<String>> {
        flat.iter()
            .map(|config| label_items(keys, config))
            .collect()
    };
    let mut chosen = items(&without_seed);
    if without_seed.is_empty() || !all_distinct(&chosen) {
        chosen = items(&keys);
    }
    let mut labels: Vec<String> = chosen.iter().map(|items| cap(items)).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for label in &labels {
        *counts.entry(label.as_str()).or_default() += 1;
    }
    let repeated: BTreeSet<String> = counts
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(l, _)| l.to_string())
        .collect();
    for (label, name) in labels.iter_mut().zip(names) {
        if repeated.contains(label.as_str()) {
            label.push_str(&format!(" ({name})"));
        }
    }
    labels
}

/// `table`'s leaves by dotted path.
fn flatten(table: &toml::Table) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    flatten_into(table, "", &mut out);
    out
}

fn flatten_into<'a>(table: &'a toml::Table, prefix: &str, out: &mut BTreeMap<String, &'a Value>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key_segment(key)
        } else {
            format!("{prefix}.{}", key_segment(key))
        };
        match value {
            Value::Table(inner) if !inner.is_empty() => flatten_into(inner, &path, out),
            _ => {
                out.insert(path, value);
            }
        }
    }
}

/// A key as TOML writes it in a dotted path: bare when it can be, else quoted, so a key that
/// holds a `.` cannot be mistaken for two segments.
fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

/// The last segment of a dotted path built by [`flatten`] (a quoted last key keeps quotes, so
/// it never matches a bare name).
fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn differing(flat: &[BTreeMap<String, &Value>]) -> Vec<String> {
    if flat.len() < 2 {
        return Vec::new();
    }
    let all: BTreeSet<&String> = flat.iter().flat_map(|m| m.keys()).collect();
    all.into_iter()
        .filter(|key| {
            let first = flat[0].get(*key);
            flat[1..].iter().any(|m| match (first, m.get(*key)) {
                (Some(a), Some(b)) => !same(a, b),
                _ => true,
            })
        })
        .cloned()
        .collect()
}

/// TOML equality with NaN equal to NaN (a NaN in every run is not a difference).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Table(x), Value::Table(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// The `key=value` items of one run's label.
fn label_items(keys: &[String], config: &BTreeMap<String, &Value>) -> Vec<String> {
    keys.iter()
        .map(|key| match config.get(key) {
            Some(value) => format!("{key}={}", show(value)),
            None => format!("{key}=(unset)"),
        })
        .collect()
}

/// A value as TOML writes it inline; a plain string without its quotes.
fn show(value: &Value) -> String {
    match value {
        Value::String(s)
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:/+".contains(c)) =>
        {
            s.clone()
        }
        _ => value.to_string(),
    }
}

fn all_distinct(labels: &[Vec<String>]) -> bool {
    labels.iter().collect::<BTreeSet<_>>().len() == labels.len()
}

/// `items` joined by `, `, cut to [`MAX_LABEL_CHARS`]: whole items while they fit, then `…`;
/// a first item longer than the cap alone is cut inside.
fn cap(items: &[String]) -> String {
    let label = items.join(", ");
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label;
    }
    let mut out = String::new();
    for item in items {
        let sep = if out.is_empty() { 0 } else { 2 };
        // Room is kept for the `, …` that follows.
        if out.chars().count() + sep + item.chars().count() + 3 > MAX_LABEL_CHARS {
            break;
        }
        if sep > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    if out.is_empty() {
        out = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        out.push('…');
    } else {
        out.push_str(", …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().expect("test TOML parses")
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("run-{i}")).collect()
    }

    #[test]
    fn configs_differing_only_in_the_learning_rate_are_named_by_it() {
        let a = table("[optim]\nkind = \"adam\"\nlr = 0.001\n[train]\nseed = 42\n");
        let b = table("[optim]\nkind = \"adam\"\nlr = 0.01\n[train]\nseed = 42\n");
        let configs = [a, b];
        assert_eq!(differing_keys(&configs), ["optim.lr"]);
        assert_eq!(
            run_labels(&names(2), &configs),
            ["optim.lr=0.001", "optim.lr=0.01"]
        );
    }

    #[test]
    fn nested_tables_give_dotted_paths_and_arrays_compare_whole() {
        let a = table("[model.dropout]\np = 0.25\n[optim]\nbetas = [0.9, 0.999]\n");
        let b = table("[model.dropout]\np = 0.5\n[optim]\nbetas = [0.9, 0.99]\n");
        let configs = [a, b];
        assert_eq!(differing_keys(&configs), ["model.dropout.p", "optim.betas"]);
        assert_eq!(
            run_labels(&names(2), &configs),
            [
                "model.dropout.p=0.25, optim.betas=[0.9, 0.999]",
                "model.dropout.p=0.5, optim.betas=[0.9, 0.99]"
            ]
        );
    }

    #[test]
    fn a_key_missing_from_one_config_differs_and_reads_unset() {
        let a = table("[train]\nepochs = 4\n[early_stopping]\npatience = 3\n");
        let b = table("[train]\nepochs = 4\n");
        let configs = [a, b];
        assert_eq!(differing_keys(&configs), ["early_stopping.patience"]);
        assert_eq!(
            run_labels(&names(2), &configs),
            [
                "early_stopping.patience=3",
                "early_stopping.patience=(unset)"
            ]
        );
    }

    #[test]
    fn an_empty_table_against_no_table_is_a_difference() {
        let configs = [table("[augment]\n"), table("")];
        assert_eq!(differing_keys(&configs), ["augment"]);
    }

    #[test]
    fn a_seed_is_left_out_when_the_other_keys_tell_runs_apart() {
        let configs = [
            table("[optim]\nlr = 0.1\n[train]\nseed = 1\n"),
            table("[optim]\nlr = 0.2\n[train]\nseed = 2\n"),
        ];
        assert_eq!(differing_keys(&configs), ["optim.lr", "train.seed"]);
        assert_eq!(
            run_labels(&names(2), &configs),
            ["optim.lr=0.1", "optim.lr=0.2"]
        );
    }

    #[test]
    fn a_seed_is_named_for_repeats_and_when_it_is_the_only_difference() {
        let repeats = [
            table("[optim]\nlr = 0.1\n[train]\nseed = 1\n"),
            table("[optim]\nlr = 0.1\n[train]\nseed = 2\n"),
            table("[optim]\nlr = 0.2\n[train]\nseed = 1\n"),
        ];
        assert_eq!(
            run_labels(&names(3), &repeats),
            [
                "optim.lr=0.1, train.seed=1",
                "optim.lr=0.1, train.seed=2",
                "optim.lr=0.2, train.seed=1"
            ]
        );
        let seeds = [table("[train]\nseed = 1\n"), table("[train]\nseed = 2\n")];
        assert_eq!(
            run_labels(&names(2), &seeds),
            ["train.seed=1", "train.seed=2"]
        );
    }

    #[test]
    fn output_locations_never_name_a_run() {
        let configs = [
            table("out = \"a\"\n[train]\nrun_dir = \"runs/a\"\n"),
            table("out = \"b\"\n[train]\nrun_dir = \"runs/b\"\n"),
        ];
        assert_eq!(differing_keys(&configs), ["out", "train.run_dir"]);
        assert_eq!(run_labels(&names(2), &configs), names(2));
    }

    #[test]
    fn identical_configs_are_named_by_their_runs() {
        let configs = [table("[optim]\nlr = 0.1\n"), table("[optim]\nlr = 0.1\n")];
        assert!(differing_keys(&configs).is_empty());
        assert_eq!(run_labels(&names(2), &configs), names(2));
        assert!(differing_keys(&configs[..1]).is_empty());
    }

    #[test]
    fn equal_labels_get_the_run_name_appended() {
        let configs = [
            table("[optim]\nlr = 0.1\n"),
            table("[optim]\nlr = 0.1\n"),
            table("[optim]\nlr = 0.2\n"),
        ];
        assert_eq!(
            run_labels(&names(3), &configs),
            [
                "optim.lr=0.1 (run-0)",
                "optim.lr=0.1 (run-1)",
                "optim.lr=0.2"
            ]
        );
    }

    #[test]
    fn long_labels_keep_the_first_keys_that_fit_then_an_ellipsis() {
        // Items of 23 characters ("s0.long_key_name_0=1000"): two and ", …" make 51, a
        // third would make 76.
        let a: String = (0..6)
            .map(|i| format!("[s{i}]\nlong_key_name_{i} = 1000\n"))
            .collect();
        let b: String = (0..6)
            .map(|i| format!("[s{i}]\nlong_key_name_{i} = 2000\n"))
            .collect();
        let labels = run_labels(&names(2), &[table(&a), table(&b)]);
        assert_eq!(
            labels[0],
            "s0.long_key_name_0=1000, s1.long_key_name_1=1000, …"
        );
        assert!(labels.iter().all(|l| l.chars().count() <= MAX_LABEL_CHARS));
        let one = |v: &str| table(&format!("name = \"{v}\"\n"));
        let long = "x".repeat(100);
        let cut = run_labels(&names(2), &[one(&long), one("y")]);
        assert_eq!(cut[0].chars().count(), MAX_LABEL_CHARS);
        assert!(cut[0].ends_with('…'));
    }

    #[test]
    fn plain_strings_lose_their_quotes_and_others_keep_toml_quoting() {
        let configs = [
            table("[optim]\nkind = \"adam\"\n[data]\nroot = \"my data\"\n"),
            table("[optim]\nkind = \"sgd\"\n[data]\nroot = \"data/mnist\"\n"),
        ];
        assert_eq!(
            run_labels(&names(2), &configs),
            [
                "data.root=\"my data\", optim.kind=adam",
                "data.root=data/mnist, optim.kind=sgd"
            ]
        );
    }

    #[test]
    fn nan_everywhere_is_no_difference_but_an_integer_is_not_a_float() {
        let nan = [table("x = nan\n"), table("x = nan\n")];
        assert!(differing_keys(&nan).is_empty());
        let kinds = [table("x = 1\n"), table("x = 1.0\n")];
        assert_eq!(differing_keys(&kinds), ["x"]);
        assert_eq!(run_labels(&names(2), &kinds), ["x=1", "x=1.0"]);
    }

    #[test]
    fn a_key_holding_a_dot_is_quoted_in_the_path() {
        let configs = [
            table("[classes]\n\"a.b\" = 1\n"),
            table("[classes]\n\"a.b\" = 2\n"),
        ];
        assert_eq!(differing_keys(&configs), ["classes.\"a.b\""]);
    }
}
