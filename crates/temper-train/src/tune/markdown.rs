//! The study's `report.md`: what was searched, how the trials ended, the best trial, and one
//! row per trial linking to its run's report — the summary at the top of the study's
//! `report.html`.

use temper_report::html::markdown_cell as cell;
use temper_tune::{Direction, ParamValue, Params, Trial, TrialState};

use crate::tune::{TuneSection, TuneSummary, trial_dir};

/// The study as Markdown; trial links are relative to the study's folder.
pub(crate) fn study_markdown(summary: &TuneSummary, section: &TuneSection) -> String {
    let count = |state: TrialState| summary.trials.iter().filter(|t| t.state == state).count();
    let goal = match summary.direction {
        Direction::Minimize => "minimized",
        Direction::Maximize => "maximized",
    };
    let mut md = format!(
        "# Hyperparameter study\n\n`{}` {goal} over {} trials: {} complete, {} pruned, {} \
         failed, {} running.\n\n",
        section.metric,
        summary.trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        count(TrialState::Running),
    );
    match &summary.best {
        Some(best) => md.push_str(&format!(
            "**Best: trial {}, {} = {}** — {} ([its report]({})).\n\n",
            best.number,
            section.metric,
            value(best),
            cell(&short_params(&best.params)),
            trial_link(best.number)
        )),
        None => md.push_str("No trial completed.\n\n"),
    }
    md.push_str(&format!(
        "| trial | state | {} | parameters |\n",
        section.metric
    ));
    md.push_str("|---|---|---|---|\n");
    for t in &summary.trials {
        md.push_str(&format!(
            "| [{}]({}) | {} | {} | {} |\n",
            t.number,
            trial_link(t.number),
            t.state.as_str(),
            value(t),
            cell(&short_params(&t.params))
        ));
    }
    md
}

fn trial_link(number: u64) -> String {
    let dir = trial_dir(std::path::Path::new(""), number);
    format!("{}/report.html", dir.display())
}

/// A trial's value: its final one, else the last it reported (a pruned trial), else `–`.
fn value(t: &Trial) -> String {
    t.value
        .or_else(|| t.intermediate.values().next_back().copied())
        .map_or("–".into(), |v| format!("{v:.4}"))
}

/// `key=value` pairs for people: floats to four significant digits (`best.toml` and
/// `trials.csv` keep every digit), strings without quotes.
fn short_params(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            ParamValue::Float(x) => format!("{k}={}", four_digits(*x)),
            ParamValue::Str(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `x` to four significant digits: `0.04307`, `4.307e-5`, `123.5`.
fn four_digits(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).max(0) as usize
    };
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_shown_to_four_significant_digits() {
        assert_eq!(four_digits(0.04307394612319158), "0.04307");
        assert_eq!(four_digits(0.8601698994636535), "0.8602");
        assert_eq!(four_digits(123.456), "123.5");
        assert_eq!(four_digits(0.00011602204740922982), "1.160e-4");
        assert_eq!(four_digits(0.0), "0");
    }
}
