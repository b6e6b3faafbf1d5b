//! The contour plot of the objective over the two most important numeric parameters, as
//! Optuna's `plot_contour` (`optuna/visualization/matplotlib/_contour.py`) draws one pair.
//!
//! As in Optuna: complete trials that hold both parameters; a grid of 100 × 100 nodes evenly
//! spaced over each axis (in log space for a log parameter; `CONTOUR_POINT_NUM = 100`); each
//! trial's value put on its nearest node (`_create_zmap`) and the other nodes filled by the
//! discrete Laplace equation ([`interpolate`], Optuna's `_interpolate_zmap`); the fill cut
//! into 15 colour bands with a thin dark line between bands (`contourf(..., 15)` and
//! `contour(..., 15, colors="k")`), the trials drawn on top as black dots. The grid spans the
//! parameters' declared ranges where Optuna pads the values seen by 5%: the same span
//! as the slice and parallel axes, and the empty corners of the space stay visibly flat.
//! Categorical parameters are left out (Optuna interpolates between category indices, which
//! invents values between unordered choices): the pair is the two numeric parameters first in
//! the importance order, else the first two numeric ones of the space.

use plotters::prelude::*;
use temper_tune::{Direction, Space, Trial};

use super::color::{ObjectiveColors, draw_color_bar, viridis};
pub use super::laplace::interpolate;
use super::scale::{Axis, Scale, TickedRange};
use crate::chart::{Area, Png, render};

/// Grid nodes along each axis (Optuna's `CONTOUR_POINT_NUM`).
pub const GRID: usize = 100;
/// Colour bands of the fill (the 15 levels Optuna asks `contourf` for).
pub const BANDS: usize = 15;

/// One trial on the contour plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContourPoint {
    /// The trial's number.
    pub number: u64,
    /// Position on the x axis.
    pub x: f64,
    /// Position on the y axis.
    pub y: f64,
    /// The objective value.
    pub value: f64,
}

/// The data of the contour plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ContourChart {
    /// The more important parameter, across.
    pub x: Axis,
    /// The other, upwards.
    pub y: Axis,
    /// The objective's name (colour bar).
    pub metric: String,
    /// The complete trials that hold both parameters.
    pub points: Vec<ContourPoint>,
    /// The interpolated objective, `GRID × GRID` row-major: `grid[iy * GRID + ix]` at positions
    /// `(ix / (GRID - 1), iy / (GRID - 1))`.
    pub grid: Vec<f64>,
    /// The fill's colours.
    pub colors: ObjectiveColors,
}

/// The grid node nearest to `position` (clamped into the grid).
pub fn node(position: f64) -> usize {
    (position * (GRID - 1) as f64)
        .round()
        .clamp(0.0, (GRID - 1) as f64) as usize
}

impl ContourChart {
    /// The chart, or `None` with fewer than two numeric parameters, fewer than three complete
    /// trials holding both, or a single distinct value on either axis.
    pub fn build(
        trials: &[Trial],
        space: &Space,
        direction: Direction,
        metric: &str,
        importance: &[(String, f64)],
    ) -> Option<ContourChart> {
        let mut numeric: Vec<_> = space
            .params()
            .iter()
            .filter(|p| !p.is_categorical())
            .collect();
        let weight = |name: &str| importance.iter().find(|i| i.0 == name).map_or(0.0, |i| i.1);
        // Stable: equal importances (none given) keep the space's order.
        numeric.sort_by(|a, b| weight(&b.name).total_cmp(&weight(&a.name)));
        let (xs, ys) = (*numeric.first()?, *numeric.get(1)?);
        let complete: Vec<(&Trial, f64)> = trials
            .iter()
            .filter_map(|t| Some((t, t.complete_value().filter(|v| v.is_finite())?)))
            .collect();
        let axis = |spec: &temper_tune::ParamSpec| Axis {
            name: spec.name.clone(),
            scale: Scale::for_param(
                spec,
                complete
                    .iter()
                    .filter_map(|(t, _)| t.params.get(&spec.name)),
            ),
        };
        let (x, y) = (axis(xs), axis(ys));
        let points: Vec<ContourPoint> = complete
            .iter()
            .filter_map(|(t, v)| {
                Some(ContourPoint {
                    number: t.number,
                    x: x.scale.position(t.params.get(&x.name)?)?,
                    y: y.scale.position(t.params.get(&y.name)?)?,
                    value: *v,
                })
            })
            .collect();
        let distinct = |f: fn(&ContourPoint) -> f64| {
            let mut v: Vec<f64> = points.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v.len()
        };
        if points.len() < 3 || distinct(|p| p.x) < 2 || distinct(|p| p.y) < 2 {
            return None;
        }
        let known: Vec<(usize, usize, f64)> = points
            .iter()
            .map(|p| (node(p.x), node(p.y), p.value))
            .collect();
        Some(ContourChart {
            colors: ObjectiveColors::new(points.iter().map(|p| p.value), direction),
            grid: interpolate(GRID, &known),
            metric: metric.to_string(),
            x,
            y,
            points,
        })
    }

    /// The band (0 = best) of `value`.
    pub fn band(&self, value: f64) -> usize {
        ((self.colors.shade(value) * BANDS as f64).floor().max(0.0) as usize).min(BANDS - 1)
    }

    /// The fill colour of `value`: the centre of its band on the colour map.
    pub fn band_color(&self, value: f64) -> RGBColor {
        viridis((self.band(value) as f64 + 0.5) / BANDS as f64)
    }

    /// The interpolated value at positions `(u, v)` in [0, 1]², bilinear between nodes.
    pub fn value_at(&self, u: f64, v: f64) -> f64 {
        let last = (GRID - 1) as f64;
        let (fx, fy) = (u.clamp(0.0, 1.0) * last, v.clamp(0.0, 1.0) * last);
        let (ix, iy) = (
            (fx.floor() as usize).min(GRID - 2),
            (fy.floor() as usize).min(GRID - 2),
        );
        let (tx, ty) = (fx - ix as f64, fy - iy as f64);
        let z = |x: usize, y: usize| self.grid[y * GRID + x];
        let bottom = z(ix, iy) * (1.0 - tx) + z(ix + 1, iy) * tx;
        let top = z(ix, iy + 1) * (1.0 - tx) + z(ix + 1, iy + 1) * tx;
        bottom * (1.0 - ty) + top * ty
    }

    /// Draws the chart.
    pub fn to_png(&self) -> Result<Png, String> {
        let size = (840, 680);
        let bar = 110;
        render(size, |root| {
            let (main, side) = root.split_horizontally(size.0 - bar);
            self.draw_main(&main)?;
            let side = side.margin(60, 60, 0, 0);
            let scale = Scale::linear(self.colors.lo, self.colors.hi, false);
            draw_color_bar(&side, &scale, &self.metric, |v| self.band_color(v))
        })
    }

    fn draw_main(&self, area: &Area) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        const PAD: f64 = 0.03;
        let mut chart = ChartBuilder::on(area)
            .caption("contour plot", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(
                TickedRange::new(&self.x.scale, -PAD..1.0 + PAD),
                TickedRange::new(&self.y.scale, -PAD..1.0 + PAD),
            )
            .map_err(e)?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        let base = area.get_base_pixel();
        let to_unit = |p: i32, r: &std::ops::Range<i32>| {
            -PAD + (p - r.start) as f64 / (r.end - r.start - 1).max(1) as f64 * (1.0 + 2.0 * PAD)
        };
        let band_at = |x: i32, y: i32| -> Option<usize> {
            let (u, v) = (to_unit(x, &px), 1.0 - to_unit(y, &py));
            ((0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v))
                .then(|| self.band(self.value_at(u, v)))
        };
        for x in px.clone() {
            for y in py.clone() {
                let Some(band) = band_at(x, y) else { continue };
                let edge = [(x + 1, y), (x, y + 1)]
                    .iter()
                    .any(|&(a, b)| band_at(a, b).is_some_and(|o| o != band));
                let c = viridis((band as f64 + 0.5) / BANDS as f64);
                let c = if edge {
                    RGBColor(c.0 / 2, c.1 / 2, c.2 / 2)
                } else {
                    c
                };
                area.draw_pixel((x - base.0, y - base.1), &c).map_err(e)?;
            }
        }
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x.name)
            .y_desc(&self.y.name)
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|p| self.x.scale.label_at(*p))
            .y_label_formatter(&|p| self.y.scale.label_at(*p))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(self.points.iter().map(|p| {
                EmptyElement::at((p.x, p.y))
                    + Circle::new((0, 0), 5, BLACK.filled())
                    + Circle::new((0, 0), 5, RGBColor(190, 190, 190).stroke_width(2))
            }))
            .map_err(e)?;
        Ok(())
    }
}
