//! The learning curves of the trials: each trial's reported values by step (epoch), as
//! Optuna's `plot_intermediate_values` (`optuna/visualization/_intermediate_values.py`).
//!
//! Optuna gives each trial its own colour, which stops being readable past ten trials; here
//! the style says how the trial ended — complete trials solid blue, pruned ones orange and
//! cut short with an × at their last report, failed ones red ending in a square, running ones
//! dashed grey — so that the chart shows where the pruner stopped trials against the curves
//! that ran to the end.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use temper_tune::{Trial, TrialState};

use super::legend::{Frame, Mark, render_with_legend};
use crate::chart::{COLORS, Png, bounds};

/// One trial's reported values.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The trial's number.
    pub number: u64,
    /// How (or whether) it ended.
    pub state: TrialState,
    /// `(step, value)` in step order, finite values only.
    pub points: Vec<(u64, f64)>,
}

/// The data of the intermediate-values chart.
#[derive(Debug, Clone, PartialEq)]
pub struct IntermediateChart {
    /// The reported metric's name (y axis).
    pub metric: String,
    /// One curve per trial that reported a finite value, in number order.
    pub curves: Vec<Curve>,
}

impl IntermediateChart {
    /// The chart of `trials`.
    pub fn build(trials: &[Trial], metric: &str) -> IntermediateChart {
        let mut curves: Vec<Curve> = trials
            .iter()
            .map(|t| Curve {
                number: t.number,
                state: t.state,
                points: t
                    .intermediate
                    .iter()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(s, v)| (*s, *v))
                    .collect(),
            })
            .filter(|c| !c.points.is_empty())
            .collect();
        curves.sort_by_key(|c| c.number);
        IntermediateChart {
            metric: metric.to_string(),
            curves,
        }
    }

    /// Draws the chart; an error when no trial reported a value.
    pub fn to_png(&self) -> Result<Png, String> {
        let all = || self.curves.iter().flat_map(|c| c.points.iter());
        if all().next().is_none() {
            return Err("nothing to draw: no trial reported a value".into());
        }
        let (s0, s1) = bounds(all().map(|p| p.0 as f64));
        let (lo, hi) = bounds(all().map(|p| p.1));
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-3).max(1e-9);
        let frame = Frame {
            caption: "intermediate values",
            x_desc: "step",
            y_desc: &self.metric,
            x: (s0 - 0.3)..(s1.max(s0 + 1.0) + 0.3),
            y: (lo - pad)..(hi + pad),
        };
        render_with_legend(frame, |chart| {
            // Complete curves first, so the cut-short ones stay visible on top.
            let mut legend = Vec::new();
            for state in [
                TrialState::Complete,
                TrialState::Running,
                TrialState::Failed,
                TrialState::Pruned,
            ] {
                if let Some(entry) = self.draw_state(chart, state).map_err(|e| e.to_string())? {
                    legend.push(entry);
                }
            }
            Ok(legend)
        })
    }

    /// Draws the curves of trials in `state`; their legend entry, if there are any.
    fn draw_state<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        state: TrialState,
    ) -> Result<Option<(Mark, String)>, DrawingAreaErrorKind<DB::ErrorType>> {
        let curves: Vec<&Curve> = self.curves.iter().filter(|c| c.state == state).collect();
        let (color, mark, name) = match state {
            TrialState::Complete => (COLORS[0], Mark::Line(COLORS[0]), "complete"),
            TrialState::Pruned => (
                COLORS[1],
                Mark::Cross(COLORS[1]),
                "pruned (x where stopped)",
            ),
            TrialState::Failed => (COLORS[3], Mark::Square(COLORS[3]), "failed"),
            TrialState::Running => (COLORS[7], Mark::Dashed(COLORS[7]), "running"),
        };
        let line = color.mix(0.75).stroke_width(2);
        for c in &curves {
            let pts: Vec<(f64, f64)> = c.points.iter().map(|&(s, v)| (s as f64, v)).collect();
            let end = *pts.last().expect("a curve has a point");
            if state == TrialState::Running {
                chart.draw_series(DashedLineSeries::new(pts, 6, 4, line))?;
            } else {
                chart.draw_series(LineSeries::new(pts, line))?;
            }
            // The end marker: × where the pruner stopped, a square where the trial failed.
            match state {
                TrialState::Pruned => {
                    chart.draw_series([Cross::new(end, 6, color.stroke_width(3))])?
                }
                TrialState::Failed => {
                    chart
                        .draw_series([EmptyElement::at(end)
                            + Rectangle::new([(-4, -4), (4, 4)], color.filled())])?
                }
                _ => chart.draw_series([Circle::new(end, 3, color.filled())])?,
            };
        }
        Ok((!curves.is_empty()).then(|| (mark, format!("{name}: {}", curves.len()))))
    }
}
