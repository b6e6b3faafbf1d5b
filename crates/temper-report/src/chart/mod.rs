//! The drawing primitives: line charts, bar charts and heatmaps, drawn with plotters' bitmap
//! backend into memory and encoded as PNG.
//!
//! Text is drawn with DejaVu Sans compiled in from `assets/fonts/`, so charts render the same
//! on a machine without any system font. A chart is rendered to PNG bytes
//! ([`Png`]); writing them to disk (atomically, beside the run's other files) is the caller's
//! job, and embedding them in `report.html` needs no file at all.

mod bar;
mod heatmap;
mod line;

use std::sync::Once;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

pub use bar::BarChart;
pub use heatmap::Heatmap;
pub use line::{LineChart, MARKED_POINTS, Series};

static FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));
static REGISTER: Once = Once::new();

/// The default chart size in pixels.
pub const SIZE: (u32, u32) = (900, 540);

/// matplotlib's `tab10`, the palette Optuna's matplotlib plots and most users' charts use.
pub const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A drawing area over an RGB buffer in memory.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// An encoded PNG image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png(pub Vec<u8>);

impl Png {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Draws with `draw` on a white `size` canvas and encodes the pixels as PNG; plotters' errors
/// come back as their message.
pub fn render(
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<Png, String> {
    register();
    let (w, h) = size;
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&pixels, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(Png(bytes))
}

fn register() {
    REGISTER.call_once(|| {
        // The font is a fixed, known-good file: failing to parse it is a build defect.
        register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "bundled font")
            .expect("assets/fonts/DejaVuSans.ttf parses");
    });
}

/// An axis label formatter for categories drawn over `[i, i + 1)`: the name of category `i` at
/// `i + 0.5` (ask for `2n + 1` labels so those positions are among the ticks), nothing else.
pub fn centre_labels(labels: &[String]) -> impl Fn(&f64) -> String + '_ {
    move |v: &f64| {
        let i = v.floor() as usize;
        if (*v - i as f64 - 0.5).abs() < 1e-9 {
            labels.get(i).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// The smallest and largest of `values` (`(inf, -inf)` when there are none).
pub fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Short labels: `0.001` as `1e-3`, plain numbers otherwise.
pub fn format_number(v: f64) -> String {
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

    /// The PNG signature (ISO/IEC 15948, section 5.2).
    pub(crate) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    #[test]
    fn a_rendered_canvas_decodes_to_its_size() {
        let png = render((40, 30), |area| area.fill(&RED).map_err(|e| e.to_string())).unwrap();
        assert_eq!(&png.as_bytes()[..8], PNG_SIGNATURE);
        let decoded = image::load_from_memory(png.as_bytes()).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (40, 30));
        assert_eq!(decoded.get_pixel(20, 15).0, [255, 0, 0]);
    }

    #[test]
    fn numbers_are_labelled_short() {
        assert_eq!(format_number(0.001), "1e-3");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(12.0), "12");
    }
}
