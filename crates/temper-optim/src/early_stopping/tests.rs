//! Scripted metric sequences with their expected outcome, each worked out by hand from the
//! Keras `EarlyStopping` / Lightning `EarlyStopping` rules summarized in the module docs.

#[cfg(feature = "burn-train")]
use burn::train::metric::store::Split;
#[cfg(feature = "burn-train")]
use burn::train::metric::{AccuracyMetric, LossMetric};

use super::reason::num;
use super::*;

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

fn d() -> EarlyStoppingSettings {
    EarlyStoppingSettings::default()
}

struct Case {
    name: &'static str,
    settings: EarlyStoppingSettings,
    /// The monitored value of epochs 1, 2, ...
    values: &'static [f64],
    /// `(epoch, StopReason::name())` of the first stop, or `None` if the run never stops.
    stop: Option<(usize, &'static str)>,
    /// The best epoch when the run stops (or ends).
    best: Option<usize>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            // 1.0 best; 0.8 best; 0.9 wait 1; 0.85 wait 2 = patience.
            name: "min: patience epochs without improvement",
            settings: EarlyStoppingSettings { patience: 2, ..d() },
            values: &[1.0, 0.8, 0.9, 0.85],
            stop: Some((4, "patience")),
            best: Some(2),
        },
        Case {
            // Improvement is strict (`<`): equal values wait 1, wait 2 (burn-train's
            // `early_stop_when_stays_equal`).
            name: "min: an equal value is no improvement",
            settings: EarlyStoppingSettings { patience: 2, ..d() },
            values: &[0.5, 0.5, 0.5],
            stop: Some((3, "patience")),
            best: Some(1),
        },
        Case {
            // 0.1 best; 0.5 best; 0.4 wait 1; 0.6 best; 0.6 wait 1; 0.55 wait 2.
            name: "max: higher is better",
            settings: EarlyStoppingSettings {
                monitor: "score".into(),
                mode: MonitorMode::Max,
                patience: 2,
                ..d()
            },
            values: &[0.1, 0.5, 0.4, 0.6, 0.6, 0.55],
            stop: Some((6, "patience")),
            best: Some(4),
        },
        Case {
            // auto on valid_accuracy = max: 0.95 improves, 0.93 waits 1. (As min, 0.95 would
            // not improve and the run would stop at epoch 2 with best epoch 1.)
            name: "auto: valid_accuracy is maximized",
            settings: EarlyStoppingSettings {
                monitor: "valid_accuracy".into(),
                patience: 1,
                ..d()
            },
            values: &[0.9, 0.95, 0.93],
            stop: Some((3, "patience")),
            best: Some(2),
        },
        Case {
            // auto on valid_loss = min: 0.95 is worse than 0.9.
            name: "auto: valid_loss is minimized",
            settings: EarlyStoppingSettings { patience: 1, ..d() },
            values: &[0.9, 0.95],
            stop: Some((2, "patience")),
            best: Some(1),
        },
        Case {
            // Must go below best - 0.1: 0.95 (< 0.9? no) wait 1; 0.85 (< 0.9) best; 0.89
            // (< 0.75? no) wait 1; 0.76 (< 0.75? no) wait 2. The margin is measured from the
            // best, not from the previous epoch.
            name: "min_delta abs",
            settings: EarlyStoppingSettings {
                min_delta: 0.1,
                patience: 2,
                ..d()
            },
            values: &[1.0, 0.95, 0.85, 0.89, 0.76],
            stop: Some((5, "patience")),
            best: Some(3),
        },
        Case {
            // Must go below best * 0.9: 1.85 (< 1.8? no) wait 1; 1.79 best; 1.7
            // (< 1.611? no) wait 1; 1.6 (< 1.611) best; 1.5, 1.45 (< 1.44? no) wait 1, 2.
            name: "min_delta rel",
            settings: EarlyStoppingSettings {
                min_delta: 0.1,
                min_delta_mode: MinDeltaMode::Rel,
                patience: 2,
                ..d()
            },
            values: &[2.0, 1.85, 1.79, 1.7, 1.6, 1.5, 1.45],
            stop: Some((7, "patience")),
            best: Some(5),
        },
        Case {
            // Must exceed best + 0.1 * |best|: -1.9 (> -1.8? no) wait 1; -1.7 best; -1.7,
            // -1.7 wait 1, 2. (PyTorch's best * (1 + t) = -2.2 would count -1.9.)
            name: "min_delta rel, max mode, negative scores",
            settings: EarlyStoppingSettings {
                monitor: "score".into(),
                mode: MonitorMode::Max,
                min_delta: 0.1,
                min_delta_mode: MinDeltaMode::Rel,
                patience: 2,
                ..d()
            },
            values: &[-2.0, -1.9, -1.7, -1.7, -1.7],
            stop: Some((5, "patience")),
            best: Some(3),
        },
        Case {
            // wait 1 >= max(0, 1) at the first non-improving epoch; the first epoch, always an
            // improvement, never stops.
            name: "patience 0 behaves as 1",
            settings: EarlyStoppingSettings { patience: 0, ..d() },
            values: &[1.0, 1.1],
            stop: Some((2, "patience")),
            best: Some(1),
        },
        Case {
            // Each epoch improves but none goes below 0.5, so wait = 1, 2, 3 = patience. Keras
            // docs: "training will run for patience epochs and restore weights from the best
            // epoch in that set".
            name: "baseline never beaten",
            settings: EarlyStoppingSettings {
                baseline: Some(0.5),
                patience: 3,
                ..d()
            },
            values: &[0.9, 0.8, 0.7, 0.6],
            stop: Some((3, "baseline")),
            best: Some(3),
        },
        Case {
            // 0.6 improves, not below 0.5: wait 1; 0.45 beats both: wait 0; 0.47, 0.46 wait 1, 2.
            name: "baseline beaten, then patience",
            settings: EarlyStoppingSettings {
                baseline: Some(0.5),
                patience: 2,
                ..d()
            },
            values: &[0.6, 0.45, 0.47, 0.46],
            stop: Some((4, "patience")),
            best: Some(2),
        },
        Case {
            // Epochs 1-3 ignored (0.1 there is never best); 0.9 best; 1.0, 1.1 wait 1, 2.
            name: "start_from_epoch",
            settings: EarlyStoppingSettings {
                start_from_epoch: 3,
                patience: 2,
                ..d()
            },
            values: &[0.1, 0.2, 0.3, 0.9, 1.0, 1.1],
            stop: Some((6, "patience")),
            best: Some(4),
        },
        Case {
            // NaN and inf in the ignored epochs 1-2 stop nothing; 1.0 best; 1.2 wait 1.
            name: "start_from_epoch ignores non-finite warm-up values",
            settings: EarlyStoppingSettings {
                start_from_epoch: 2,
                patience: 1,
                ..d()
            },
            values: &[NAN, INF, 1.0, 1.2],
            stop: Some((4, "patience")),
            best: Some(3),
        },
        Case {
            // Strictly better than 0.1: 0.1 itself does not stop, 0.09 does and is best.
            name: "stopping_threshold, min",
            settings: EarlyStoppingSettings {
                stopping_threshold: Some(0.1),
                ..d()
            },
            values: &[0.5, 0.1, 0.09],
            stop: Some((3, "stopping_threshold")),
            best: Some(3),
        },
        Case {
            name: "stopping_threshold, max",
            settings: EarlyStoppingSettings {
                monitor: "valid_accuracy".into(),
                stopping_threshold: Some(0.99),
                ..d()
            },
            values: &[0.9, 0.995],
            stop: Some((2, "stopping_threshold")),
            best: Some(2),
        },
        Case {
            // Strictly worse than 10: 10.0 does not stop, 10.5 does.
            name: "divergence_threshold, min",
            settings: EarlyStoppingSettings {
                divergence_threshold: Some(10.0),
                ..d()
            },
            values: &[1.0, 10.0, 10.5],
            stop: Some((3, "divergence")),
            best: Some(1),
        },
        Case {
            name: "divergence_threshold, max",
            settings: EarlyStoppingSettings {
                monitor: "valid_accuracy".into(),
                divergence_threshold: Some(0.2),
                ..d()
            },
            values: &[0.5, 0.1],
            stop: Some((2, "divergence")),
            best: Some(1),
        },
        Case {
            name: "NaN with check_finite",
            settings: d(),
            values: &[1.0, 0.5, NAN],
            stop: Some((3, "not_finite")),
            best: Some(2),
        },
        Case {
            name: "inf with check_finite, before any best",
            settings: d(),
            values: &[INF],
            stop: Some((1, "not_finite")),
            best: None,
        },
        Case {
            // NaN compares false: no improvement, wait 1, 2.
            name: "NaN without check_finite counts as no improvement",
            settings: EarlyStoppingSettings {
                check_finite: false,
                patience: 2,
                ..d()
            },
            values: &[1.0, NAN, NAN],
            stop: Some((3, "patience")),
            best: Some(1),
        },
        Case {
            // 0.7 best at epoch 2, then wait 1..4 < 5: never stops, best is still epoch 2.
            name: "never stops, still reports the best epoch",
            settings: d(),
            values: &[1.0, 0.7, 0.8, 0.75, 0.72, 0.71],
            stop: None,
            best: Some(2),
        },
    ]
}

/// Runs `values` until the first stop; returns `(stop, best epoch)`.
fn run(
    step: &mut dyn FnMut(usize, f64) -> Option<&'static str>,
    best: &dyn Fn() -> Option<usize>,
    values: &[f64],
) -> (Option<(usize, &'static str)>, Option<usize>) {
    for (epoch, &v) in (1..).zip(values) {
        if let Some(reason) = step(epoch, v) {
            return (Some((epoch, reason)), best());
        }
    }
    (None, best())
}

#[test]
fn scripted_sequences_stop_where_keras_and_lightning_would() {
    for case in cases() {
        let es = std::cell::RefCell::new(EarlyStopping::new(&case.settings).unwrap());
        let got = run(
            &mut |epoch, v| es.borrow_mut().update(epoch, v).stop.map(|r| r.name()),
            &|| es.borrow().best_epoch(),
            case.values,
        );
        assert_eq!(got, (case.stop, case.best), "case: {}", case.name);
        assert_eq!(
            es.borrow().stop_reason().map(|r| r.name()),
            case.stop.map(|s| s.1),
            "case: {}",
            case.name
        );
    }
}

#[cfg(feature = "burn-train")]
#[test]
fn learner_adapter_decides_like_the_state_machine() {
    for case in cases() {
        // The adapter replaces `monitor` with `<split>_<metric>`; keep the case's direction
        // by stating it explicitly.
        let settings = EarlyStoppingSettings {
            mode: case.settings.resolved_mode(),
            ..case.settings.clone()
        };
        let adapter = LearnerEarlyStopping::new(&LossMetric::new(), Split::Valid, &settings)
            .unwrap_or_else(|e| panic!("case {}: {e}", case.name));
        let got = run(
            &mut |epoch, v| {
                adapter
                    .observe(epoch, Some(v))
                    .then(|| adapter.state().stop_reason().unwrap().name())
            },
            &|| adapter.state().best_epoch(),
            case.values,
        );
        assert_eq!(got, (case.stop, case.best), "case: {}", case.name);
    }
}

#[cfg(feature = "burn-train")]
#[test]
fn learner_adapter_skips_missing_values_and_shares_state_across_clones() {
    let settings = EarlyStoppingSettings { patience: 1, ..d() };
    let adapter = LearnerEarlyStopping::new(&LossMetric::new(), Split::Valid, &settings).unwrap();
    let clone = adapter.clone();
    assert!(!clone.observe(1, Some(1.0)));
    // burn-train's strategy returns false when the metric is missing; so does the adapter,
    // and the epoch does not count toward patience.
    assert!(!clone.observe(2, None));
    assert_eq!(adapter.state().wait(), 0);
    assert!(clone.observe(3, Some(1.5)));
    // The caller's copy sees what the Learner's clone decided.
    assert_eq!(adapter.state().best_epoch(), Some(1));
    assert_eq!(
        adapter.state().stop_reason().unwrap().to_string(),
        "valid_Loss did not improve by more than 0 for 1 epoch (best 1 at epoch 1)"
    );
}

#[cfg(feature = "burn-train")]
#[test]
fn learner_adapter_auto_mode_follows_burn_metric_attributes() {
    // LossMetric declares higher_is_better = false, AccuracyMetric true (burn-train 0.22.1
    // metric/loss.rs, metric/acc.rs).
    let s = d();
    let loss = LearnerEarlyStopping::new(&LossMetric::new(), Split::Valid, &s).unwrap();
    let acc = LearnerEarlyStopping::new(&AccuracyMetric::new(), Split::Train, &s).unwrap();
    assert!(!loss.state().maximizes());
    assert!(acc.state().maximizes());
    assert_eq!(acc.state().settings().monitor, "train_Accuracy");
    // An explicit mode wins over the attributes.
    let forced = EarlyStoppingSettings {
        mode: MonitorMode::Max,
        ..d()
    };
    let loss_max = LearnerEarlyStopping::new(&LossMetric::new(), Split::Valid, &forced).unwrap();
    assert!(loss_max.state().maximizes());
}

#[test]
fn auto_mode_maximizes_scores_and_minimizes_losses_by_name() {
    for (name, max) in [
        ("valid_loss", false),
        ("train_loss", false),
        ("valid_accuracy", true),
        ("val_acc", true),
        ("Precision", true),
        ("valid_recall", true),
        ("f1_macro", true),
        ("valid_auc", true),
        ("valid_error", false),
    ] {
        let mode = MonitorMode::Auto.resolve(name);
        assert_eq!(mode == MonitorMode::Max, max, "{name}");
    }
    assert_eq!(MonitorMode::Min.resolve("accuracy"), MonitorMode::Min);
}

#[test]
fn stop_messages_are_one_readable_line() {
    let best = Some(Best {
        epoch: 7,
        value: 0.0312,
    });
    let cases = [
        (
            StopReason::Patience {
                monitor: "valid_loss".into(),
                min_delta: 0.0,
                min_delta_mode: MinDeltaMode::Abs,
                epochs: 5,
                best,
            },
            "valid_loss did not improve by more than 0 for 5 epochs (best 0.0312 at epoch 7)",
        ),
        (
            StopReason::Patience {
                monitor: "valid_loss".into(),
                min_delta: 0.01,
                min_delta_mode: MinDeltaMode::Rel,
                epochs: 3,
                best,
            },
            "valid_loss did not improve by more than 1% for 3 epochs (best 0.0312 at epoch 7)",
        ),
        (
            StopReason::Baseline {
                monitor: "valid_loss".into(),
                baseline: 0.02,
                epochs: 5,
                best,
            },
            "valid_loss did not beat the baseline 0.02 in 5 epochs (best 0.0312 at epoch 7)",
        ),
        (
            StopReason::StoppingThreshold {
                monitor: "valid_accuracy".into(),
                value: 0.9912345,
                epoch: 4,
                threshold: 0.99,
            },
            "valid_accuracy reached 0.9912 at epoch 4, better than the stopping threshold 0.99",
        ),
        (
            StopReason::Divergence {
                monitor: "valid_loss".into(),
                value: 12.5,
                epoch: 3,
                threshold: 10.0,
            },
            "valid_loss reached 12.5 at epoch 3, worse than the divergence threshold 10",
        ),
        (
            StopReason::NotFinite {
                monitor: "valid_loss".into(),
                value: f64::NAN,
                epoch: 8,
                best,
            },
            "valid_loss is NaN at epoch 8 (best 0.0312 at epoch 7)",
        ),
        (
            StopReason::NotFinite {
                monitor: "train_loss".into(),
                value: f64::INFINITY,
                epoch: 1,
                best: None,
            },
            "train_loss is inf at epoch 1 (no best value yet)",
        ),
    ];
    for (reason, want) in cases {
        assert_eq!(reason.to_string(), want);
    }
    // Four significant digits, scientific outside [1e-4, 1e6).
    assert_eq!(num(1e-7), "1e-7");
    assert_eq!(num(1234567.0), "1.235e6");
    assert_eq!(num(123.456), "123.5");
}

#[test]
fn invalid_settings_name_their_field() {
    let err = |s: EarlyStoppingSettings| s.validate().unwrap_err().to_string();
    assert!(
        err(EarlyStoppingSettings {
            monitor: " ".into(),
            ..d()
        })
        .starts_with("early_stopping.monitor: ")
    );
    assert_eq!(
        err(EarlyStoppingSettings {
            min_delta: -0.1,
            ..d()
        }),
        "early_stopping.min_delta: must be >= 0, got -0.1"
    );
    assert_eq!(
        err(EarlyStoppingSettings {
            min_delta: 1.0,
            min_delta_mode: MinDeltaMode::Rel,
            ..d()
        }),
        "early_stopping.min_delta: must be [0, 1) with min_delta_mode = \"rel\", got 1"
    );
    assert_eq!(
        err(EarlyStoppingSettings {
            baseline: Some(f64::NAN),
            ..d()
        }),
        "early_stopping.baseline: must be a finite number, got NaN"
    );
    // Minimizing, a divergence threshold below the stopping threshold contradicts it.
    assert_eq!(
        err(EarlyStoppingSettings {
            stopping_threshold: Some(0.1),
            divergence_threshold: Some(0.05),
            ..d()
        }),
        "early_stopping.divergence_threshold: must be above stopping_threshold = 0.1 when \
         valid_loss is minimized, got 0.05"
    );
    assert!(
        EarlyStopping::new(&EarlyStoppingSettings {
            min_delta: f64::INFINITY,
            ..d()
        })
        .is_err()
    );
    assert_eq!(d().validate(), Ok(()));
}

#[test]
fn toml_section_fills_defaults_round_trips_and_refuses_unknown_keys() {
    // An empty section is all defaults; a present section with keys overrides only those.
    let empty: EarlyStoppingSettings = toml::from_str("").unwrap();
    assert_eq!(empty, d());
    assert_eq!((empty.patience, empty.check_finite), (5, true));
    assert!(empty.restore_best_weights);
    let s: EarlyStoppingSettings = toml::from_str(
        "monitor = \"valid_accuracy\"\nmode = \"max\"\nmin_delta = 0.01\n\
         min_delta_mode = \"rel\"\npatience = 3\nbaseline = 0.9\nstart_from_epoch = 2\n\
         stopping_threshold = 0.995\ndivergence_threshold = 0.1\ncheck_finite = false\n\
         restore_best_weights = false\n",
    )
    .unwrap();
    assert_eq!(
        s,
        EarlyStoppingSettings {
            monitor: "valid_accuracy".into(),
            mode: MonitorMode::Max,
            min_delta: 0.01,
            min_delta_mode: MinDeltaMode::Rel,
            patience: 3,
            baseline: Some(0.9),
            start_from_epoch: 2,
            stopping_threshold: Some(0.995),
            divergence_threshold: Some(0.1),
            check_finite: false,
            restore_best_weights: false,
        }
    );
    // Round trip: the resolved config a run directory writes reads back the same.
    let back: EarlyStoppingSettings = toml::from_str(&toml::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    let typo = toml::from_str::<EarlyStoppingSettings>("patiense = 3").unwrap_err();
    assert!(
        typo.to_string().contains("unknown field `patiense`"),
        "{typo}"
    );
}
