//! Parallel coordinates: one vertical axis per parameter plus the objective, one line per
//! complete trial, as Optuna's `plot_parallel_coordinate`
//! (`optuna/visualization/_parallel_coordinate.py`).
//!
//! As in Optuna: complete trials only, the objective's axis first, lines coloured by the
//! objective with a colour bar, log axes labelled at powers of ten, categorical axes at their
//! choices. Unlike Optuna, which leaves out every trial that lacks one of the plotted
//! parameters, a trial without a conditional parameter (momentum for an Adam trial) keeps its
//! line everywhere else and has `None` on that axis: the line *breaks* there — it stops at
//! the axis before and resumes at the axis after. Joining the neighbours instead would cross
//! the axis at a height that reads as a value the trial never had, and would crowd the axis
//! with lines that say nothing about it. The axes follow the space's order (parents before
//! the parameters that depend on them) rather than Optuna's alphabetical order, so that a
//! condition sits left of what it enables. Each axis spans its parameter's declared range,
//! not only the values tried, so that the chart shows where the sampler went. The best
//! trial is drawn last, thicker and outlined, and named in the caption.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use temper_tune::{Direction, Space, Trial};

use super::color::{ObjectiveColors, draw_color_bar};
use super::scale::{Axis, Scale};
use crate::chart::{Area, Png, SIZE, format_number, render};

/// One complete trial's line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelLine {
    /// The trial's number.
    pub number: u64,
    /// Its objective value.
    pub value: f64,
    /// Its position on each axis, in [`ParallelChart::axes`]' order; `None` where the trial
    /// has no value for the parameter (a conditional one not active).
    pub positions: Vec<Option<f64>>,
}

impl ParallelLine {
    /// The runs of consecutive axes the line touches, as `(axis index, position)`: the line
    /// breaks at every axis where it is `None`.
    pub fn segments(&self) -> Vec<Vec<(usize, f64)>> {
        let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut run = Vec::new();
        for (i, p) in self.positions.iter().enumerate() {
            match p {
                Some(p) => run.push((i, *p)),
                None if !run.is_empty() => out.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        if !run.is_empty() {
            out.push(run);
        }
        out
    }
}

/// The data of the parallel-coordinate chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelChart {
    /// The objective's axis first, then one per parameter in the space's order.
    pub axes: Vec<Axis>,
    /// One line per complete trial with a finite value, in drawing order: worst first, the
    /// best trial last.
    pub lines: Vec<ParallelLine>,
    /// The best trial's number (drawn last, emphasised); `None` without complete trials.
    pub best: Option<u64>,
    /// The lines' colours.
    pub colors: ObjectiveColors,
}

impl ParallelChart {
    /// The chart of `trials`' complete trials over `space`'s parameters.
    pub fn build(
        trials: &[Trial],
        space: &Space,
        direction: Direction,
        metric: &str,
    ) -> ParallelChart {
        let complete: Vec<(&Trial, f64)> = trials
            .iter()
            .filter_map(|t| Some((t, t.complete_value().filter(|v| v.is_finite())?)))
            .collect();
        let values = || complete.iter().map(|c| c.1);
        let (lo, hi) = crate::chart::bounds(values());
        let mut axes = vec![Axis {
            name: metric.to_string(),
            scale: Scale::linear(lo, hi, false),
        }];
        for spec in space.params() {
            let observed = complete
                .iter()
                .filter_map(|(t, _)| t.params.get(&spec.name));
            axes.push(Axis {
                name: spec.name.clone(),
                scale: Scale::for_param(spec, observed),
            });
        }
        let colors = ObjectiveColors::new(values(), direction);
        let mut lines: Vec<ParallelLine> = complete
            .iter()
            .map(|(t, v)| {
                let mut positions = vec![axes[0].scale.position_of(*v)];
                positions.extend(space.params().iter().zip(&axes[1..]).map(|(spec, axis)| {
                    t.params
                        .get(&spec.name)
                        .and_then(|p| axis.scale.position(p))
                }));
                ParallelLine {
                    number: t.number,
                    value: *v,
                    positions,
                }
            })
            .collect();
        // Worst first; among equal values the lowest number last, the trial a study names best.
        lines.sort_by(|a, b| {
            colors
                .shade(b.value)
                .total_cmp(&colors.shade(a.value))
                .then(b.number.cmp(&a.number))
        });
        ParallelChart {
            best: lines.last().map(|l| l.number),
            axes,
            lines,
            colors,
        }
    }

    /// The colour of `line`.
    pub fn color(&self, line: &ParallelLine) -> RGBColor {
        self.colors.color(line.value)
    }

    /// Draws the chart; an error when there is no complete trial.
    pub fn to_png(&self) -> Result<Png, String> {
        let best = self
            .lines
            .last()
            .ok_or("nothing to draw: no complete trial")?;
        let bar = 110u32;
        let width = SIZE.0.max(170 * self.axes.len() as u32 + 120 + bar);
        let caption = format!(
            "parallel coordinates (best: trial {}, {} = {})",
            best.number,
            self.axes[0].name,
            format_number(best.value)
        );
        render((width, SIZE.1), |root| {
            let (main, side) = root.split_horizontally(width - bar);
            self.draw_lines(&main, &caption)?;
            let side = side.margin(70, 60, 0, 0);
            draw_color_bar(&side, &self.axes[0].scale, &self.axes[0].name, |v| {
                self.colors.color(v)
            })
        })
    }

    fn draw_lines(&self, area: &Area, caption: &str) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let k = self.axes.len() as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 22))
            .margin(20)
            .margin_left(70)
            .x_label_area_size(50)
            .build_cartesian_2d(-0.35..(k - 0.65), -0.03..1.03)
            .map_err(e)?;
        for line in &self.lines {
            let emphasised = Some(line.number) == self.best;
            let color = self.color(line);
            for seg in line.segments() {
                let pts: Vec<(f64, f64)> = seg.iter().map(|&(i, p)| (i as f64, p)).collect();
                if emphasised {
                    chart
                        .draw_series([PathElement::new(pts.clone(), BLACK.stroke_width(7))])
                        .map_err(e)?;
                    chart
                        .draw_series([PathElement::new(pts.clone(), color.stroke_width(4))])
                        .map_err(e)?;
                } else if pts.len() == 1 {
                    chart
                        .draw_series([Circle::new(pts[0], 3, color.filled())])
                        .map_err(e)?;
                } else {
                    chart
                        .draw_series([PathElement::new(pts, color.mix(0.85).stroke_width(2))])
                        .map_err(e)?;
                }
            }
        }
        for (i, axis) in self.axes.iter().enumerate() {
            let x = i as f64;
            let base = chart.backend_coord(&(x, 0.0));
            let top = chart.backend_coord(&(x, 1.0));
            let bottom = chart.backend_coord(&(x, -0.03));
            area.draw(&PathElement::new([base, top], BLACK.stroke_width(2)))
                .map_err(e)?;
            for tick in axis.scale.ticks() {
                let at = chart.backend_coord(&(x, tick.position));
                area.draw(&PathElement::new([(at.0 - 5, at.1), at], BLACK))
                    .map_err(e)?;
                boxed_label(area, &tick.label, (at.0 - 8, at.1), HPos::Right, 13)?;
            }
            let name = short_name(&axis.name);
            boxed_label(area, &name, (bottom.0, bottom.1 + 22), HPos::Center, 15)?;
        }
        Ok(())
    }
}

/// Names longer than 20 characters shortened to 17 and "...", as Optuna labels its axes.
fn short_name(name: &str) -> String {
    if name.chars().count() < 20 {
        name.to_string()
    } else {
        format!("{}...", name.chars().take(17).collect::<String>())
    }
}

/// `text` at `at` on a translucent white box, so that the lines under it do not hide it.
fn boxed_label(area: &Area, text: &str, at: (i32, i32), h: HPos, size: u32) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let font = ("sans-serif", size).into_font();
    let (w, ht) = font.box_size(text).map_err(|e| e.to_string())?;
    let (w, ht) = (w as i32, ht as i32);
    let x0 = match h {
        HPos::Right => at.0 - w,
        HPos::Center => at.0 - w / 2,
        HPos::Left => at.0,
    };
    let y0 = at.1 - ht / 2;
    area.draw(&Rectangle::new(
        [(x0 - 2, y0 - 1), (x0 + w + 2, y0 + ht + 1)],
        WHITE.mix(0.8).filled(),
    ))
    .map_err(e)?;
    let style = TextStyle::from(font).pos(Pos::new(h, VPos::Center));
    area.draw(&Text::new(text.to_string(), at, style))
        .map_err(e)
}
