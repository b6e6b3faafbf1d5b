use temper_tune::ParamValue;

use super::{METRIC, space, trials};
use crate::study::SliceChart;

#[test]
fn there_is_one_panel_per_parameter_holding_the_complete_trials_that_have_it() {
    let trials = trials();
    let chart = SliceChart::build(&trials, &space(), METRIC);
    let names: Vec<&str> = chart.panels.iter().map(|p| p.axis.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "optim.kind",
            "optim.lr",
            "train.batch_size",
            "optim.momentum"
        ]
    );
    let complete = trials.iter().filter(|t| t.complete_value().is_some());
    let sgd = complete
        .clone()
        .filter(|t| t.params.get("optim.kind") == Some(&"sgd".into()))
        .count();
    let counts: Vec<usize> = chart.panels.iter().map(|p| p.points.len()).collect();
    assert_eq!(counts, [14, 14, 14, sgd]);
    assert!(sgd > 2 && sgd < 14);
    let lr = &chart.panels[1];
    assert!(lr.axis.scale.is_log());
    for p in &lr.points {
        let v = trials[p.number as usize]
            .params
            .get("optim.lr")
            .and_then(ParamValue::as_f64);
        // Placed in log space over 1e-5..1e-1.
        assert!((p.position - (v.unwrap().log10() + 5.0) / 4.0).abs() < 1e-12);
        assert_eq!(Some(p.value), trials[p.number as usize].value);
    }
    // The categorical panel puts adam at 1/4 and sgd at 3/4.
    assert!(
        chart.panels[0]
            .points
            .iter()
            .all(|p| p.position == 0.25 || p.position == 0.75)
    );
}
