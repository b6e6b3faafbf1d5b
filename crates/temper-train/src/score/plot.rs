//! Charts in run directories: temper-report draws them into memory, this writes the PNG beside
//! the run's other files as every file temper writes is written (a temporary, then a rename).

use std::path::Path;

pub use temper_report::chart::{BarChart, Heatmap, LineChart, Png, Series};

use crate::error::TrainError;
use crate::run::run_dir::write_atomic;

/// A chart that can be written as a PNG file.
pub trait ChartFile {
    /// Renders the chart.
    fn render(&self) -> Result<Png, String>;

    /// Renders the chart and writes it to `path` atomically.
    fn write_png(&self, path: &Path) -> Result<(), TrainError> {
        write_png(path, self.render())
    }
}

impl ChartFile for LineChart {
    fn render(&self) -> Result<Png, String> {
        self.to_png()
    }
}

impl ChartFile for BarChart {
    fn render(&self) -> Result<Png, String> {
        self.to_png()
    }
}

impl ChartFile for Heatmap {
    fn render(&self) -> Result<Png, String> {
        self.to_png()
    }
}

/// Writes a rendered chart to `path`, or names the file the chart was for.
pub fn write_png(path: &Path, png: Result<Png, String>) -> Result<(), TrainError> {
    let png = png.map_err(|message| TrainError::Plot {
        path: path.to_path_buf(),
        message,
    })?;
    write_atomic(path, png.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_written_whole_and_one_with_nothing_to_draw_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let chart = LineChart {
            title: "loss".into(),
            series: vec![Series {
                name: "train".into(),
                points: vec![(1.0, 0.5), (2.0, 0.25)],
            }],
            ..LineChart::default()
        };
        let path = dir.path().join("loss.png");
        chart.write_png(&path).unwrap();
        // The PNG signature (ISO/IEC 15948, section 5.2).
        assert_eq!(&std::fs::read(&path).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let empty = LineChart::default();
        let err = empty.write_png(&dir.path().join("e.png")).unwrap_err();
        assert!(err.to_string().contains("e.png"), "{err}");
        assert!(err.to_string().contains("nothing to draw"), "{err}");
        assert!(!dir.path().join("e.png").exists());
    }
}
