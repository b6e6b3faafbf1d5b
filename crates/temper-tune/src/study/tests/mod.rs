//! Tests of [`super`]: the heartbeat rule, the ask/tell protocol's errors and the trial states
//! `optimize` records, on the in-memory storage; the storage contract, run on every storage,
//! in [`storage`].

mod storage;

use super::*;
use crate::pruner::{MedianPruner, NopPruner};
use crate::sampler::{RandomSampler, SamplerKind};
use crate::storage::MemoryStorage;

fn space() -> Space {
    Space::from_toml_str("x = { uniform = [0.0, 1.0] }").unwrap()
}

#[test]
fn heartbeat_rule_fails_only_silent_trials() {
    let storage = MemoryStorage::new();
    let mk = |rule| {
        Study::create(
            Box::new(storage.clone()),
            "s",
            Direction::Minimize,
            space(),
            Box::new(RandomSampler),
            Box::new(NopPruner),
            0,
        )
        .unwrap()
        .with_stale_rule(rule)
        .unwrap()
    };
    let mut a = mk(StaleRule::Never);
    let t = a.ask().unwrap();
    // A second handle with a 1-hour rule leaves the fresh trial alone...
    let mut b = mk(StaleRule::After(std::time::Duration::from_secs(3600)));
    b.ask().unwrap();
    assert_eq!(
        b.trials().unwrap()[t.number as usize].state,
        TrialState::Running
    );
    // ...one with a zero rule fails it; its process may still tell a result afterwards.
    let _ = mk(StaleRule::After(std::time::Duration::ZERO));
    assert_eq!(
        a.trials().unwrap()[t.number as usize].state,
        TrialState::Failed
    );
    a.tell(t.number, TrialOutcome::Complete(1.0)).unwrap();
    assert_eq!(a.trials().unwrap()[0].state, TrialState::Complete);
}

#[test]
fn ask_tell_protocol_errors_and_nan() {
    let mut s = Study::create(
        Box::new(MemoryStorage::new()),
        "s",
        Direction::Maximize,
        space(),
        Box::new(RandomSampler),
        Box::new(NopPruner),
        0,
    )
    .unwrap();
    let t = s.ask().unwrap();
    s.tell(t.number, TrialOutcome::Complete(f64::NAN)).unwrap();
    let stored = &s.trials().unwrap()[0];
    assert_eq!(stored.state, TrialState::Failed);
    assert_eq!(stored.message.as_deref(), Some("objective returned NaN"));
    assert_eq!(
        s.tell(t.number, TrialOutcome::Pruned)
            .unwrap_err()
            .to_string(),
        "trial 0: already failed"
    );
    assert_eq!(
        s.report(7, 0, 1.0).unwrap_err().to_string(),
        "trial 7: not in this study"
    );
    let mem = MemoryStorage::new();
    Study::create(
        Box::new(mem.clone()),
        "d",
        Direction::Minimize,
        space(),
        Box::new(RandomSampler),
        Box::new(NopPruner),
        0,
    )
    .unwrap();
    let e = Study::create(
        Box::new(mem.clone()),
        "d",
        Direction::Maximize,
        space(),
        Box::new(RandomSampler),
        Box::new(NopPruner),
        0,
    );
    assert_eq!(
        e.err().unwrap().to_string(),
        "study \"d\" was created to minimize, not to maximize"
    );
    let e = Study::open(
        Box::new(mem),
        "zz",
        space(),
        Box::new(RandomSampler),
        Box::new(NopPruner),
        0,
    );
    assert_eq!(
        e.err().unwrap().to_string(),
        "study \"zz\" not found in the storage"
    );
}

#[test]
fn optimize_records_complete_pruned_and_failed_trials() {
    let mut s = Study::create(
        Box::new(MemoryStorage::new()),
        "s",
        Direction::Minimize,
        space(),
        SamplerKind::Random.build().unwrap(),
        Box::new(MedianPruner {
            n_startup_trials: 1,
            ..MedianPruner::default()
        }),
        0,
    )
    .unwrap();
    // Trial 0 completes with value 1 at step 0; trial 1 reports 5 > median 1 and is pruned;
    // trial 2 fails.
    let ran = s
        .optimize(3, |ctx| {
            let v = [1.0, 5.0, 0.0][ctx.number() as usize];
            if ctx.number() == 2 {
                return Err("diverged".to_string());
            }
            if ctx.report(0, v).unwrap() {
                return Err("pruned".to_string());
            }
            Ok(v)
        })
        .unwrap();
    assert_eq!(ran, 3);
    let states: Vec<TrialState> = s.trials().unwrap().iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [TrialState::Complete, TrialState::Pruned, TrialState::Failed]
    );
    assert_eq!(s.trials().unwrap()[2].message.as_deref(), Some("diverged"));
    // The grid stops optimize early when exhausted: 3 choices, 10 asked.
    let mut g = Study::create(
        Box::new(MemoryStorage::new()),
        "g",
        Direction::Minimize,
        Space::from_toml_str("c = { choice = [1, 2, 3] }").unwrap(),
        SamplerKind::parse("grid").unwrap().build().unwrap(),
        Box::new(NopPruner),
        0,
    )
    .unwrap();
    assert_eq!(
        g.optimize(10, |ctx| Ok::<_, String>(ctx.params().float("c").unwrap()))
            .unwrap(),
        3
    );
    assert_eq!(g.best_trial().unwrap().unwrap().value, Some(1.0));
}
