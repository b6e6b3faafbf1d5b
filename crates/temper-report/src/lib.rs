//! What temper shows people: charts as PNG files and self-contained HTML reports.
//!
//! - `chart`: the drawing primitives (line, bar, heatmap) on plotters' bitmap backend, with a
//!   bundled font so a chart renders the same on a machine without system fonts.
//! - `study`: the charts of a hyperparameter study, with Optuna's `plot_*` family as the
//!   reference for content: each is built as a data structure (tested), then drawn.
//! - `html`: `report.html`, one file with its charts embedded, readable from disk offline.
//! - `compare`: naming runs by what differs in their configuration files.

pub mod chart;
pub mod compare;
mod error;
pub mod html;
pub mod study;

pub use error::ReportError;
