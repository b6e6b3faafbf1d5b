//! Line charts: learning-rate sweeps, loss and accuracy curves, drift over time.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{Area, COLORS, Png, SIZE, bounds, format_number, render};

/// Lines with at most this many points get a dot at each point.
pub const MARKED_POINTS: usize = 24;

/// One named line.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points joined in order; points with a non-finite coordinate are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A line chart: title, axis labels, lines, unjoined dots and an optional labelled point.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// Caption above the chart.
    pub title: String,
    /// Description of the x axis.
    pub x_label: String,
    /// Description of the y axis.
    pub y_label: String,
    /// Logarithmic x axis (learning-rate sweeps).
    pub log_x: bool,
    /// The lines, coloured in turn from the palette; one of at most [`MARKED_POINTS`] points
    /// has each point marked.
    pub series: Vec<Series>,
    /// Draw the first line faint (a noisy series under its smoothed copy).
    pub faint_first: bool,
    /// Series drawn as unjoined dots, in the colours after the lines'.
    pub dots: Vec<Series>,
    /// `(x, y, label)`: a red dot at `(x, y)`, named `label` in the legend.
    pub marker: Option<(f64, f64, String)>,
    /// Draw the legend (when there is more than one line or a marker).
    pub legend: bool,
    /// Number of x-axis labels; `None` lets plotters choose.
    pub x_labels: Option<usize>,
}

impl LineChart {
    /// Renders the chart; an error when no point is finite.
    pub fn to_png(&self) -> Result<Png, String> {
        let points = self
            .series
            .iter()
            .chain(&self.dots)
            .flat_map(|s| s.points.iter());
        let finite: Vec<(f64, f64)> = points
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if finite.is_empty() {
            return Err("nothing to draw: no finite point".into());
        }
        let (x_min, x_max) = bounds(finite.iter().map(|p| p.0));
        let (y_min, y_max) = bounds(finite.iter().map(|p| p.1));
        let y_pad = ((y_max - y_min) * 0.05).max(y_max.abs() * 1e-3).max(1e-12);
        let y_range = (y_min - y_pad)..(y_max + y_pad);
        render(SIZE, |root| {
            if self.log_x {
                let x = (x_min..x_max.max(x_min * 1.0001)).log_scale();
                self.draw(root, x, y_range)
            } else {
                let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
                self.draw(root, x_min..x_max, y_range)
            }
        })
    }

    fn draw<X>(&self, root: &Area, x: X, y: std::ops::Range<f64>) -> Result<(), String>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x, y)
            .map_err(|e| e.to_string())?;
        let mut mesh = chart.configure_mesh();
        if let Some(n) = self.x_labels {
            mesh.x_labels(n);
        }
        mesh.x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 14))
            .y_label_formatter(&|v| format_number(*v))
            .x_label_formatter(&|v| format_number(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, series) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let style = if self.faint_first && i == 0 {
                color.mix(0.3).stroke_width(1)
            } else {
                color.stroke_width(2)
            };
            chart
                .draw_series(LineSeries::new(finite(series), style))
                .map_err(|e| e.to_string())?
                .label(series.name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            // A short series (a few epochs) is a few measurements, not a curve: each one is
            // marked so that the line between them is not read as data.
            if finite(series).count() <= MARKED_POINTS && !(self.faint_first && i == 0) {
                let dots = finite(series).map(|p| Circle::new(p, 4, color.filled()));
                chart.draw_series(dots).map_err(|e| e.to_string())?;
            }
        }
        for (i, series) in self.dots.iter().enumerate() {
            let color = COLORS[(self.series.len() + i) % COLORS.len()];
            let points = finite(series).map(|p| Circle::new(p, 5, color.filled()));
            chart
                .draw_series(points)
                .map_err(|e| e.to_string())?
                .label(series.name.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
        }
        if let Some((mx, my, label)) = &self.marker {
            chart
                .draw_series([Circle::new((*mx, *my), 7, RED.filled())])
                .map_err(|e| e.to_string())?
                .label(label.as_str())
                .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
        }
        if self.legend && (self.series.len() + self.dots.len() > 1 || self.marker.is_some()) {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

fn finite(series: &Series) -> impl Iterator<Item = (f64, f64)> + '_ {
    series
        .points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_scale_chart_renders_and_an_empty_one_is_an_error() {
        let chart = LineChart {
            title: "lr".into(),
            x_label: "epoch".into(),
            y_label: "learning rate".into(),
            log_x: true,
            series: vec![Series {
                name: "lr".into(),
                points: (1..50).map(|i| (1e-5 * 1.3f64.powi(i), i as f64)).collect(),
            }],
            marker: Some((1e-3, 10.0, "suggested".into())),
            legend: true,
            ..LineChart::default()
        };
        let png = chart.to_png().unwrap();
        assert_eq!(&png.as_bytes()[..8], crate::chart::tests::PNG_SIGNATURE);
        let empty = LineChart {
            series: vec![Series {
                name: "nan".into(),
                points: vec![(f64::NAN, 1.0)],
            }],
            marker: None,
            ..chart
        };
        assert!(empty.to_png().unwrap_err().contains("nothing to draw"));
    }
}
