//! Tests of the analysis: CSV, best-so-far, the forest, and fANOVA importance against
//! closed-form Sobol indices.

mod forest;
mod importance;

use super::*;
use crate::trial::TrialState;
use crate::value::ParamValue;

fn t(number: u64, state: TrialState, value: Option<f64>, params: &[(&str, ParamValue)]) -> Trial {
    let mut t = Trial::new(number, 100.0);
    t.state = state;
    t.value = value;
    t.finished_at = state.is_finished().then_some(101.5);
    for (k, v) in params {
        t.params.insert(*k, v.clone());
    }
    t
}

#[test]
fn csv_lists_every_parameter_and_leaves_missing_cells_empty() {
    let trials = [
        t(
            0,
            TrialState::Complete,
            Some(0.5),
            &[("lr", 0.01.into()), ("kind", "a,b".into())],
        ),
        t(1, TrialState::Running, None, &[("lr", 0.1.into())]),
    ];
    assert_eq!(
        trials_csv(&trials),
        "number,state,value,duration_s,kind,lr\n0,complete,0.5,1.500,\"a,b\",0.01\n1,running,,,,0.1\n"
    );
}

#[test]
fn best_so_far_is_the_running_minimum_or_maximum() {
    let trials = [
        t(0, TrialState::Complete, Some(3.0), &[]),
        t(1, TrialState::Failed, None, &[]),
        t(2, TrialState::Complete, Some(4.0), &[]),
        t(3, TrialState::Complete, Some(1.0), &[]),
    ];
    assert_eq!(
        best_so_far(&trials, Direction::Minimize),
        vec![(0, 3.0), (2, 3.0), (3, 1.0)]
    );
    assert_eq!(
        best_so_far(&trials, Direction::Maximize),
        vec![(0, 3.0), (2, 4.0), (3, 4.0)]
    );
}
