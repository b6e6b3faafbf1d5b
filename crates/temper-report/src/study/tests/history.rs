use temper_tune::{Direction, TrialState, best_so_far};

use super::{FAILED, METRIC, PRUNED, RUNNING, trials};
use crate::study::HistoryChart;

/// The best value so far at each complete trial, folded here from the trials' values
/// independently of `best_so_far`.
fn running_best(direction: Direction) -> Vec<(u64, f64)> {
    let mut best: Option<f64> = None;
    trials()
        .iter()
        .filter_map(|t| Some((t.number, t.complete_value()?)))
        .map(|(n, v)| {
            let b = match (best, direction) {
                (None, _) => v,
                (Some(b), Direction::Minimize) => b.min(v),
                (Some(b), Direction::Maximize) => b.max(v),
            };
            best = Some(b);
            (n, b)
        })
        .collect()
}

/// The height of the step line at trial `x`: its last corner at or left of `x`.
fn step_at(steps: &[(f64, f64)], x: f64) -> f64 {
    steps.iter().rev().find(|c| c.0 <= x).unwrap().1
}

#[test]
fn a_pruned_trial_appears_at_its_last_reported_value_with_the_pruned_marker() {
    let trials = trials();
    let chart = HistoryChart::build(&trials, Direction::Minimize, METRIC);
    let pruned = chart.valued(TrialState::Pruned);
    assert_eq!(pruned.iter().map(|p| p.0).collect::<Vec<_>>(), PRUNED);
    for (n, v) in pruned {
        // The fixture's pruned trials report steps 0 and 1; step 1 is their last.
        assert_eq!(Some(v), trials[n as usize].intermediate.get(&1).copied());
    }
}

#[test]
fn failed_trials_are_counted_and_sit_on_the_lower_edge_without_a_value() {
    let chart = HistoryChart::build(&trials(), Direction::Minimize, METRIC);
    let unvalued: Vec<u64> = chart.unvalued().iter().map(|p| p.number).collect();
    assert_eq!(unvalued, FAILED);
    assert!(
        chart
            .unvalued()
            .iter()
            .all(|p| p.state == TrialState::Failed)
    );
    // 20 trials: 3 pruned, 2 failed, 1 running, so 14 complete.
    assert_eq!(chart.valued(TrialState::Complete).len(), 14);
}

#[test]
fn best_so_far_steps_follow_the_running_best_in_both_directions() {
    let trials = trials();
    for direction in [Direction::Minimize, Direction::Maximize] {
        let chart = HistoryChart::build(&trials, direction, METRIC);
        let expected = running_best(direction);
        assert_eq!(chart.best, expected);
        assert_eq!(chart.best, best_so_far(&trials, direction));
        let steps = chart.best_steps();
        for &(n, b) in &expected {
            assert_eq!(step_at(&steps, n as f64), b, "{direction} at trial {n}");
        }
        // A step line: each corner shares x or y with the one before.
        for w in steps.windows(2) {
            assert!(w[0].0 == w[1].0 || w[0].1 == w[1].1, "{w:?}");
        }
        // Flat after the last complete trial, to the running one at the end.
        assert_eq!(steps.last().unwrap().0, RUNNING as f64);
        assert_eq!(steps.last().unwrap().1, expected.last().unwrap().1);
    }
}

#[test]
fn the_x_axis_spans_every_trial_including_the_running_one() {
    let chart = HistoryChart::build(&trials(), Direction::Minimize, METRIC);
    assert_eq!(chart.last_number, RUNNING);
    assert!(chart.points.iter().all(|p| p.number != RUNNING));
}
