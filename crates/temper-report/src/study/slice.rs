//! Slices: the objective against each parameter on its own, one panel per parameter, as
//! Optuna's `plot_slice` (`optuna/visualization/_slice.py`): complete trials only, points
//! coloured by trial number (later trials darker, as Optuna's `Blues` marker scale), a log
//! axis for a log parameter and the choices for a categorical one.
//!
//! The panels share the objective's range, so that heights compare across panels. On a
//! categorical axis the points of one choice would sit on one vertical line; each is drawn
//! shifted sideways within a fifth of its band by a fixed amount derived from its trial
//! number (the golden-ratio sequence), which separates them without hiding the choice.

use plotters::prelude::*;
use temper_tune::{Space, Trial};

use super::color::{draw_color_bar, viridis};
use super::scale::{Axis, Scale, TickedRange};
use crate::chart::{Area, Png, bounds, format_number, render};

/// One complete trial in one panel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlicePoint {
    /// The trial's number.
    pub number: u64,
    /// The parameter's position on the panel's axis.
    pub position: f64,
    /// The objective value.
    pub value: f64,
}

/// One parameter's panel.
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePanel {
    /// The parameter and its axis.
    pub axis: Axis,
    /// The complete trials that hold the parameter.
    pub points: Vec<SlicePoint>,
}

/// The data of the slice chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceChart {
    /// The objective's name (y axes).
    pub metric: String,
    /// One panel per parameter, in the space's order.
    pub panels: Vec<SlicePanel>,
    /// The largest trial number coloured (the colour bar's top).
    pub last_number: u64,
}

/// Panels per row.
const COLUMNS: usize = 3;
/// One panel's size in pixels.
const PANEL: (u32, u32) = (420, 330);

impl SliceChart {
    /// The chart of `trials`' complete trials over `space`'s parameters.
    pub fn build(trials: &[Trial], space: &Space, metric: &str) -> SliceChart {
        let complete: Vec<(&Trial, f64)> = trials
            .iter()
            .filter_map(|t| Some((t, t.complete_value().filter(|v| v.is_finite())?)))
            .collect();
        let panels = space
            .params()
            .iter()
            .map(|spec| {
                let observed = complete
                    .iter()
                    .filter_map(|(t, _)| t.params.get(&spec.name));
                let scale = Scale::for_param(spec, observed);
                let points = complete
                    .iter()
                    .filter_map(|(t, v)| {
                        Some(SlicePoint {
                            number: t.number,
                            position: scale.position(t.params.get(&spec.name)?)?,
                            value: *v,
                        })
                    })
                    .collect();
                SlicePanel {
                    axis: Axis {
                        name: spec.name.clone(),
                        scale,
                    },
                    points,
                }
            })
            .collect();
        SliceChart {
            metric: metric.to_string(),
            panels,
            last_number: complete.iter().map(|c| c.0.number).max().unwrap_or(0),
        }
    }

    /// The colour of trial `number`: viridis from its light end (trial 0) to its dark end
    /// (the last trial).
    pub fn color(&self, number: u64) -> RGBColor {
        viridis(1.0 - number as f64 / self.last_number.max(1) as f64)
    }

    /// Draws the panels in a grid of up to three columns; an error without a point.
    pub fn to_png(&self) -> Result<Png, String> {
        let all = || self.panels.iter().flat_map(|p| p.points.iter());
        if all().next().is_none() {
            return Err("nothing to draw: no complete trial".into());
        }
        let (lo, hi) = bounds(all().map(|p| p.value));
        let pad = ((hi - lo) * 0.06).max(hi.abs() * 1e-3).max(1e-9);
        let y = (lo - pad)..(hi + pad);
        let cols = self.panels.len().clamp(1, COLUMNS);
        let rows = self.panels.len().div_ceil(cols);
        let bar = 110;
        let size = (PANEL.0 * cols as u32 + bar, PANEL.1 * rows as u32 + 50);
        render(size, |root| {
            let e = |e: DrawingAreaErrorKind<_>| e.to_string();
            let root = root
                .margin(10, 0, 0, 0)
                .titled("slice plot", ("sans-serif", 24))
                .map_err(e)?;
            let (grid, side) = root.split_horizontally(size.0 - bar);
            for (panel, area) in self.panels.iter().zip(grid.split_evenly((rows, cols))) {
                self.draw_panel(&area, panel, y.clone())?;
            }
            let trials = Scale::linear(0.0, self.last_number.max(1) as f64, true);
            let side = side.margin(40, 60, 0, 0);
            draw_color_bar(&side, &trials, "trial", |v| self.color(v.round() as u64))
        })
    }

    fn draw_panel(
        &self,
        area: &Area,
        panel: &SlicePanel,
        y: std::ops::Range<f64>,
    ) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let scale = &panel.axis.scale;
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(TickedRange::new(scale, -0.04..1.04), y)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(&panel.axis.name)
            .y_desc(&self.metric)
            .label_style(("sans-serif", 13))
            .x_label_formatter(&|p| scale.label_at(*p))
            .y_label_formatter(&|v| format_number(*v))
            .y_labels(6)
            .max_light_lines(1)
            .draw()
            .map_err(e)?;
        let band = match scale {
            Scale::Categories(names) => 1.0 / names.len().max(1) as f64,
            _ => 0.0,
        };
        chart
            .draw_series(panel.points.iter().map(|p| {
                let shift = ((p.number as f64 * 0.618_033_988_749_895).fract() - 0.5) * 0.4 * band;
                let color = self.color(p.number);
                EmptyElement::at((p.position + shift, p.value))
                    + Circle::new((0, 0), 5, color.filled())
                    + Circle::new((0, 0), 5, BLACK.mix(0.5))
            }))
            .map_err(e)?;
        Ok(())
    }
}
