//! Reading and writing `[schedule]` tables: flat TOML in and out, one struct per kind, the
//! refusal of keys a kind does not take, each kind's defaults, and error paths.

use super::*;
use crate::schedule::curve::{Anneal, CyclicMode};
use crate::schedule::kinds::MMulMode;

fn parse(text: &str) -> ScheduleSettings {
    toml::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The message of the error reading `text`.
fn refusal(text: &str) -> String {
    toml::from_str::<ScheduleSettings>(text)
        .expect_err("should be refused")
        .message()
        .to_string()
}

/// One table per kind, every parameter given, plus the shared keys on some.
const EVERY_KIND: &[&str] = &[
    "kind = 'constant'\ninterval = 'step'",
    "kind = 'linear'\nstart_factor = 0.5\nend_factor = 0.9\ntotal = 4",
    "kind = 'inverse-time'\ndecay_rate = 0.5\ndecay_steps = 2\nstaircase = true",
    "kind = 'step'\nstep_size = 3\ngamma = 0.5\nwarmup = { steps = 2, mode = 'exponential' }",
    "kind = 'multistep'\nmilestones = [3, 7]\ngamma = 0.2",
    "kind = 'exponential'\ngamma = 0.9\ndecay_steps = 2\nstaircase = false",
    "kind = 'polynomial'\npower = 2.0\nend_lr = 0.001\ndecay_steps = 5\ncycle = true",
    "kind = 'cosine'\nmin_lr = 0.001\nt_max = 8\nplateau = { patience = 2 }",
    "kind = 'cosine-restarts'\nmin_lr = 0.0\nt0 = 2\nt_mult = 2.0\nm_mul = 0.5",
    "kind = 'one-cycle'\nmax_lr = 0.5\ntotal = 10\npct_start = 0.25\ndiv_factor = 10.0\n\
     final_div_factor = 100.0\nanneal = 'linear'\nthree_phase = true",
    "kind = 'cyclic'\nbase_lr = 0.01\nmax_lr = 0.1\nstep_size_up = 3\nstep_size_down = 5\n\
     mode = 'exp_range'\ngamma = 0.9",
    "kind = 'plateau'\nplateau = { factor = 0.5, monitor = 'valid_accuracy' }",
    "kind = 'sequential'\n[[phases]]\nkind = 'linear'\ntotal = 2\nlength = 2\n\
     [[phases]]\nkind = 'cosine'\nmin_lr = 0.001",
    "kind = 'chained'\n[[schedules]]\nkind = 'step'\nstep_size = 2\n\
     [[schedules]]\nkind = 'exponential'\ngamma = 0.9",
];

/// Every kind's name, in `ScheduleKind` order.
const KIND_NAMES: &[&str] = &[
    "constant",
    "linear",
    "inverse-time",
    "step",
    "multistep",
    "exponential",
    "polynomial",
    "cosine",
    "cosine-restarts",
    "one-cycle",
    "cyclic",
    "plateau",
    "sequential",
    "chained",
];

#[test]
fn every_kind_round_trips_through_flat_toml() {
    for (text, name) in EVERY_KIND.iter().zip(KIND_NAMES) {
        let settings = parse(text);
        assert_eq!(settings.kind().name(), *name);
        let written = toml::to_string(&settings).unwrap();
        assert!(
            written.starts_with(&format!("kind = \"{name}\"\n")),
            "{written}"
        );
        assert_eq!(parse(&written), settings, "{written}");
        // The tuner's path: the experiment as a TOML table, patched, read back.
        let table = toml::Table::try_from(&settings).unwrap();
        assert_eq!(table.try_into::<ScheduleSettings>().unwrap(), settings);
    }
}

#[test]
fn a_config_written_by_an_earlier_run_still_loads() {
    // The flat layout of every saved `config.toml`: kind, interval, then the parameters.
    let saved = "kind = \"one-cycle\"\ninterval = \"step\"\nmax_lr = 0.01\npct_start = 0.3\n\n\
                 [warmup]\nsteps = 5\nmode = \"linear\"\n";
    let settings = parse(saved);
    assert_eq!(settings.interval, Some(Interval::Step));
    assert_eq!(settings.warmup.as_ref().and_then(|w| w.steps), Some(5));
    assert_eq!(
        settings.curve,
        CurveSettings::OneCycle(OneCycleSettings {
            max_lr: Some(0.01),
            pct_start: Some(0.3),
            ..OneCycleSettings::default()
        })
    );
    assert_eq!(parse(""), ScheduleSettings::default());
    assert_eq!(parse("t_max = 4").kind(), ScheduleKind::Cosine);
}

#[test]
fn an_unknown_key_is_refused_naming_the_key_and_the_kind() {
    for name in KIND_NAMES {
        let message = refusal(&format!("kind = '{name}'\nbogus = 1"));
        assert!(
            message.starts_with(&format!(
                "schedule.bogus: is not a parameter of kind = \"{name}\" (it takes "
            )),
            "{message}"
        );
    }
    assert_eq!(
        refusal("kind = 'step'\nstep_sise = 2"),
        "schedule.step_sise: is not a parameter of kind = \"step\" (it takes `step_size`, `gamma`)"
    );
}

#[test]
fn a_key_of_another_kind_is_refused() {
    let cases = [
        ("kind = 'step'\nt_max = 3", "t_max", "step"),
        ("kind = 'cosine'\nmilestones = [2]", "milestones", "cosine"),
        ("kind = 'constant'\nmin_lr = 0.1", "min_lr", "constant"),
        ("kind = 'plateau'\ngamma = 0.5", "gamma", "plateau"),
        (
            "kind = 'sequential'\nschedules = []",
            "schedules",
            "sequential",
        ),
        ("kind = 'chained'\nphases = []", "phases", "chained"),
        (
            "kind = 'exponential'\nstep_size = 2",
            "step_size",
            "exponential",
        ),
    ];
    for (text, key, kind) in cases {
        let message = refusal(text);
        assert!(
            message.starts_with(&format!(
                "schedule.{key}: is not a parameter of kind = \"{kind}\""
            )),
            "{message}"
        );
    }
}

#[test]
fn each_decaying_kind_takes_its_documented_defaults() {
    let curve = |text: &str| parse(text).curve(0.1, 20, "schedule").unwrap();
    assert_eq!(curve("kind = 'constant'"), Curve::Constant { lr: 0.1 });
    assert_eq!(
        curve("kind = 'linear'"),
        Curve::Linear {
            lr: 0.1,
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total: 20
        }
    );
    assert_eq!(
        curve("kind = 'inverse-time'"),
        Curve::InverseTime {
            lr: 0.1,
            decay_rate: 1.0,
            decay_steps: 1,
            staircase: false
        }
    );
    assert_eq!(
        curve("kind = 'step'"),
        Curve::Step {
            lr: 0.1,
            step_size: 1,
            gamma: 0.1
        }
    );
    assert_eq!(
        curve("kind = 'multistep'\nmilestones = [5]"),
        Curve::MultiStep {
            lr: 0.1,
            milestones: vec![5],
            gamma: 0.1
        }
    );
    assert_eq!(
        curve("kind = 'exponential'"),
        Curve::Exponential {
            lr: 0.1,
            gamma: 0.1,
            decay_steps: 1,
            staircase: false
        }
    );
    assert_eq!(
        curve("kind = 'polynomial'"),
        Curve::Polynomial {
            lr: 0.1,
            end_lr: 0.0,
            power: 1.0,
            decay_steps: 20,
            cycle: false
        }
    );
}

#[test]
fn each_cyclical_and_composite_kind_takes_its_documented_defaults() {
    let curve = |text: &str| parse(text).curve(0.1, 20, "schedule").unwrap();
    assert_eq!(
        curve("kind = 'cosine'"),
        Curve::Cosine {
            lr: 0.1,
            min_lr: 0.0,
            t_max: 20
        }
    );
    assert_eq!(
        curve("kind = 'cosine-restarts'\nt0 = 5"),
        Curve::CosineRestarts {
            lr: 0.1,
            min_lr: 0.0,
            t0: 5,
            t_mult: 1.0,
            m_mul: 1.0,
            m_mul_mode: MMulMode::Timm,
        }
    );
    assert_eq!(
        curve("kind = 'one-cycle'"),
        Curve::OneCycle {
            max_lr: 0.1,
            total: 20,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            anneal: Anneal::Cos,
            three_phase: false
        }
    );
    assert_eq!(
        curve("kind = 'cyclic'"),
        Curve::Cyclic {
            base_lr: 0.1 / 10.0,
            max_lr: 0.1,
            step_size_up: 2000,
            step_size_down: 2000,
            mode: CyclicMode::Triangular
        }
    );
    let plateau = parse("kind = 'plateau'");
    assert_eq!(
        plateau.curve(0.1, 20, "schedule").unwrap(),
        Curve::Constant { lr: 0.1 }
    );
    assert_eq!(plateau.plateau_settings(), Some(PlateauSettings::default()));
    // The last phase runs for what the others leave; chained schedules span the run.
    assert_eq!(
        curve("kind = 'sequential'\n[[phases]]\nkind = 'constant'\nlength = 5\n[[phases]]"),
        Curve::Sequential {
            phases: vec![
                (Curve::Constant { lr: 0.1 }, 5),
                (
                    Curve::Cosine {
                        lr: 0.1,
                        min_lr: 0.0,
                        t_max: 15
                    },
                    15
                )
            ]
        }
    );
    assert_eq!(
        curve("kind = 'chained'\n[[schedules]]\nkind = 'cosine'"),
        Curve::Chained {
            lr: 0.1,
            curves: vec![Curve::Cosine {
                lr: 0.1,
                min_lr: 0.0,
                t_max: 20
            }]
        }
    );
}

#[test]
fn a_nested_error_names_its_path() {
    let seq = "kind = 'sequential'\n[[phases]]\nkind = 'constant'\nlength = 2\n[[phases]]\n";
    assert!(
        refusal(&format!("{seq}kind = 'step'\nt_max = 3"))
            .starts_with("schedule.phases[1].t_max: is not a parameter of kind = \"step\""),
    );
    assert!(
        refusal(&format!("{seq}kind = 'step'\ngamma = 'half'"))
            .starts_with("schedule.phases[1].gamma: invalid type: string \"half\""),
    );
    assert!(
        refusal(&format!("{seq}kind = 'cosin'"))
            .starts_with("schedule.phases[1].kind: unknown variant `cosin`"),
    );
    assert_eq!(
        refusal(&format!("{seq}interval = 'step'")),
        "schedule.phases[1].interval: only the top-level [schedule] takes this"
    );
    assert_eq!(
        refusal(&format!("{seq}kind = 'plateau'")),
        "schedule.phases[1].plateau: only the top-level [schedule] takes this"
    );
    assert_eq!(
        refusal("kind = 'chained'\n[[schedules]]\nkind = 'step'\nlength = 3"),
        "schedule.schedules[0].length: only phases of a sequential schedule take a length"
    );
    assert_eq!(
        refusal("kind = 'cosine'\nlength = 3"),
        "schedule.length: only phases of a sequential schedule take a length"
    );
    assert!(
        refusal("kind = 'chained'\n[[schedules]]\nkind = 'sequential'\n[[schedules.phases]]\nkind = 'step'\nmin_lr = 0.1")
            .starts_with("schedule.schedules[0].phases[0].min_lr: is not a parameter of kind = \"step\""),
    );
    assert!(
        refusal("kind = 'cosine'\nwarmup = { epochz = 1 }")
            .starts_with("schedule.warmup: unknown field `epochz`"),
    );
    assert!(refusal("kind = 'cosine'\nt_max = -1").starts_with("schedule.t_max: invalid value"));
    // Values are checked when the schedule is built, with the same paths.
    let phase_gamma = parse(&format!("{seq}kind = 'step'\ngamma = 2.0"))
        .curve(0.1, 10, "schedule")
        .unwrap_err()
        .to_string();
    assert!(
        phase_gamma.starts_with("schedule.phases[1].gamma: must be in (0, 1]"),
        "{phase_gamma}"
    );
}
