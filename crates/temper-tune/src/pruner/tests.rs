//! Tests of [`super`]: the median, successive-halving and Hyperband rules on hand-built
//! trial histories, and the parsing of pruner names and settings.

use std::collections::BTreeMap;

use super::*;

/// A trial with the given state and intermediate values (step, value).
fn trial(number: u64, state: TrialState, values: &[(u64, f64)]) -> Trial {
    let mut t = Trial::new(number, 0.0);
    t.state = state;
    t.intermediate = values.iter().copied().collect::<BTreeMap<_, _>>();
    t
}

/// Replays reports through a pruner the way `Study::report` does (attributes stored back on
/// the trial), returning each decision.
struct Script {
    trials: Vec<Trial>,
    direction: Direction,
}

impl Script {
    fn report(&mut self, p: &dyn Pruner, number: u64, step: u64, value: f64) -> bool {
        if self.trials.iter().all(|t| t.number != number) {
            self.trials.push(trial(number, TrialState::Running, &[]));
        }
        let i = self.trials.iter().position(|t| t.number == number).unwrap();
        self.trials[i].intermediate.insert(step, value);
        let current = self.trials[i].clone();
        let d = p.prune(&PruneContext {
            study_name: "hb",
            direction: self.direction,
            trials: &self.trials,
            trial: &current,
        });
        self.trials[i].attrs.extend(d.attrs);
        d.prune
    }
}

#[test]
fn median_pruner_follows_optunas_rule() {
    // Five complete trials with value v at steps 0 and 1, v = 1..5: median 3 at each step.
    let done: Vec<Trial> = (0..5)
        .map(|i| {
            let v = (i + 1) as f64;
            trial(i, TrialState::Complete, &[(0, v), (1, v)])
        })
        .collect();
    let m = MedianPruner::default();
    let mut s = Script {
        trials: done.clone(),
        direction: Direction::Minimize,
    };
    assert!(s.report(&m, 5, 0, 3.5)); // best so far 3.5 > median 3: prune
    assert!(!s.report(&m, 6, 0, 3.0)); // 3.0 is not worse than 3: keep
    assert!(!s.report(&m, 6, 1, 4.0)); // best so far is min(3, 4) = 3: keep
    let mut max = Script {
        trials: done.clone(),
        direction: Direction::Maximize,
    };
    assert!(max.report(&m, 5, 0, 2.5)); // maximizing: 2.5 < 3: prune
    assert!(!max.report(&m, 6, 0, 3.5));
    // n_startup_trials = 5: with four complete trials nothing is pruned.
    let mut few = Script {
        trials: done[..4].to_vec(),
        direction: Direction::Minimize,
    };
    assert!(!few.report(&m, 5, 0, 100.0));
    // Warm-up 1, interval 2: pruning is considered at the first report in [1, 3), [3, 5), ...
    // Reports at steps 1 and 2: step 2 falls in the interval already checked at step 1.
    let m2 = MedianPruner {
        n_startup_trials: 5,
        n_warmup_steps: 1,
        interval_steps: 2,
    };
    let mut iv = Script {
        trials: done,
        direction: Direction::Minimize,
    };
    assert!(!iv.report(&m2, 5, 0, 100.0)); // step 0 < warm-up
    assert!(iv.report(&m2, 5, 1, 100.0)); // first report of [1, 3): 100 > 3
    // Trial 7: step 1 is checked (2 ≤ 3: keep); step 2 lies in the window [1, 3) already
    // checked, so even 100 is not judged there.
    assert!(!iv.report(&m2, 7, 1, 2.0));
    assert!(!iv.report(&m2, 7, 2, 100.0));
}

#[test]
fn successive_halving_promotes_the_top_third() {
    // min_resource 1, η = 3, rate 0: rungs at steps 1, 3, 9. At a rung with n recorded values
    // (this trial's included) a trial is promoted if it ranks within the best ⌊n/3⌋, or is
    // the best while n < 3 (Optuna's `_is_trial_promotable_to_next_rung`).
    let sh = SuccessiveHalvingPruner::default();
    let mut s = Script {
        trials: vec![],
        direction: Direction::Minimize,
    };
    assert!(!s.report(&sh, 0, 1, 0.5)); // rung 0: [0.5] → best: promoted
    assert!(s.report(&sh, 1, 1, 0.7)); // [0.5, 0.7]: idx 0, 0.7 > 0.5 → pruned
    assert!(!s.report(&sh, 2, 1, 0.3)); // [.5,.7,.3]: ⌊3/3⌋−1 = 0 → 0.3 ≤ 0.3 → promoted
    assert!(s.report(&sh, 3, 1, 0.4)); // 4 values: idx 0 → 0.4 > 0.3 → pruned
    assert!(s.report(&sh, 4, 1, 0.6)); // 5 values: idx 0 → pruned
    assert!(!s.report(&sh, 5, 1, 0.35)); // 6 values: idx 1 → sorted[1] = 0.35 → promoted
    assert_eq!(s.trials[1].attrs["completed_rung_0"], 0.7); // recorded even when pruned
    assert!(!s.report(&sh, 0, 2, 9.0)); // step 2 < rung-1 step 3: no decision
    assert!(!s.report(&sh, 0, 3, 0.45)); // rung 1: [0.45] alone → promoted
    assert!(s.report(&sh, 2, 3, 0.5)); // rung 1: [0.45, 0.5] → pruned
    // Maximizing mirrors it.
    let mut m = Script {
        trials: vec![],
        direction: Direction::Maximize,
    };
    assert!(!m.report(&sh, 0, 1, 0.5));
    assert!(m.report(&sh, 1, 1, 0.4));
}

#[test]
fn hyperband_assigns_brackets_by_crc32_and_prunes_within_them() {
    let hb = HyperbandPruner {
        max_resource: Some(27),
        ..HyperbandPruner::default()
    };
    // floor(log3(27 / 1)) + 1 = 4 brackets; budgets ⌈4 · 3^s / (s + 1)⌉ for s = 3, 2, 1, 0.
    let budgets = hb.budgets(27);
    assert_eq!(budgets, vec![27, 12, 6, 4]);
    // Python: binascii.crc32(f"hb_{n}".encode()) % 49 for n = 0..11 gives
    // 22 27 30 8 37 9 10 32 24 31 45 4 → brackets (cumulative 27, 39, 45, 49):
    let brackets: Vec<usize> = (0..12)
        .map(|n| HyperbandPruner::bracket("hb", n, &budgets))
        .collect();
    assert_eq!(brackets, vec![0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 3, 0]);
    let mut s = Script {
        trials: vec![],
        direction: Direction::Minimize,
    };
    assert!(!s.report(&hb, 0, 1, 0.1)); // bracket 0, rung at step 1: alone → promoted
    assert!(!s.report(&hb, 1, 1, 5.0)); // bracket 1: first rung at step 3, no decision
    assert!(s.report(&hb, 3, 1, 0.2)); // bracket 0: [0.1, 0.2] → pruned
    assert!(!s.report(&hb, 2, 3, 0.9)); // bracket 1 rung 0 (step 3): [0.9] → promoted
    assert!(s.report(&hb, 4, 3, 1.0)); // bracket 1: [0.9, 1.0] → pruned
    assert!(!s.report(&hb, 5, 1, 0.05)); // bracket 0: [0.1, 0.2, 0.05] → promoted
    // Without max_resource nothing is pruned until a trial completes ("auto").
    let auto = HyperbandPruner::default();
    let mut a = Script {
        trials: vec![],
        direction: Direction::Minimize,
    };
    assert!(!a.report(&auto, 0, 1, 0.1));
    assert!(!a.report(&auto, 3, 1, 0.2));
}

#[test]
fn pruner_names_parse_and_bad_settings_are_rejected() {
    assert!(matches!(
        PrunerKind::parse("asha").unwrap(),
        PrunerKind::Asha(_)
    ));
    assert_eq!(
        PrunerKind::parse("nope").unwrap_err().to_string(),
        "pruner: unknown pruner \"nope\"; expected none, median, asha or hyperband"
    );
    let bad = PrunerKind::Asha(SuccessiveHalvingPruner {
        reduction_factor: 1,
        ..Default::default()
    });
    assert_eq!(
        bad.build().err().unwrap().to_string(),
        "pruner.reduction_factor: must be >= 2"
    );
}
