//! Tests of [`super`]: parsing the `[tune.space]` table, the errors of invalid entries, unit
//! scaling, conditions and patching an experiment table.

use super::*;
use crate::value::ParamValue as V;

const BRIEF: &str = r#"
"optim.lr" = { log_uniform = [1e-4, 1e-1] }
"model.dropout.p" = { uniform = [0.0, 0.5] }
"train.batch_size" = { int = [32, 256], step = 32 }
"optim.kind" = { choice = ["adam", "sgd"] }
"optim.momentum" = { uniform = [0.0, 0.99], when = { "optim.kind" = ["sgd"] } }
"#;

#[test]
fn parses_the_documented_table_parents_first() {
    let s = Space::from_toml_str(BRIEF).unwrap();
    let names: Vec<&str> = s.params().iter().map(|p| p.name.as_str()).collect();
    // Kahn's order: the four unconditional keys by name, then the child of optim.kind.
    assert_eq!(
        names,
        [
            "model.dropout.p",
            "optim.kind",
            "optim.lr",
            "train.batch_size",
            "optim.momentum"
        ]
    );
    assert_eq!(
        s.get("optim.lr").unwrap().distribution,
        Distribution::Float {
            low: 1e-4,
            high: 1e-1,
            log: true
        }
    );
    assert_eq!(
        s.get("train.batch_size").unwrap().distribution,
        Distribution::Int {
            low: 32,
            high: 256,
            step: 32,
            log: false
        }
    );
    assert_eq!(
        s.get("optim.momentum").unwrap().when["optim.kind"],
        vec![V::Str("sgd".into())]
    );
    // Serde round trip through TOML text.
    let text = toml::to_string(&s).unwrap();
    assert_eq!(toml::from_str::<Space>(&text).unwrap(), s);
}

fn err(text: &str) -> String {
    Space::from_toml_str(text).unwrap_err().to_string()
}

#[test]
fn invalid_entries_name_the_parameter() {
    assert_eq!(
        err(r#"a = { uniform = [1.0, 0.0] }"#),
        "a: need low < high, got [1, 0]"
    );
    assert_eq!(
        err(r#"a = { log_uniform = [0.0, 1.0] }"#),
        "a: log scale needs low > 0, got 0"
    );
    assert_eq!(
        err(r#"a = { int = [0, 10], log = true }"#),
        "a: log scale needs low >= 1, got 0"
    );
    assert_eq!(
        err(r#"a = { int = [0, 10], step = 3 }"#),
        "a: high - low = 10 is not a multiple of step 3"
    );
    assert_eq!(err(r#"a = { choice = [] }"#), "a: `choice` is empty");
    assert_eq!(
        err(r#"a = { choice = ["x", "x"] }"#),
        "a: choice x is listed twice"
    );
    assert_eq!(
        err(r#"a = { uniform = [0.0, 1.0], when = { b = ["x"] } }"#),
        "a: `when` names unknown parameter \"b\""
    );
    assert_eq!(
        err(r#"a = { choice = ["x"], when = { b = ["y"] } }
               b = { choice = ["y"], when = { a = ["x"] } }"#),
        "a: `when` conditions form a cycle"
    );
    assert_eq!(
        err(r#"a = { uniform = [0.0, 1.0], when = { b = ["z"] } }
               b = { choice = ["y"] }"#),
        "a: `when.b` value z is not one of its choices"
    );
    assert_eq!(
        err(r#"a = { uniform = [0.0, 1.0], choice = [1] }"#),
        "a: give exactly one of `uniform`, `log_uniform`, `int`, `choice`"
    );
    assert!(
        err(r#"a = { uniform = [0.0, 1.0], lgo = true }"#).starts_with("a: unknown field `lgo`")
    );
    assert_eq!(
        err(r#"a = { uniform = [0.0, 1.0], grid = [2.0] }"#),
        "a: grid value 2 is outside the range"
    );
}

#[test]
fn unit_scale_gives_each_integer_an_equal_cell() {
    let s = Space::from_toml_str(BRIEF).unwrap();
    let b = s.get("train.batch_size").unwrap();
    // 8 values 32..256 over [0, 1]: cells of width 1/8.
    assert_eq!(b.from_unit(0.0), V::Int(32));
    assert_eq!(b.from_unit(0.124), V::Int(32));
    assert_eq!(b.from_unit(0.126), V::Int(64));
    assert_eq!(b.from_unit(1.0), V::Int(256));
    assert_eq!(b.to_unit(&V::Int(64)), Some(0.1875)); // centre of cell 1: 1.5 / 8
    let lr = s.get("optim.lr").unwrap();
    // Log scale: u = 0.5 is the geometric mean sqrt(1e-4 · 1e-1) = 10^-2.5.
    let mid = lr.from_unit(0.5).as_f64().unwrap();
    assert!((mid.log10() + 2.5).abs() < 1e-12, "{mid}");
    let kind = s.get("optim.kind").unwrap();
    assert_eq!(kind.from_unit(0.49), V::Str("adam".into()));
    assert_eq!(kind.from_unit(0.51), V::Str("sgd".into()));
}

#[test]
fn check_and_build_respect_conditions() {
    let s = Space::from_toml_str(BRIEF).unwrap();
    let p = s.build(|_, spec, _| match spec.name.as_str() {
        "optim.kind" => V::Str("adam".into()),
        _ => spec.from_unit(0.5),
    });
    assert!(p.get("optim.momentum").is_none());
    s.check(&p).unwrap();
    let mut q = p.clone();
    q.insert("optim.momentum", V::Float(0.9));
    assert_eq!(
        s.check(&q).unwrap_err().to_string(),
        "optim.momentum: set although its `when` does not hold"
    );
}

#[test]
fn params_patch_a_nested_table() {
    let mut exp: toml::Table = toml::from_str("[optim]\nlr = 0.1\nkind = \"adam\"\n").unwrap();
    let p: Params = [
        ("optim.lr".to_string(), V::Float(0.01)),
        ("model.dropout.p".to_string(), V::Float(0.25)),
        ("train.batch_size".to_string(), V::Int(64)),
    ]
    .into_iter()
    .collect();
    p.apply_to(&mut exp).unwrap();
    let expected: toml::Table = toml::from_str(
        "[optim]\nlr = 0.01\nkind = \"adam\"\n[model.dropout]\np = 0.25\n[train]\nbatch_size = 64\n",
    )
    .unwrap();
    assert_eq!(exp, expected);
    let mut bad: toml::Table = toml::from_str("optim = 3").unwrap();
    assert_eq!(
        p.apply_to(&mut bad).unwrap_err().to_string(),
        "optim.lr: `optim` holds a value, not a table, in the experiment"
    );
}
