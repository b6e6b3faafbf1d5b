//! Bar charts: one labelled bar per entry, upright or lying down with its value printed.

use plotters::prelude::*;

use super::{COLORS, Png, SIZE, centre_labels, format_number, render};

/// A bar chart: one labelled bar per entry.
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    /// Caption above the chart.
    pub title: String,
    /// `(label, height)` of each bar, left to right (top to bottom when `horizontal`); the
    /// value axis starts at 0.
    pub bars: Vec<(String, f64)>,
    /// Lay the bars down, labels on the left and each value printed at its bar's end (the
    /// layout of Optuna's `plot_param_importances`).
    pub horizontal: bool,
    /// Description of the value axis (empty: none).
    pub value_label: String,
}

impl BarChart {
    /// Renders the chart.
    pub fn to_png(&self) -> Result<Png, String> {
        let n = self.bars.len().max(1);
        let top = self
            .bars
            .iter()
            .map(|b| b.1)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-12)
            * 1.15;
        let labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        let label = centre_labels(&labels);
        let height = if self.horizontal {
            SIZE.1.max(120 + 40 * n as u32)
        } else {
            SIZE.1
        };
        render((SIZE.0, height), |root| {
            let mut builder = ChartBuilder::on(root);
            builder
                .caption(&self.title, ("sans-serif", 24))
                .margin(16)
                .x_label_area_size(48);
            if self.horizontal {
                let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
                builder.y_label_area_size((widest as u32 * 9 + 16).clamp(60, 360));
                let mut chart = builder
                    .build_cartesian_2d(0.0..top, n as f64..0.0)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(2 * n + 1)
                    .x_desc(&self.value_label)
                    .label_style(("sans-serif", 14))
                    .y_label_formatter(&label)
                    .x_label_formatter(&|v| format_number(*v))
                    .draw()
                    .map_err(|e| e.to_string())?;
                for (i, (_, v)) in self.bars.iter().enumerate() {
                    let y = i as f64;
                    let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
                    chart
                        .draw_series([Rectangle::new(
                            [(0.0, y + 0.15), (v, y + 0.85)],
                            COLORS[0].filled(),
                        )])
                        .map_err(|e| e.to_string())?;
                    chart
                        .draw_series([Text::new(
                            format_number(v),
                            (v + top * 0.01, y + 0.35),
                            ("sans-serif", 14).into_font(),
                        )])
                        .map_err(|e| e.to_string())?;
                }
            } else {
                builder.y_label_area_size(80);
                let mut chart = builder
                    .build_cartesian_2d(0.0..n as f64, 0.0..top)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(2 * n + 1)
                    .y_desc(&self.value_label)
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
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizontal_bars_grow_the_canvas_with_their_count() {
        let bars: Vec<(String, f64)> = (0..20).map(|i| (format!("param {i}"), i as f64)).collect();
        let png = BarChart {
            title: "importance".into(),
            bars,
            horizontal: true,
            value_label: "share".into(),
        }
        .to_png()
        .unwrap();
        let decoded = image::load_from_memory(png.as_bytes()).unwrap();
        // 120 pixels of caption and axis plus 40 per bar.
        assert_eq!((decoded.width(), decoded.height()), (900, 920));
    }
}
