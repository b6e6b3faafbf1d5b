//! The continuous colour map of the study charts and the colour bar that reads it.
//!
//! Objective values (parallel coordinates, contour) and trial numbers (slice) are coloured
//! with matplotlib's viridis (van der Walt & Smith, 2015), sampled here at 17 evenly spaced
//! stops of matplotlib 3.11's `colormaps["viridis"]` and interpolated linearly between them.
//! Optuna colours the same charts with plotly's single-hue `Blues`
//! (`optuna/visualization/_utils.py`, `COLOR_SCALE`), reversed so that the best value is the
//! darkest. Viridis keeps that reading — its lightness rises monotonically, so it prints in
//! grey in the same order, and the best trial is its darkest end (dark purple) in either
//! direction — while its hue also changes, which separates more levels than one hue can,
//! stays readable with the common colour-vision deficiencies, and keeps its light end
//! (yellow) visible on a white page where `Blues`' light end (#f7fbff) disappears.

use plotters::prelude::*;
use temper_tune::Direction;

use super::scale::{Scale, widen};
use crate::chart::Area;

/// matplotlib's viridis at `i / 16`, `i = 0..=16`.
pub const VIRIDIS: [RGBColor; 17] = [
    RGBColor(68, 1, 84),
    RGBColor(72, 24, 106),
    RGBColor(71, 45, 123),
    RGBColor(66, 64, 134),
    RGBColor(59, 82, 139),
    RGBColor(51, 99, 141),
    RGBColor(44, 114, 142),
    RGBColor(38, 130, 142),
    RGBColor(33, 145, 140),
    RGBColor(31, 160, 136),
    RGBColor(40, 174, 128),
    RGBColor(63, 188, 115),
    RGBColor(94, 201, 98),
    RGBColor(132, 212, 75),
    RGBColor(173, 220, 48),
    RGBColor(216, 226, 25),
    RGBColor(253, 231, 37),
];

/// Viridis at `t` in [0, 1] (clamped; NaN reads as 1), interpolated between the stops.
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 1.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + f * (q as f64 - p as f64)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Colours of objective values: the best value of the range gets viridis' dark end (0), the
/// worst its light end (1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectiveColors {
    /// Smallest value coloured.
    pub lo: f64,
    /// Largest value coloured.
    pub hi: f64,
    /// Which end is best.
    pub direction: Direction,
}

impl ObjectiveColors {
    /// The colours of `values`' range (a single value, or none, gets a unit range).
    pub fn new(values: impl Iterator<Item = f64>, direction: Direction) -> ObjectiveColors {
        let (lo, hi) = crate::chart::bounds(values.filter(|v| v.is_finite()));
        let (lo, hi) = widen(lo, hi);
        ObjectiveColors { lo, hi, direction }
    }

    /// Where `value` falls on the map: 0 at the best end of the range, 1 at the worst.
    pub fn shade(&self, value: f64) -> f64 {
        let t = (value - self.lo) / (self.hi - self.lo);
        match self.direction {
            Direction::Minimize => t,
            Direction::Maximize => 1.0 - t,
        }
    }

    /// The colour of `value`.
    pub fn color(&self, value: f64) -> RGBColor {
        viridis(self.shade(value))
    }
}

/// Draws a vertical colour bar on `area`: `color_of(v)` from `scale`'s low end (bottom) to
/// its high end (top), its ticks on the right and `label` above it.
pub(super) fn draw_color_bar(
    area: &Area,
    scale: &Scale,
    label: &str,
    color_of: impl Fn(f64) -> RGBColor,
) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let (top, bottom) = (60i32, h as i32 - 70);
    let (left, right) = (12i32, 32i32);
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let title = ("sans-serif", 14).into_font();
    let width = title.box_size(label).map(|b| b.0 as i32).unwrap_or(0);
    let x = (w as i32 - width).clamp(0, left);
    area.draw(&Text::new(label.to_string(), (x, top - 28), title))
        .map_err(e)?;
    let span = (bottom - top).max(1);
    for y in top..=bottom {
        let p = (bottom - y) as f64 / span as f64;
        let v = scale.value_at(p).unwrap_or(p);
        area.draw(&PathElement::new([(left, y), (right, y)], color_of(v)))
            .map_err(e)?;
    }
    area.draw(&Rectangle::new([(left, top), (right, bottom)], BLACK))
        .map_err(e)?;
    for tick in scale.ticks() {
        let y = bottom - (tick.position * span as f64).round() as i32;
        area.draw(&PathElement::new([(right, y), (right + 4, y)], BLACK))
            .map_err(e)?;
        area.draw(&Text::new(
            tick.label,
            (right + 7, y - 7),
            ("sans-serif", 13),
        ))
        .map_err(e)?;
    }
    Ok(())
}
