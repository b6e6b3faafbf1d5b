//! A legend drawn beside a chart rather than over it, so that it hides no point: plotters'
//! own legend sits inside the plot and is clipped to it.

use plotters::prelude::*;

use crate::chart::Area;

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
