//! The confusion-matrix heatmap.

use plotters::prelude::*;

use super::{Png, centre_labels, render};

/// A confusion-matrix heatmap: cell shade is the count's share of its row, the count is printed.
#[derive(Debug, Clone, Default)]
pub struct Heatmap {
    /// Caption above the heatmap.
    pub title: String,
    /// Class names, labelling both the rows (true class) and the columns (predicted).
    pub labels: Vec<String>,
    /// `counts[row][column]`.
    pub counts: Vec<Vec<u64>>,
}

impl Heatmap {
    /// Renders the heatmap.
    pub fn to_png(&self) -> Result<Png, String> {
        let n = self.counts.len().max(1);
        let label = centre_labels(&self.labels);
        render((720, 720), |root| {
            let mut chart = ChartBuilder::on(root)
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
            Ok(())
        })
    }
}
