//! What a finished search writes into its output folder: `trials.csv`, `best.toml` (the best
//! trial's parameters, nothing of the storage) and the PNG charts.

use std::path::Path;

use temper_tune::{Space, Trial, TrialState, best_so_far, trials_csv};

use crate::error::TrainError;
use crate::run::run_dir::write_atomic;
use crate::score::plot::{BarChart, LineChart, Series};
use crate::tune::{TuneSection, TuneSummary, trial_dir};

/// Writes `trials.csv`, `best.toml` and the charts of `summary` into `out`.
pub(crate) fn write_outputs(
    summary: &TuneSummary,
    section: &TuneSection,
    space: &Space,
    out: &Path,
) -> Result<(), TrainError> {
    write_atomic(
        &out.join("trials.csv"),
        trials_csv(&summary.trials).as_bytes(),
    )?;
    if let Some(best) = &summary.best {
        let mut text = format!(
            "# best of {} trials: {} = {}\n# run directory: {}\n",
            summary.trials.len(),
            section.metric,
            best.value.unwrap_or(f64::NAN),
            trial_dir(out, best.number).display()
        );
        let table = best
            .params
            .to_toml_table()
            .map_err(|e| TrainError::Config(e.to_string()))?;
        text.push_str(&toml::to_string(&table).expect("a table serializes"));
        write_atomic(&out.join("best.toml"), text.as_bytes())?;
    }
    let complete: Vec<&Trial> = summary
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    if complete.is_empty() {
        return Ok(());
    }
    let values: Vec<(f64, f64)> = complete
        .iter()
        .filter_map(|t| t.value.map(|v| (t.number as f64, v)))
        .collect();
    let best: Vec<(f64, f64)> = best_so_far(&summary.trials, summary.direction)
        .into_iter()
        .map(|(n, v)| (n as f64, v))
        .collect();
    LineChart {
        title: "optimization history".into(),
        x_label: "trial".into(),
        y_label: section.metric.clone(),
        log_x: false,
        series: vec![
            Series {
                name: "trial value".into(),
                points: values,
            },
            Series {
                name: "best so far".into(),
                points: best,
            },
        ],
        marker: None,
        legend: true,
        x_labels: None,
    }
    .write_png(&out.join("history.png"))?;
    if !summary.importance.is_empty() {
        BarChart {
            title: "parameter importance (fANOVA, share of variance)".into(),
            bars: summary.importance.clone(),
        }
        .write_png(&out.join("importance.png"))?;
    }
    parallel_coordinates(&complete, space, &section.metric, &out.join("parallel.png"))
}

/// One line per complete trial across the numeric parameters and the metric, each axis scaled
/// to [0, 1] over the trials (log-scaled parameters in log space).
fn parallel_coordinates(
    trials: &[&Trial],
    space: &Space,
    metric: &str,
    path: &Path,
) -> Result<(), TrainError> {
    let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
    let axis_values = |f: &dyn Fn(&Trial) -> Option<f64>| -> Vec<Option<f64>> {
        trials.iter().map(|t| f(t)).collect()
    };
    let mut axes: Vec<(String, Vec<Option<f64>>)> = names
        .iter()
        .map(|name| {
            let spec = space.get(name).expect("named by the space");
            let values = axis_values(&|t: &Trial| t.params.get(name).and_then(|v| spec.to_unit(v)));
            (name.to_string(), values)
        })
        .collect();
    axes.push((metric.to_string(), axis_values(&|t: &Trial| t.value)));
    let normalized: Vec<Vec<Option<f64>>> = axes
        .iter()
        .map(|(_, vs)| {
            let finite = vs.iter().flatten().copied();
            let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
            vs.iter()
                .map(|v| v.map(|v| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 }))
                .collect()
        })
        .collect();
    let series = (0..trials.len())
        .map(|i| Series {
            name: format!("trial {}", trials[i].number),
            points: normalized
                .iter()
                .enumerate()
                .filter_map(|(axis, vs)| vs[i].map(|v| (axis as f64, v)))
                .collect(),
        })
        .collect();
    let labels: Vec<String> = axes
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{i}: {n}"))
        .collect();
    LineChart {
        title: "parallel coordinates (each axis scaled to [0, 1])".into(),
        x_label: labels.join("   "),
        y_label: "scaled value".into(),
        log_x: false,
        series,
        marker: None,
        // One line per trial: a legend would hide the chart.
        legend: false,
        x_labels: Some(axes.len()),
    }
    .write_png(path)
}
