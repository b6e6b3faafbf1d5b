//! The optimization history: every trial's value against its number and the best value so
//! far, as Optuna's `plot_optimization_history` (`optuna/visualization/_optimization_history.py`).
//!
//! Optuna plots complete trials only; here a pruned trial is also a point, at the last value
//! it reported (the value its pruner judged), with its own marker, and a failed trial — which
//! has no value — is an × on the plot's lower edge, so that a study that loses half its
//! trials shows it. Best-so-far is a step line (it changes only at an improving trial, and
//! holds until the next), drawn over every trial number to the last one, running trials
//! included.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use temper_tune::{Direction, Trial, TrialState, best_so_far};

use super::legend::{Frame, Mark, render_with_legend};
use crate::chart::{COLORS, Png, bounds};

/// One finished trial on the history chart.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    /// The trial's number.
    pub number: u64,
    /// Complete, pruned or failed.
    pub state: TrialState,
    /// A complete trial's value, a pruned trial's last reported value; `None` for a failed
    /// trial (and a pruned one that reported nothing), drawn on the lower edge.
    pub value: Option<f64>,
}

/// The data of the optimization-history chart.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryChart {
    /// The objective's name (y axis).
    pub metric: String,
    /// Which values are better.
    pub direction: Direction,
    /// Every finished trial, in number order.
    pub points: Vec<HistoryPoint>,
    /// `(trial number, best complete value so far)` at each complete trial, as
    /// [`temper_tune::best_so_far`] gives it.
    pub best: Vec<(u64, f64)>,
    /// The largest trial number of the study, running trials included: the x axis spans
    /// `0..=last_number`.
    pub last_number: u64,
}

impl HistoryChart {
    /// The chart of `trials`.
    pub fn build(trials: &[Trial], direction: Direction, metric: &str) -> HistoryChart {
        let mut sorted: Vec<&Trial> = trials.iter().collect();
        sorted.sort_by_key(|t| t.number);
        let points = sorted
            .iter()
            .filter(|t| t.state.is_finished())
            .map(|t| HistoryPoint {
                number: t.number,
                state: t.state,
                value: match t.state {
                    TrialState::Complete => t.value,
                    TrialState::Pruned => t.intermediate.values().next_back().copied(),
                    _ => None,
                }
                .filter(|v| v.is_finite()),
            })
            .collect();
        HistoryChart {
            metric: metric.to_string(),
            direction,
            points,
            best: best_so_far(trials, direction),
            last_number: sorted.last().map_or(0, |t| t.number),
        }
    }

    /// The trials in `state` that have a value, as `(number, value)`.
    pub fn valued(&self, state: TrialState) -> Vec<(u64, f64)> {
        self.points
            .iter()
            .filter(|p| p.state == state)
            .filter_map(|p| Some((p.number, p.value?)))
            .collect()
    }

    /// The trials without a value (failed, or pruned before reporting), on the lower edge.
    pub fn unvalued(&self) -> Vec<&HistoryPoint> {
        self.points.iter().filter(|p| p.value.is_none()).collect()
    }

    /// The corners of the best-so-far step line: flat from each improving trial to the next,
    /// then straight up or down, and flat again to `last_number`.
    pub fn best_steps(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(2 * self.best.len() + 1);
        for &(n, v) in &self.best {
            if let Some(&(_, prev)) = out.last() {
                out.push((n as f64, prev));
            }
            out.push((n as f64, v));
        }
        if let Some(&(x, v)) = out.last()
            && (x as u64) < self.last_number
        {
            out.push((self.last_number as f64, v));
        }
        out
    }

    /// Draws the chart.
    pub fn to_png(&self) -> Result<Png, String> {
        let values = self.points.iter().filter_map(|p| p.value);
        let (lo, hi) = bounds(values.chain(self.best.iter().map(|b| b.1)));
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.06).max(hi.abs() * 1e-3).max(1e-9);
        let (y0, y1) = (lo - 2.0 * pad, hi + pad);
        let x1 = self.last_number as f64 + 0.5;
        let frame = Frame {
            caption: "optimization history",
            x_desc: "trial",
            y_desc: &self.metric,
            x: -0.5..x1,
            y: y0..y1,
        };
        render_with_legend(frame, |chart| {
            self.draw_points(chart, y0 + 0.6 * pad)
                .map_err(|e| e.to_string())
        })
    }

    /// Draws the trials' markers (those without a value at height `edge`) and the best-so-far
    /// line; the legend's entries.
    fn draw_points<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        edge: f64,
    ) -> Result<Vec<(Mark, String)>, DrawingAreaErrorKind<DB::ErrorType>> {
        let (complete, pruned, failed) = (COLORS[0], COLORS[1], BLACK);
        let mut legend = vec![(Mark::Dot(complete), "complete".to_string())];
        let pts = self.valued(TrialState::Complete);
        chart.draw_series(
            pts.iter()
                .map(|&(n, v)| Circle::new((n as f64, v), 4, complete.filled())),
        )?;
        let pts = self.valued(TrialState::Pruned);
        if !pts.is_empty() {
            chart.draw_series(
                pts.iter()
                    .map(|&(n, v)| TriangleMarker::new((n as f64, v), 6, pruned.filled())),
            )?;
            legend.push((
                Mark::Triangle(pruned),
                "pruned (last reported value)".into(),
            ));
        }
        for p in self.unvalued() {
            let at = (p.number as f64, edge);
            if p.state == TrialState::Failed {
                chart.draw_series([Cross::new(at, 6, failed.stroke_width(2))])?;
            } else {
                chart.draw_series([TriangleMarker::new(at, 6, pruned.filled())])?;
            }
        }
        let n_failed = self
            .points
            .iter()
            .filter(|p| p.state == TrialState::Failed)
            .count();
        if n_failed > 0 {
            legend.push((
                Mark::Cross(failed),
                format!("failed: {n_failed} (no value; bottom)"),
            ));
        }
        let best = COLORS[3];
        chart.draw_series(LineSeries::new(self.best_steps(), best.stroke_width(2)))?;
        legend.push((Mark::Line(best), "best so far".into()));
        Ok(legend)
    }
}
