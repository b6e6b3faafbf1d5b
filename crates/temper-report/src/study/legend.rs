//! A legend drawn beside a chart rather than over it, so that it hides no point: plotters'
//! own legend sits inside the plot and is clipped to it.

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::chart::{Area, Png, SIZE, format_number, render};

/// Width kept right of a chart for its legend, in pixels.
pub(super) const LEGEND_WIDTH: u32 = 280;

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mark {
    /// A filled dot.
    Dot(RGBColor),
    /// A filled triangle.
    Triangle(RGBColor),
    /// An ×.
    Cross(RGBColor),
    /// A filled square.
    Square(RGBColor),
    /// A line segment.
    Line(RGBColor),
    /// A dashed line segment.
    Dashed(RGBColor),
}

/// Draws `entries` in a framed box at the top left of `area`.
pub(super) fn draw_legend(area: &Area, top: i32, entries: &[(Mark, String)]) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (row, left) = (22, 8);
    let (w, _) = area.dim_in_pixel();
    let bottom = top + 8 + row * entries.len() as i32;
    area.draw(&Rectangle::new(
        [(left, top), (w as i32 - 8, bottom)],
        WHITE.filled(),
    ))
    .map_err(e)?;
    area.draw(&Rectangle::new(
        [(left, top), (w as i32 - 8, bottom)],
        BLACK,
    ))
    .map_err(e)?;
    for (i, (mark, label)) in entries.iter().enumerate() {
        let y = top + 4 + row * i as i32 + row / 2;
        let x = left + 20;
        match *mark {
            Mark::Dot(c) => area.draw(&Circle::new((x, y), 4, c.filled())),
            Mark::Triangle(c) => area.draw(&TriangleMarker::new((x, y), 6, c.filled())),
            Mark::Cross(c) => area.draw(&Cross::new((x, y), 6, c.stroke_width(3))),
            Mark::Square(c) => area.draw(&Rectangle::new(
                [(x - 4, y - 4), (x + 4, y + 4)],
                c.filled(),
            )),
            Mark::Line(c) => area.draw(&PathElement::new(
                [(x - 12, y), (x + 12, y)],
                c.stroke_width(2),
            )),
            Mark::Dashed(c) => {
                for dx in [-12, -2, 8] {
                    area.draw(&PathElement::new(
                        [(x + dx, y), (x + dx + 5, y)],
                        c.stroke_width(2),
                    ))
                    .map_err(e)?;
                }
                Ok(())
            }
        }
        .map_err(e)?;
        area.draw(&Text::new(
            label.clone(),
            (x + 20, y - 8),
            ("sans-serif", 14),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// The plot of a chart over whole-numbered x values (trial numbers, steps).
pub(super) type Plot<'a> =
    ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// What [`render_with_legend`] draws around the data.
pub(super) struct Frame<'a> {
    /// Caption above the plot.
    pub caption: &'a str,
    /// Description of the x axis (labelled at whole numbers only).
    pub x_desc: &'a str,
    /// Description of the y axis.
    pub y_desc: &'a str,
    /// The x range.
    pub x: Range<f64>,
    /// The y range.
    pub y: Range<f64>,
}

/// Renders a chart of [`SIZE`] with a [`LEGEND_WIDTH`] strip beside it: `frame`'s caption
/// and axes, then `draw`'s data, whose returned entries make the legend.
pub(super) fn render_with_legend(
    frame: Frame<'_>,
    draw: impl FnOnce(&mut Plot<'_>) -> Result<Vec<(Mark, String)>, String>,
) -> Result<Png, String> {
    render((SIZE.0 + LEGEND_WIDTH, SIZE.1), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let (main, side) = root.split_horizontally(SIZE.0);
        let mut chart = ChartBuilder::on(&main)
            .caption(frame.caption, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(frame.x, frame.y)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|v| integer_label(*v))
            .y_label_formatter(&|v| format_number(*v))
            .draw()
            .map_err(e)?;
        let legend = draw(&mut chart)?;
        draw_legend(&side, 50, &legend)
    })
}

/// A whole-number label (a trial number, a step): integers only.
pub(super) fn integer_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v >= 0.0 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}
