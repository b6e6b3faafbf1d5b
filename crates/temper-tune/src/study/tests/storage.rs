//! The storage contract, one body per property run on every storage (memory, SQLite,
//! PostgreSQL; see `test_support`): persistence across handles, atomic trial numbers,
//! budgets shared by workers, stale trials failed once and retried, and identical parameter
//! sequences whatever the storage.

use std::collections::BTreeSet;
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use crate::pruner::{MedianPruner, NopPruner};
use crate::sampler::{RandomSampler, SamplerKind, TpeSettings};
use crate::storage::{RETRIED_FROM_ATTR, STALE_MESSAGE};
use crate::study::*;
#[cfg(feature = "postgres")]
use crate::test_support::pg_url;
use crate::test_support::{Backend, on_every_storage, unique_name};
use crate::value::ParamValue;

fn space() -> Space {
    Space::from_toml_str("x = { uniform = [0.0, 1.0] }").unwrap()
}

fn study_on(b: &Backend, name: &str, pruner: Box<dyn Pruner>) -> Study {
    Study::create(
        b.open(),
        name,
        Direction::Minimize,
        space(),
        Box::new(RandomSampler),
        pruner,
        1,
    )
    .unwrap()
    .with_stale_rule(StaleRule::Never)
    .unwrap()
}

on_every_storage!(
    kill_and_resume_keeps_every_finished_trial,
    two_handles_get_disjoint_trial_numbers,
    pruner_sees_other_workers_values,
    three_workers_share_a_budget_of_twelve,
    stale_trial_is_failed_once_and_retried,
    finish_refuses_finished_and_unknown_trials,
);

fn kill_and_resume_keeps_every_finished_trial(b: &Backend) {
    let name = unique_name("resume");
    let before = {
        let mut study = study_on(b, &name, Box::new(NopPruner));
        for i in 0..3 {
            let t = study.ask().unwrap();
            study.report(t.number, 0, i as f64 + 0.5).unwrap();
            study.report(t.number, 1, f64::NAN).unwrap();
            study
                .tell(t.number, TrialOutcome::Complete(i as f64))
                .unwrap();
        }
        let t = study.ask().unwrap();
        study
            .tell(t.number, TrialOutcome::Failed("out of memory".into()))
            .unwrap();
        let t = study.ask().unwrap();
        study.report(t.number, 0, 9.0).unwrap();
        let before = study.trials().unwrap();
        drop(study); // "killed": trial 4 never told
        before
    };
    let mut study = study_on(b, &name, Box::new(NopPruner))
        .with_stale_rule(StaleRule::OnOpen)
        .unwrap();
    let after = study.trials().unwrap();
    assert_eq!(after.len(), 5);
    for i in 0..4 {
        // Debug text, since the NaN intermediate value is not equal to itself.
        assert_eq!(
            format!("{:?}", after[i]),
            format!("{:?}", before[i]),
            "trial {i}"
        );
    }
    assert_eq!(after[0].value, Some(0.0));
    assert_eq!(after[2].intermediate[&0], 2.5);
    assert!(after[2].intermediate[&1].is_nan());
    assert_eq!(after[3].state, TrialState::Failed);
    assert_eq!(after[3].message.as_deref(), Some("out of memory"));
    assert_eq!(after[4].state, TrialState::Failed);
    assert_eq!(after[4].message.as_deref(), Some(STALE_MESSAGE));
    assert_eq!(after[4].intermediate[&0], 9.0);
    assert_eq!(study.ask().unwrap().number, 5);
    assert_eq!(study.best_trial().unwrap().unwrap().number, 0);
}

fn two_handles_get_disjoint_trial_numbers(b: &Backend) {
    let name = unique_name("disjoint");
    study_on(b, &name, Box::new(NopPruner)); // create the study once
    let got: Vec<Vec<u64>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut study = study_on(b, &name, Box::new(NopPruner));
                    (0..15)
                        .map(|_| {
                            let t = study.ask().unwrap();
                            let v = t.params.float("x").unwrap();
                            study.tell(t.number, TrialOutcome::Complete(v)).unwrap();
                            t.number
                        })
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let a: BTreeSet<u64> = got[0].iter().copied().collect();
    let c: BTreeSet<u64> = got[1].iter().copied().collect();
    assert!(a.is_disjoint(&c), "{a:?} / {c:?}");
    assert_eq!(
        a.union(&c).copied().collect::<BTreeSet<_>>(),
        (0..30).collect()
    );
    let trials = study_on(b, &name, Box::new(NopPruner)).trials().unwrap();
    assert_eq!(trials.len(), 30);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

fn pruner_sees_other_workers_values(b: &Backend) {
    let name = unique_name("prune");
    let mut a = study_on(b, &name, Box::new(NopPruner));
    let t = a.ask().unwrap();
    assert!(!a.report(t.number, 0, 1.0).unwrap());
    a.tell(t.number, TrialOutcome::Complete(1.0)).unwrap();
    // Another handle (another connection): Optuna's median rule at step 0 compares 5.0 with
    // the median of the other trials' step-0 values, here worker a's 1.0 alone, so it prunes
    // (minimizing); 0.5 would not be pruned.
    let median = || {
        Box::new(MedianPruner {
            n_startup_trials: 1,
            ..MedianPruner::default()
        })
    };
    let mut w = study_on(b, &name, median());
    let t = w.ask().unwrap();
    assert!(w.report(t.number, 0, 5.0).unwrap());
    let t = w.ask().unwrap();
    assert!(!w.report(t.number, 0, 0.5).unwrap());
}

fn three_workers_share_a_budget_of_twelve(b: &Backend) {
    let name = unique_name("budget");
    study_on(b, &name, Box::new(NopPruner));
    let told = Mutex::new(Vec::new());
    let ran: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut study = study_on(b, &name, Box::new(NopPruner));
                    study
                        .optimize_within(12, |ctx| {
                            let x = ctx.params().float("x").unwrap();
                            ctx.report(0, 2.0 * x).unwrap();
                            told.lock().unwrap().push(ctx.number());
                            Ok::<f64, String>(x)
                        })
                        .unwrap()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(ran.iter().sum::<usize>(), 12, "{ran:?}");
    let mut told = told.into_inner().unwrap();
    told.sort_unstable();
    assert_eq!(told, (0..12).collect::<Vec<u64>>(), "each trial run once");
    let mut study = study_on(b, &name, Box::new(NopPruner));
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 12);
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "trial {}", t.number);
        let x = t.params.float("x").unwrap();
        assert_eq!(t.value.map(f64::to_bits), Some(x.to_bits()));
        assert_eq!(t.intermediate[&0].to_bits(), (2.0 * x).to_bits());
    }
    // The budget is spent for every later worker too.
    assert_eq!(study.ask_within(12).unwrap(), None);
}

fn stale_trial_is_failed_once_and_retried(b: &Backend) {
    let name = unique_name("stale");
    let mut a = study_on(b, &name, Box::new(NopPruner));
    let t0 = a.ask_within(4).unwrap().unwrap();
    a.report(t0.number, 0, 3.0).unwrap(); // last heartbeat of trial 0
    std::thread::sleep(Duration::from_millis(1200));
    let t1 = a.ask_within(4).unwrap().unwrap();
    assert_eq!((t0.number, t1.number), (0, 1));
    // Two workers apply a 1-second rule at once: trial 0 (silent >= 1.2 s) is failed once,
    // trial 1 (just asked) is left running.
    let id = b.open().find_study(&name).unwrap().unwrap().id;
    let barrier = Barrier::new(2);
    let failed: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut storage = b.open();
                    barrier.wait();
                    storage.fail_stale(id, 1.0, now_secs()).unwrap()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(failed, 1);
    let trials = a.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Failed);
    assert_eq!(trials[0].message.as_deref(), Some(STALE_MESSAGE));
    assert_eq!(trials[1].state, TrialState::Running);
    // The next ask re-runs trial 0's parameters, bit for bit, as trial 2.
    let t2 = a.ask_within(4).unwrap().unwrap();
    assert_eq!(t2.number, 2);
    assert_eq!(
        t2.params.float("x").unwrap().to_bits(),
        t0.params.float("x").unwrap().to_bits()
    );
    assert_eq!(t2.attrs.get(RETRIED_FROM_ATTR), Some(&0.0));
    let retried = format!("{STALE_MESSAGE}; retried as trial 2");
    assert_eq!(a.trials().unwrap()[0].message.as_deref(), Some(&*retried));
    // Trial 0's process, slow rather than dead, can no longer finish it.
    let late = format!("trial 0: already failed ({retried})");
    let e = a.tell(0, TrialOutcome::Complete(1.0)).unwrap_err();
    assert_eq!(e.to_string(), late);
    let e = b
        .open()
        .finish(id, 0, TrialState::Complete, Some(1.0), None, now_secs())
        .unwrap_err();
    assert_eq!(e.to_string(), late);
    for t in [t1.number, t2.number] {
        a.tell(t, TrialOutcome::Complete(t as f64)).unwrap();
    }
    // Budget 4: trials 1 and 2 count, trial 0 does not; two more, then none.
    let mut more = Vec::new();
    while let Some(t) = a.ask_within(4).unwrap() {
        a.tell(t.number, TrialOutcome::Pruned).unwrap();
        more.push(t.number);
    }
    assert_eq!(more, [3, 4]);
    let trials = a.trials().unwrap();
    let counted: Vec<u64> = trials
        .iter()
        .filter(|t| !crate::storage::is_stale(t.state, t.message.as_deref()))
        .map(|t| t.number)
        .collect();
    assert_eq!(counted, [1, 2, 3, 4]);
    assert!(trials.iter().all(|t| t.state.is_finished()));
}

fn finish_refuses_finished_and_unknown_trials(b: &Backend) {
    let name = unique_name("finish");
    let mut s = b.open();
    let info = s.create_study(&name, Direction::Maximize).unwrap();
    assert_eq!(s.create_study(&name, Direction::Minimize).unwrap(), info);
    assert_eq!(s.find_study(&name).unwrap(), Some(info.clone()));
    let n = s.create_trial(info.id, now_secs()).unwrap();
    assert_eq!(n, 0);
    s.finish(
        info.id,
        0,
        TrialState::Complete,
        Some(2.0),
        None,
        now_secs(),
    )
    .unwrap();
    let again = s.finish(info.id, 0, TrialState::Pruned, None, None, now_secs());
    assert_eq!(again.unwrap_err().to_string(), "trial 0: already complete");
    let unknown = s.finish(info.id, 9, TrialState::Pruned, None, None, now_secs());
    assert_eq!(unknown.unwrap_err().to_string(), "trial 9: no such trial");
    assert_eq!(s.trials(info.id).unwrap()[0].value, Some(2.0));
}

/// A parameter set with floats as their bit patterns, for exact comparison.
fn bits(p: &crate::value::Params) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| {
            let v = match v {
                ParamValue::Float(f) => format!("f{:016x}", f.to_bits()),
                other => format!("{other:?}"),
            };
            (k.clone(), v)
        })
        .collect()
}

#[test]
fn same_seed_same_parameters_on_every_storage() {
    let space = r#"
x = { uniform = [-5.0, 5.0] }
lr = { log_uniform = [1e-5, 1e-1] }
n = { int = [1, 8] }
opt = { choice = ["adam", "sgd", "lion"] }
"#;
    let f = |p: &crate::value::Params| {
        let x = p.float("x").unwrap();
        (x - 1.0).powi(2) + p.float("lr").unwrap().log10().abs() + p.float("n").unwrap() * 0.1
    };
    #[allow(unused_mut)] // without the sqlite and postgres features
    let mut backends = vec![("memory", Backend::memory())];
    #[cfg(feature = "sqlite")]
    backends.push(("sqlite", Backend::sqlite()));
    #[cfg(feature = "postgres")]
    if pg_url().is_some() {
        backends.push(("postgres", Backend::postgres().unwrap()));
    }
    let tpe = SamplerKind::Tpe(TpeSettings {
        n_startup_trials: 4,
        ..TpeSettings::default()
    });
    for kind in [SamplerKind::Random, tpe] {
        let runs: Vec<Vec<Vec<(String, String)>>> = backends
            .iter()
            .map(|(_, b)| {
                let mut study = Study::create(
                    b.open(),
                    &unique_name("same"),
                    Direction::Minimize,
                    Space::from_toml_str(space).unwrap(),
                    kind.build().unwrap(),
                    Box::new(NopPruner),
                    7,
                )
                .unwrap();
                (0..12)
                    .map(|_| {
                        let t = study.ask_within(12).unwrap().unwrap();
                        study
                            .tell(t.number, TrialOutcome::Complete(f(&t.params)))
                            .unwrap();
                        bits(&t.params)
                    })
                    .collect()
            })
            .collect();
        // Twelve different points (the sampler really ran), the same on every storage.
        assert_eq!(runs[0].iter().collect::<BTreeSet<_>>().len(), 12);
        for (i, (label, _)) in backends.iter().enumerate().skip(1) {
            assert_eq!(runs[i], runs[0], "{kind:?} on {label} vs memory");
        }
    }
}
