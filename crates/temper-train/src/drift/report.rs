//! What `temper monitor` writes: `monitor.json` for programs, and for people `report.md` (the
//! verdict, one row per check with its statistic and threshold, the per-class and per-group
//! tables), `monitor.png` and the folder's `report.html`.

use std::path::Path;

use temper_report::html::markdown_cell as cell;

use crate::drift::{CONFIDENCE_BINS, DriftReport, PredictionDrift};
use crate::error::{TrainError, io_err};
use crate::run::run_dir::write_atomic;
use crate::score::html::write_child_report_html;
use crate::score::plot::{ChartFile, LineChart, Series};

/// `monitor.json` (the whole report), `report.md`, `monitor.png` (the two confidence
/// histograms) and `report.html` in `out`, created when missing.
pub(super) fn write_report(report: &DriftReport, out: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let path = out.join("monitor.json");
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| io_err(&path)(std::io::Error::other(e)))?;
    write_atomic(&path, json.as_bytes())?;
    write_atomic(&out.join("report.md"), report.markdown().as_bytes())?;
    confidence_chart(&report.predictions).write_png(&out.join("monitor.png"))?;
    write_child_report_html(out, "Drift monitor", &report.run_dir)
}

/// The two confidence histograms as lines over the bin centres.
fn confidence_chart(p: &PredictionDrift) -> LineChart {
    let width = 1.0 / CONFIDENCE_BINS as f64;
    let line = |name: &str, shares: &[f64]| Series {
        name: name.into(),
        points: shares
            .iter()
            .enumerate()
            .map(|(b, &s)| ((b as f64 + 0.5) * width, s))
            .collect(),
    };
    LineChart {
        title: format!(
            "model confidence: KS D {:.3}, PSI {:.3}",
            p.ks.d, p.confidence_psi
        ),
        x_label: "largest softmax probability".into(),
        y_label: "share of images".into(),
        log_x: false,
        series: vec![
            line("run's test split", &p.reference_confidence_histogram),
            line("new data", &p.new_confidence_histogram),
        ],
        marker: None,
        legend: true,
        x_labels: Some(11),
        ..LineChart::default()
    }
}

impl DriftReport {
    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = format!("# Drift monitor\n\n**Verdict: {}.**\n\n", self.verdict);
        md.push_str(&format!(
            "The weights `{}` of the run `{}`, trained on `{}` ({} training images, {} test \
             images), against {} new test images of `{}`.\n\n",
            self.weights.display(),
            self.run_dir.display(),
            cell(&self.reference_source),
            self.reference_train_images,
            self.reference_test_images,
            self.new_images,
            cell(&self.new_source),
        ));
        md.push_str(&self.checks_table());
        md.push_str(&self.classes_table());
        if !self.groups.is_empty() {
            md.push_str("\n| group | reference accuracy | new accuracy | drop | new images | |\n");
            md.push_str("|---|---|---|---|---|---|\n");
            for g in &self.groups {
                md.push_str(&format!(
                    "| {} | {:.2}% | {:.2}% | {:+.1} points | {} | {} |\n",
                    cell(&g.group),
                    g.reference_accuracy * 100.0,
                    g.new_accuracy * 100.0,
                    -g.drop_points,
                    g.new_images,
                    flag(g.drift)
                ));
            }
        }
        md
    }

    fn checks_table(&self) -> String {
        let t = &self.thresholds;
        let mut md = String::from("| check | statistic | threshold | |\n|---|---|---|---|\n");
        for c in &self.inputs.channels {
            md.push_str(&format!(
                "| inputs, channel {} | pixel PSI {:.4} (mean {:.4} → {:.4}, std {:.4} → {:.4}) \
                 | PSI > {} | {} |\n",
                c.channel,
                c.psi,
                c.reference_mean,
                c.new_mean,
                c.reference_std,
                c.new_std,
                t.input_psi,
                flag(self.inputs.drift)
            ));
        }
        let p = &self.predictions;
        md.push_str(&format!(
            "| predictions | confidence KS D {:.4} (p {:.2e}), confidence PSI {:.4}, class PSI \
             {:.4}, class TV {:.4}; mean confidence {:.4} → {:.4} | D > {} with p < {}, or \
             PSI > {} | {} |\n",
            p.ks.d,
            p.ks.p_value,
            p.confidence_psi,
            p.class_psi,
            p.class_total_variation,
            p.reference_mean_confidence,
            p.new_mean_confidence,
            t.ks_d,
            t.ks_p,
            t.prediction_psi,
            flag(p.drift)
        ));
        let a = &self.accuracy;
        md.push_str(&format!(
            "| accuracy | {:.2}% → {:.2}% ({:+.1} points) | a drop of {} points | {} |\n\n",
            a.reference.accuracy * 100.0,
            a.new.accuracy * 100.0,
            -a.drop_points,
            t.accuracy_drop,
            flag(a.drift)
        ));
        md
    }

    fn classes_table(&self) -> String {
        let mut md = String::from(
            "Per class, the largest recall drop first:\n\n\
             | class | reference recall | new recall | recall drop | reference F1 | new F1 | new images |\n\
             |---|---|---|---|---|---|---|\n",
        );
        let points = |d: Option<f64>| d.map_or("–".into(), |d| format!("{d:.1}"));
        for c in &self.accuracy.classes {
            md.push_str(&format!(
                "| {} | {:.2}% | {:.2}% | {} | {:.4} | {:.4} | {} |\n",
                cell(&c.class),
                c.reference_recall * 100.0,
                c.new_recall * 100.0,
                points(c.recall_drop_points),
                c.reference_f1,
                c.new_f1,
                c.new_support
            ));
        }
        md
    }
}

fn flag(drift: bool) -> &'static str {
    if drift { "**drift**" } else { "ok" }
}
