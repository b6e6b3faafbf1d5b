//! PNG line charts for run directories and the CLI (plotters, bitmap backend).
//!
//! Text is drawn with DejaVu Sans compiled in from `assets/fonts/`, so charts render the same
//! on a machine without any system font. Files are drawn to a temporary name beside the
//! target and renamed, like every other file temper writes.

use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::TrainError;
use crate::run::run_dir::{sync_parent, temp_path};

static FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));
static REGISTER: Once = Once::new();

const SIZE: (u32, u32) = (900, 540);
const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// One named line.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points joined in order; points with a non-finite coordinate are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A line chart: title, axis labels, lines, and an optional labelled point.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Caption above the chart.
    pub title: String,
    /// Description of the x axis.
    pub x_label: String,
    /// Description of the y axis.
    pub y_label: String,
    /// Logarithmic x axis (learning-rate sweeps).
    pub log_x: bool,
    /// The lines, coloured in turn from a palette of four.
    pub series: Vec<Series>,
    /// `(x, y, label)`: a red dot at `(x, y)`, named `label` in the legend.
    pub marker: Option<(f64, f64, String)>,
    /// Draw the legend (when there is more than one line or a marker).
    pub legend: bool,
    /// Number of x-axis labels; `None` lets plotters choose.
    pub x_labels: Option<usize>,
}

impl LineChart {
    /// Draws the chart to a PNG file at `path`.
    pub fn write_png(&self, path: &Path) -> Result<(), TrainError> {
        self.write_png_with(path, false, &[])
    }

    /// Draws the chart with its first line faint (a noisy series under its smoothed copy)
    /// when `faint_first`, and `dots` as unjoined points in the colours after the lines'.
    pub(crate) fn write_png_with(
        &self,
        path: &Path,
        faint_first: bool,
        dots: &[Series],
    ) -> Result<(), TrainError> {
        let points = self.series.iter().chain(dots).flat_map(|s| s.points.iter());
        let finite: Vec<(f64, f64)> = points
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if finite.is_empty() {
            return Err(TrainError::Plot {
                path: path.to_path_buf(),
                message: "nothing to draw: no finite point".into(),
            });
        }
        let (x_min, x_max) = bounds(finite.iter().map(|p| p.0));
        let (y_min, y_max) = bounds(finite.iter().map(|p| p.1));
        let y_pad = ((y_max - y_min) * 0.05).max(y_max.abs() * 1e-3).max(1e-12);
        let y_range = (y_min - y_pad)..(y_max + y_pad);

        draw_to(path, |file| {
            if self.log_x {
                let x = (x_min..x_max.max(x_min * 1.0001)).log_scale();
                self.draw(file, x, y_range, faint_first, dots)
            } else {
                let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
                self.draw(file, x_min..x_max, y_range, faint_first, dots)
            }
        })
    }

    fn draw<X>(
        &self,
        file: &Path,
        x: X,
        y: std::ops::Range<f64>,
        faint_first: bool,
        dots: &[Series],
    ) -> Result<(), String>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let root = BitMapBackend::new(file, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
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
            let style = if faint_first && i == 0 {
                color.mix(0.3).stroke_width(1)
            } else {
                color.stroke_width(2)
            };
            let line = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite());
            chart
                .draw_series(LineSeries::new(line, style))
                .map_err(|e| e.to_string())?
                .label(series.name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        }
        for (i, series) in dots.iter().enumerate() {
            let color = COLORS[(self.series.len() + i) % COLORS.len()];
            let points = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|p| Circle::new(p, 5, color.filled()));
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
        if self.legend && (self.series.len() + dots.len() > 1 || self.marker.is_some()) {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())
    }
}

/// A bar chart: one labelled bar per entry.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Caption above the chart.
    pub title: String,
    /// `(label, height)` of each bar, left to right; the y axis starts at 0.
    pub bars: Vec<(String, f64)>,
}

impl BarChart {
    /// Draws the chart to a PNG file at `path`.
    pub fn write_png(&self, path: &Path) -> Result<(), TrainError> {
        draw_to(path, |file| self.draw(file))
    }

    fn draw(&self, file: &Path) -> Result<(), String> {
        let n = self.bars.len().max(1);
        let top = self
            .bars
            .iter()
            .map(|b| b.1)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-12)
            * 1.1;
        let root = BitMapBackend::new(file, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        let label = centre_labels(&labels);
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..n as f64, 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * n + 1)
            .label_style(("sans-serif", 14))
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format_number(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(self.bars.iter().enumerate().map(|(i, (_, v))| {
                let x = i as f64;
                Rectangle::new([(x + 0.1, 0.0), (x + 0.9, v.max(0.0))], COLORS[0].filled())
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    }
}

/// A confusion-matrix heatmap: cell shade is the count's share of its row, the count is printed.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Caption above the heatmap.
    pub title: String,
    /// Class names, labelling both the rows (true class) and the columns (predicted).
    pub labels: Vec<String>,
    /// `counts[row][column]`.
    pub counts: Vec<Vec<u64>>,
}

impl Heatmap {
    /// Draws the heatmap to a PNG file at `path`.
    pub fn write_png(&self, path: &Path) -> Result<(), TrainError> {
        draw_to(path, |file| self.draw(file))
    }

    fn draw(&self, file: &Path) -> Result<(), String> {
        let n = self.counts.len().max(1);
        let root = BitMapBackend::new(file, (720, 720)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let label = centre_labels(&self.labels);
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n as f64, n as f64..0.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted")
            .y_desc("true")
            .x_labels(2 * n + 1)
            .y_labels(2 * n + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        for (r, row) in self.counts.iter().enumerate() {
            let total: u64 = row.iter().sum();
            for (c, &count) in row.iter().enumerate() {
                let share = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let shade = (255.0 * (1.0 - share)) as u8;
                let (x, y) = (c as f64, r as f64);
                chart
                    .draw_series([Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        RGBColor(shade, shade, 255).filled(),
                    )])
                    .map_err(|e| e.to_string())?;
                let color = if share > 0.5 { WHITE } else { BLACK };
                chart
                    .draw_series([Text::new(
                        count.to_string(),
                        (x + 0.3, y + 0.4),
                        ("sans-serif", 13).into_font().color(&color),
                    )])
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())
    }
}

/// An axis label formatter for categories drawn over `[i, i + 1)`: the name of category `i` at
/// `i + 0.5` (ask for `2n + 1` labels so those positions are among the ticks), nothing else.
fn centre_labels(labels: &[String]) -> impl Fn(&f64) -> String + '_ {
    move |v: &f64| {
        let i = v.floor() as usize;
        if (*v - i as f64 - 0.5).abs() < 1e-9 {
            labels.get(i).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

fn register() {
    REGISTER.call_once(|| {
        // The font is a fixed, known-good file: failing to parse it is a build defect.
        register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "bundled font")
            .expect("assets/fonts/DejaVuSans.ttf parses");
    });
}

/// Draws with `draw` into a hidden temporary beside `path` (unique to this process and call,
/// ending in `.png` so the encoder picks PNG), flushes it, renames it into place and flushes
/// the directory; the temporary is removed on failure.
fn draw_to(path: &Path, draw: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), TrainError> {
    register();
    let tmp = temp_path(path, ".png");
    let result = draw(&tmp)
        .and_then(|()| {
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| e.to_string())
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    result.map_err(|message| {
        let _ = std::fs::remove_file(&tmp);
        TrainError::Plot {
            path: path.to_path_buf(),
            message,
        }
    })?;
    sync_parent(path)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Short labels: `0.001` as `1e-3`, plain numbers otherwise.
fn format_number(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-2..1e4).contains(&a) {
        format!("{v:.0e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_written_as_png_and_bad_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
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
            x_labels: None,
        };
        let path = dir.path().join("lr.png");
        chart.write_png(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // The PNG signature (ISO/IEC 15948, section 5.2).
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let empty = LineChart {
            series: vec![],
            marker: None,
            ..chart
        };
        let err = empty.write_png(&dir.path().join("e.png")).unwrap_err();
        assert!(err.to_string().contains("nothing to draw"), "{err}");
        assert_eq!(format_number(0.001), "1e-3");
        assert_eq!(format_number(0.25), "0.25");
    }
}
