//! The charts of a hyperparameter study, with Optuna's `plot_*` family as the reference for
//! what each shows (`optuna/visualization/`). Each chart is first built as a data structure
//! from the trials — what the tests check — and then drawn by its `to_png`:
//!
//! - [`HistoryChart`] (`plot_optimization_history`): every trial's value, pruned and failed
//!   ones marked, and the best value so far as a step line;
//! - [`IntermediateChart`] (`plot_intermediate_values`): the values each trial reported by
//!   step, pruned trials cut short with an ×;
//! - [`ParallelChart`] (`plot_parallel_coordinate`): one axis per parameter in its own units,
//!   lines coloured by the objective;
//! - [`SliceChart`] (`plot_slice`): the objective against each parameter, one panel each;
//! - [`ContourChart`] (`plot_contour`): the objective over the two most important numeric
//!   parameters, filled by the discrete Laplace equation as Optuna does;
//! - [`ImportanceChart`] (`plot_param_importances`): fANOVA importance as bars.
//!
//! [`Scale`] is the axis logic the parallel, slice and contour charts share (linear, log and
//! categorical axes, positions and ticks); [`viridis`] the colour map they share.

mod color;
mod contour;
mod history;
mod importance;
mod intermediate;
mod laplace;
mod legend;
mod parallel;
mod scale;
mod slice;
#[cfg(test)]
mod tests;

use temper_tune::{Direction, Space, Trial};

pub use color::{ObjectiveColors, VIRIDIS, viridis};
pub use contour::{BANDS, ContourChart, ContourPoint, GRID, interpolate, node};
pub use history::{HistoryChart, HistoryPoint};
pub use importance::ImportanceChart;
pub use intermediate::{Curve, IntermediateChart};
pub use parallel::{ParallelChart, ParallelLine};
pub use scale::{Axis, Scale, Tick, TickedRange};
pub use slice::{SliceChart, SlicePanel, SlicePoint};

use crate::chart::Png;

/// Every chart of one study.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyCharts {
    /// Values and best-so-far by trial.
    pub history: HistoryChart,
    /// Reported values by step.
    pub intermediate: IntermediateChart,
    /// Parallel coordinates of the complete trials.
    pub parallel: ParallelChart,
    /// The objective against each parameter.
    pub slices: SliceChart,
    /// The objective over the two most important numeric parameters, when there are two and
    /// at least three complete trials hold both.
    pub contour: Option<ContourChart>,
    /// Importance bars, when any importance is positive.
    pub importance: Option<ImportanceChart>,
}

impl StudyCharts {
    /// The charts of `trials` over `space`; `metric` names the objective, `importance` is
    /// [`temper_tune::param_importance`]'s output (empty: no importance chart, and the contour
    /// takes the first two numeric parameters).
    pub fn build(
        trials: &[Trial],
        space: &Space,
        direction: Direction,
        metric: &str,
        importance: &[(String, f64)],
    ) -> StudyCharts {
        StudyCharts {
            history: HistoryChart::build(trials, direction, metric),
            intermediate: IntermediateChart::build(trials, metric),
            parallel: ParallelChart::build(trials, space, direction, metric),
            slices: SliceChart::build(trials, space, metric),
            contour: ContourChart::build(trials, space, direction, metric, importance),
            importance: ImportanceChart::build(importance),
        }
    }

    /// `(file name, png)` for each chart there is something to draw for: `history.png`
    /// (any finished trial), `intermediate.png` (any reported value), `parallel.png` and
    /// `slice.png` (any complete trial), `contour.png`, `importance.png` (when built).
    pub fn render_all(&self) -> Vec<(&'static str, Result<Png, String>)> {
        let mut out = Vec::new();
        if !self.history.points.is_empty() {
            out.push(("history.png", self.history.to_png()));
        }
        if !self.intermediate.curves.is_empty() {
            out.push(("intermediate.png", self.intermediate.to_png()));
        }
        if !self.parallel.lines.is_empty() {
            out.push(("parallel.png", self.parallel.to_png()));
        }
        if self.slices.panels.iter().any(|p| !p.points.is_empty()) {
            out.push(("slice.png", self.slices.to_png()));
        }
        if let Some(c) = &self.contour {
            out.push(("contour.png", c.to_png()));
        }
        if let Some(i) = &self.importance {
            out.push(("importance.png", i.to_png()));
        }
        out
    }
}
