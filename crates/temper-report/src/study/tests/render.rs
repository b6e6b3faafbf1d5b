use temper_tune::{Direction, param_importance};

use super::{METRIC, space, trials};
use crate::study::StudyCharts;

fn charts() -> StudyCharts {
    let (trials, space) = (trials(), space());
    let importance = param_importance(&space, &trials);
    StudyCharts::build(&trials, &space, Direction::Minimize, METRIC, &importance)
}

#[test]
fn every_chart_renders_a_png_that_decodes() {
    let rendered = charts().render_all();
    let names: Vec<&str> = rendered.iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        [
            "history.png",
            "intermediate.png",
            "parallel.png",
            "slice.png",
            "contour.png",
            "importance.png"
        ]
    );
    for (name, png) in rendered {
        let png = png.unwrap_or_else(|e| panic!("{name}: {e}"));
        let image = image::load_from_memory(png.as_bytes()).unwrap();
        assert!(image.width() >= 600 && image.height() >= 400, "{name}");
    }
}

#[test]
fn a_study_without_complete_trials_draws_only_what_it_has() {
    let running: Vec<_> = trials()
        .into_iter()
        .filter(|t| t.number == 19 || t.number == 7)
        .collect();
    let charts = StudyCharts::build(&running, &space(), Direction::Minimize, METRIC, &[]);
    let names: Vec<&str> = charts.render_all().iter().map(|r| r.0).collect();
    // Trial 7 failed (a history point) and trial 19 reported one step.
    assert_eq!(names, ["history.png", "intermediate.png"]);
    assert!(charts.render_all().into_iter().all(|r| r.1.is_ok()));
}

/// Writes the fixture's charts to `$TMPDIR/study_pngs/` to look at:
/// `cargo test --release -p temper-report study_charts_are_written -- --ignored`.
#[test]
#[ignore]
fn study_charts_are_written_for_inspection() {
    let dir = std::env::temp_dir().join("study_pngs");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, png) in charts().render_all() {
        std::fs::write(dir.join(name), png.unwrap().as_bytes()).unwrap();
    }
}

#[test]
fn a_study_of_equal_values_and_a_single_parameter_still_renders() {
    // One parameter, three complete trials of the same value: every range is degenerate.
    let space = temper_tune::Space::new(vec![temper_tune::ParamSpec::new(
        "model.width",
        temper_tune::Distribution::Int {
            low: 8,
            high: 8 + 16,
            step: 8,
            log: false,
        },
    )])
    .unwrap();
    let trials: Vec<_> = (0..3)
        .map(|n| {
            let mut t = temper_tune::Trial::new(n, 0.0);
            t.params.insert(
                "model.width",
                temper_tune::ParamValue::Int(8 + 8 * n as i64),
            );
            t.state = temper_tune::TrialState::Complete;
            t.value = Some(0.5);
            t
        })
        .collect();
    let charts = StudyCharts::build(&trials, &space, Direction::Maximize, METRIC, &[]);
    assert!(charts.contour.is_none() && charts.importance.is_none());
    let rendered = charts.render_all();
    let names: Vec<&str> = rendered.iter().map(|r| r.0).collect();
    assert_eq!(names, ["history.png", "parallel.png", "slice.png"]);
    for (name, png) in rendered {
        let png = png.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(image::load_from_memory(png.as_bytes()).is_ok(), "{name}");
    }
}
