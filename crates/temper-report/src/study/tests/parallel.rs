use temper_tune::{Direction, ParamValue};

use super::{METRIC, space, trials};
use crate::study::{ParallelChart, Scale, VIRIDIS};

#[test]
fn the_objective_comes_first_then_the_parameters_parents_before_children() {
    let chart = ParallelChart::build(&trials(), &space(), Direction::Minimize, METRIC);
    let names: Vec<&str> = chart.axes.iter().map(|a| a.name.as_str()).collect();
    // The space orders parameters without a condition by key, then those depending on them.
    assert_eq!(
        names,
        [
            METRIC,
            "optim.kind",
            "optim.lr",
            "train.batch_size",
            "optim.momentum"
        ]
    );
    // Only complete trials: 14 of the fixture's 20.
    assert_eq!(chart.lines.len(), 14);
}

#[test]
fn each_axis_is_labelled_in_its_parameters_units() {
    let chart = ParallelChart::build(&trials(), &space(), Direction::Minimize, METRIC);
    let axis = |name: &str| &chart.axes.iter().find(|a| a.name == name).unwrap().scale;
    let lr = axis("optim.lr");
    assert_eq!(*lr, Scale::Log { lo: 1e-5, hi: 1e-1 });
    for tick in lr.ticks() {
        let v = lr.value_at(tick.position).unwrap();
        let exponent = v.log10().round();
        // A power of ten, inside the declared range 1e-5..1e-1.
        assert!((v / 10f64.powf(exponent) - 1.0).abs() < 1e-9, "{v}");
        assert!((-5.0..=-1.0).contains(&exponent), "{v}");
    }
    assert_eq!(lr.ticks().len(), 5);
    let kind = axis("optim.kind");
    let labels: Vec<String> = kind.ticks().into_iter().map(|t| t.label).collect();
    assert_eq!(labels, ["adam", "sgd"]);
    let batch = axis("train.batch_size");
    assert_eq!(
        *batch,
        Scale::Linear {
            lo: 16.0,
            hi: 256.0,
            integer: true
        }
    );
    // (256 - 16) / 5 = 48 rounds up to the step 50.
    let labels: Vec<String> = batch.ticks().into_iter().map(|t| t.label).collect();
    assert_eq!(labels, ["50", "100", "150", "200", "250"]);
}

#[test]
fn a_trial_without_the_conditional_parameter_breaks_its_line_there() {
    let trials = trials();
    let chart = ParallelChart::build(&trials, &space(), Direction::Minimize, METRIC);
    let momentum = chart
        .axes
        .iter()
        .position(|a| a.name == "optim.momentum")
        .unwrap();
    for line in &chart.lines {
        let trial = &trials[line.number as usize];
        let sgd = trial.params.get("optim.kind") == Some(&"sgd".into());
        assert_eq!(
            line.positions[momentum].is_some(),
            sgd,
            "trial {}",
            line.number
        );
        let touches = line
            .segments()
            .iter()
            .flatten()
            .any(|&(i, _)| i == momentum);
        assert_eq!(touches, sgd, "trial {}", line.number);
        if sgd {
            let m = trial
                .params
                .get("optim.momentum")
                .and_then(ParamValue::as_f64)
                .unwrap();
            assert!((line.positions[momentum].unwrap() - m / 0.99).abs() < 1e-12);
        } else {
            // Momentum is the last axis: the line stops at the batch size.
            assert_eq!(
                line.segments(),
                [line.positions[..momentum]
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i, p.unwrap()))
                    .collect::<Vec<_>>()]
            );
        }
    }
}

#[test]
fn the_best_trial_is_drawn_last_in_the_colour_maps_dark_end() {
    let trials = trials();
    for direction in [Direction::Minimize, Direction::Maximize] {
        let chart = ParallelChart::build(&trials, &space(), direction, METRIC);
        let complete = trials
            .iter()
            .filter_map(|t| Some((t.number, t.complete_value()?)));
        let best = complete
            .clone()
            .reduce(|a, b| if direction.better(b.1, a.1) { b } else { a })
            .unwrap();
        let worst = complete
            .reduce(|a, b| if direction.better(a.1, b.1) { b } else { a })
            .unwrap();
        assert_eq!(chart.best, Some(best.0), "{direction}");
        let last = chart.lines.last().unwrap();
        assert_eq!(last.number, best.0);
        assert_eq!(chart.color(last), VIRIDIS[0], "{direction}");
        assert_eq!(chart.color(&chart.lines[0]), VIRIDIS[16], "{direction}");
        assert_eq!(chart.lines[0].number, worst.0);
    }
}
