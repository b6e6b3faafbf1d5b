//! The study charts' data, checked on a small study with every kind of parameter (a log
//! float, an int, a categorical and a parameter conditional on it) and of trial (complete,
//! pruned, failed, running).

mod contour;
mod history;
mod parallel;
mod render;
mod slice;

use temper_tune::{Distribution, ParamSpec, ParamValue, Space, Trial, TrialState};

/// The metric the fixture's trials report.
const METRIC: &str = "val_loss";
/// Pruned trials: they report steps 0 and 1, then stop.
const PRUNED: [u64; 3] = [4, 9, 13];
/// Failed trials: no value, no report.
const FAILED: [u64; 2] = [7, 15];
/// The last trial is still running after one report.
const RUNNING: u64 = 19;

/// `optim.lr` (log float), `train.batch_size` (int, step 16), `optim.kind` (adam or sgd) and
/// `optim.momentum`, active only for sgd.
fn space() -> Space {
    Space::new(vec![
        ParamSpec::new(
            "optim.lr",
            Distribution::Float {
                low: 1e-5,
                high: 1e-1,
                log: true,
            },
        ),
        ParamSpec::new(
            "train.batch_size",
            Distribution::Int {
                low: 16,
                high: 256,
                step: 16,
                log: false,
            },
        ),
        ParamSpec::new(
            "optim.kind",
            Distribution::Categorical {
                choices: vec!["adam".into(), "sgd".into()],
            },
        ),
        ParamSpec::new(
            "optim.momentum",
            Distribution::Float {
                low: 0.0,
                high: 0.99,
                log: false,
            },
        )
        .when("optim.kind", vec!["sgd".into()]),
    ])
    .unwrap()
}

/// The fixture's objective: a bowl in `log10(lr)` around 1e-3, a slope in the batch size,
/// a penalty for sgd.
fn objective(params: &temper_tune::Params) -> f64 {
    let lr = params.get("optim.lr").and_then(ParamValue::as_f64).unwrap();
    let batch = params
        .get("train.batch_size")
        .and_then(ParamValue::as_f64)
        .unwrap();
    let sgd = params.get("optim.kind") == Some(&"sgd".into());
    (lr.log10() + 3.0).powi(2) + batch / 256.0 * 0.2 + if sgd { 0.3 } else { 0.0 }
}

/// 20 trials (0..=19) over [`space`]: every third sgd, the rest adam; complete ones report
/// five steps descending to their value.
fn trials() -> Vec<Trial> {
    let space = space();
    (0..20u64)
        .map(|n| {
            let frac = |a: f64| (n as f64 * a).fract();
            let params = space.build(|_, spec, _| match spec.name.as_str() {
                "optim.lr" => ParamValue::Float(10f64.powf(-5.0 + 4.0 * frac(0.618_034))),
                "train.batch_size" => ParamValue::Int(16 * (1 + (n as i64 * 7) % 16)),
                "optim.kind" => (if n % 3 == 0 { "sgd" } else { "adam" }).into(),
                _ => ParamValue::Float(0.5 + 0.4 * frac(0.37)),
            });
            let value = objective(&params);
            let mut t = Trial::new(n, n as f64);
            t.params = params;
            let steps = if FAILED.contains(&n) {
                t.state = TrialState::Failed;
                0
            } else if PRUNED.contains(&n) {
                t.state = TrialState::Pruned;
                2
            } else if n == RUNNING {
                1
            } else {
                t.state = TrialState::Complete;
                t.value = Some(value);
                5
            };
            for s in 0..steps {
                t.intermediate.insert(s, value + (4 - s) as f64 * 0.1);
            }
            t
        })
        .collect()
}
