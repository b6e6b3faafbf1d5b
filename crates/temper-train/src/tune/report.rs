//! What a finished search writes into its output folder: `trials.csv`, `best.toml` (the best
//! trial's parameters, nothing of the storage), the study's charts (temper-report's
//! `StudyCharts`, Optuna's `plot_*` family) and `report.html`.

use std::path::Path;

use temper_report::study::StudyCharts;
use temper_tune::{Space, trials_csv};

use crate::error::TrainError;
use crate::run::run_dir::write_atomic;
use crate::score::html::write_report_html;
use crate::score::plot::write_png;
use crate::tune::markdown::study_markdown;
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
    let charts = StudyCharts::build(
        &summary.trials,
        space,
        summary.direction,
        &section.metric,
        &summary.importance,
    );
    for (name, png) in charts.render_all() {
        write_png(&out.join(name), png)?;
    }
    let md = study_markdown(summary, section);
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    write_study_html(summary, out)
}

/// The study's `report.html` (its charts, `best.toml`, links to every trial's report), and
/// each trial's `report.html` again with a link back to the study's.
fn write_study_html(summary: &TuneSummary, out: &Path) -> Result<(), TrainError> {
    let back = [("the study".to_string(), "../report.html".to_string())];
    for trial in &summary.trials {
        let dir = trial_dir(out, trial.number);
        if dir.join("report.html").is_file() {
            let title = format!("Trial {} ({})", trial.number, trial.state.as_str());
            write_report_html(&dir, &title, &back)?;
        }
    }
    write_report_html(out, "Hyperparameter study", &[])
}
