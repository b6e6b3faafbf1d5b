//! The end-of-run report: per-class scores on the test split, the largest per-class recall gap
//! (the model's worst-treated class next to its best-treated one), the confusion matrix, and
//! charts of the run — `report.md`, `report.json`, `confusion.csv` and PNGs in the run
//! directory. `confusion.csv` holds the counts `confusion.png` shades, for a spreadsheet or a
//! script: a header of predicted class names, then one row per true class (RFC 4180 quoting).

use std::path::Path;
use temper_fair::metrics::FairnessReport;

use serde::Serialize;

use crate::error::TrainError;
use crate::run::run_dir::write_atomic;
use crate::run::steps::StepRow;
use crate::score::confusion::ConfusionMatrix;
use crate::score::metrics::{EpochMetrics, EvalScores};
use crate::score::plot::{ChartFile, Heatmap, LineChart, Series};

/// One class's scores (scikit-learn's `classification_report` columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// Class name (its index when the data set names none).
    pub class: String,
    /// TP / (TP + FP); 0 when nothing was predicted as this class.
    pub precision: f64,
    /// TP / (TP + FN); 0 when the class has no sample.
    pub recall: f64,
    /// Harmonic mean of `precision` and `recall`; 0 when both are 0.
    pub f1: f64,
    /// Test samples of this class.
    pub support: u64,
}

/// The best- and the worst-recalled classes among those present.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallGap {
    /// The class with the highest recall.
    pub best_class: String,
    /// Its recall.
    pub best_recall: f64,
    /// The class with the lowest recall.
    pub worst_class: String,
    /// Its recall.
    pub worst_recall: f64,
    /// `best_recall - worst_recall`.
    pub gap: f64,
}

/// Scores of one model on one split, class by class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    /// Loss, accuracy and macro-averaged scores over the whole split.
    pub scores: EvalScores,
    /// Every class in class-index order, those without a sample included (support 0).
    pub classes: Vec<ClassScores>,
    /// `None` when fewer than two classes have a sample.
    pub recall_gap: Option<RecallGap>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
    /// Per-group scores and the disparities between groups, when `[data] groups` names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<FairnessReport>,
}

impl TestReport {
    /// The report of `scores` and their `confusion` matrix, with the data set's class names.
    pub fn new(scores: EvalScores, confusion: &ConfusionMatrix, names: &[String]) -> Self {
        let k = confusion.num_classes();
        let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
        let classes: Vec<ClassScores> = (0..k)
            .map(|c| ClassScores {
                class: name(c),
                precision: confusion.precision(c),
                recall: confusion.recall(c),
                f1: confusion.f1(c),
                support: confusion.true_count(c),
            })
            .collect();
        let present: Vec<&ClassScores> = classes.iter().filter(|c| c.support > 0).collect();
        let best = present.iter().max_by(|a, b| a.recall.total_cmp(&b.recall));
        let worst = present.iter().min_by(|a, b| a.recall.total_cmp(&b.recall));
        let recall_gap = match (best, worst) {
            (Some(b), Some(w)) if present.len() > 1 => Some(RecallGap {
                best_class: b.class.clone(),
                best_recall: b.recall,
                worst_class: w.class.clone(),
                worst_recall: w.recall,
                gap: b.recall - w.recall,
            }),
            _ => None,
        };
        let confusion = (0..k)
            .map(|t| (0..k).map(|p| confusion.count(t, p)).collect())
            .collect();
        Self {
            scores,
            classes,
            recall_gap,
            confusion,
            groups: None,
        }
    }

    /// The report as Markdown, under `title`.
    pub fn markdown(&self, title: &str) -> String {
        let s = &self.scores;
        let mut md = format!(
            "# {title}\n\n| loss | accuracy | precision (macro) | recall (macro) | F1 (macro) |\n\
             |---|---|---|---|---|\n| {:.4} | {:.2}% | {:.4} | {:.4} | {:.4} |\n\n",
            s.loss,
            s.accuracy * 100.0,
            s.precision,
            s.recall,
            s.f1
        );
        if let Some(g) = &self.recall_gap {
            md.push_str(&format!(
                "**Largest per-class recall gap: {:.1} points** — class `{}` is recalled {:.2}% \
                 of the time, class `{}` {:.2}%. The worst-treated class is where the model \
                 fails its users most; look at its row of the confusion matrix.\n\n",
                g.gap * 100.0,
                g.worst_class,
                g.worst_recall * 100.0,
                g.best_class,
                g.best_recall * 100.0
            ));
        }
        md.push_str("| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
        for c in &self.classes {
            md.push_str(&format!(
                "| {} | {:.4} | {:.4} | {:.4} | {} |\n",
                c.class, c.precision, c.recall, c.f1, c.support
            ));
        }
        md.push_str("\nConfusion matrix (rows: true class, columns: predicted):\n\n| |");
        for c in &self.classes {
            md.push_str(&format!(" {} |", c.class));
        }
        md.push_str(&format!("\n|---|{}\n", "---|".repeat(self.classes.len())));
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            md.push_str(&format!("| **{}** |", c.class));
            for n in row {
                md.push_str(&format!(" {n} |"));
            }
            md.push('\n');
        }
        if let Some(groups) = &self.groups {
            let names: Vec<String> = self.classes.iter().map(|c| c.class.clone()).collect();
            md.push_str("\n## Groups\n\n");
            md.push_str(&groups.to_markdown(&names));
        }
        md
    }

    /// The confusion matrix as CSV: a header row `true \ predicted` and the class names, then
    /// one row per true class, its name and its counts.
    pub fn confusion_csv(&self) -> String {
        let mut csv = csv_field("true \\ predicted");
        for c in &self.classes {
            csv.push(',');
            csv.push_str(&csv_field(&c.class));
        }
        csv.push('\n');
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            csv.push_str(&csv_field(&c.class));
            for n in row {
                csv.push_str(&format!(",{n}"));
            }
            csv.push('\n');
        }
        csv
    }

    /// Writes `report.md`, `report.json`, `confusion.csv` and `confusion.png` into `dir`;
    /// `preamble` goes at the top of the Markdown (what was evaluated, on what).
    pub fn write(&self, dir: &Path, title: &str, preamble: &str) -> Result<(), TrainError> {
        let mut md = self.markdown(title);
        if !preamble.is_empty() {
            let at = md.find("\n\n").map_or(md.len(), |i| i + 2);
            md.insert_str(at, &format!("{preamble}\n\n"));
        }
        write_atomic(&dir.join("report.md"), md.as_bytes())?;
        let json = serde_json::to_string_pretty(self).expect("a report serializes");
        write_atomic(&dir.join("report.json"), json.as_bytes())?;
        write_atomic(&dir.join("confusion.csv"), self.confusion_csv().as_bytes())?;
        Heatmap {
            title: "confusion matrix (rows: true class; shade: share of the row)".into(),
            labels: self.classes.iter().map(|c| c.class.clone()).collect(),
            counts: self.confusion.clone(),
        }
        .write_png(&dir.join("confusion.png"))
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180): class names
/// are folder names, which may hold any of them.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The title of `lr.png`. Each epoch's point is [`EpochMetrics::lr`], the rate of the epoch's
/// last step (what the schedule or the hypergradient rule holds when the epoch ends).
pub(crate) const LR_CHART_TITLE: &str = "learning rate (last step of each epoch)";

/// Loss, accuracy and learning-rate curves of a run's epochs: `loss.png`, `accuracy.png`,
/// `lr.png` in `dir`.
pub fn write_curves(dir: &Path, epochs: &[EpochMetrics]) -> Result<(), TrainError> {
    write_run_curves(dir, epochs, &[])
}

/// TensorBoard's default smoothing weight for the loss curve of `steps.csv`.
pub(crate) const LOSS_SMOOTHING: f64 = 0.6;

/// TensorBoard's smoothing of `points`: `s = w·s + (1 − w)·x` from `s = 0`, debiased as
/// TensorBoard does (divided by `1 − wⁿ` after `n` points), so the curve starts at the first
/// point rather than near 0. Non-finite values are skipped.
pub(crate) fn smoothed(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let (mut s, mut n) = (0.0, 0i32);
    points
        .iter()
        .filter(|(_, y)| y.is_finite())
        .map(|&(x, y)| {
            s = weight * s + (1.0 - weight) * y;
            n += 1;
            let debias = 1.0 - weight.powi(n);
            (x, if debias > 0.0 { s / debias } else { y })
        })
        .collect()
}

/// [`write_curves`], with `loss.png` drawn from `steps.csv`'s rows when there are any: the
/// per-row training loss (faint), its [smoothed](smoothed) curve, and each epoch's validation
/// loss as a point at the epoch's last step.
pub(crate) fn write_run_curves(
    dir: &Path,
    epochs: &[EpochMetrics],
    steps: &[StepRow],
) -> Result<(), TrainError> {
    if epochs.is_empty() {
        return Ok(());
    }
    let at = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        epochs
            .iter()
            .filter_map(|m| f(m).map(|v| (m.epoch as f64, v)))
            .collect()
    };
    let chart = |title: &str, y: &str, series: Vec<Series>| LineChart {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y.into(),
        log_x: false,
        series,
        marker: None,
        legend: true,
        x_labels: Some(epochs.len().min(12)),
        ..LineChart::default()
    };
    let pair = |name: &str, train: Vec<(f64, f64)>, valid: Vec<(f64, f64)>| {
        let mut s = vec![Series {
            name: format!("train {name}"),
            points: train,
        }];
        if !valid.is_empty() {
            s.push(Series {
                name: format!("valid {name}"),
                points: valid,
            });
        }
        s
    };
    if steps.is_empty() {
        chart(
            "loss",
            "cross-entropy",
            pair(
                "loss",
                at(&|m| Some(m.train.loss)),
                at(&|m| m.valid.map(|v| v.loss)),
            ),
        )
        .write_png(&dir.join("loss.png"))?;
    } else {
        write_step_loss(dir, epochs, steps)?;
    }
    chart(
        "accuracy",
        "accuracy",
        pair(
            "accuracy",
            at(&|m| Some(m.train.accuracy)),
            at(&|m| m.valid.map(|v| v.accuracy)),
        ),
    )
    .write_png(&dir.join("accuracy.png"))?;
    chart(
        LR_CHART_TITLE,
        "learning rate",
        vec![Series {
            name: "lr".into(),
            points: at(&|m| Some(m.lr)),
        }],
    )
    .write_png(&dir.join("lr.png"))
}

/// `loss.png` over the optimizer steps of `steps.csv`.
fn write_step_loss(
    dir: &Path,
    epochs: &[EpochMetrics],
    steps: &[StepRow],
) -> Result<(), TrainError> {
    let raw: Vec<(f64, f64)> = steps.iter().map(|r| (r.step as f64, r.loss)).collect();
    let smooth = smoothed(&raw, LOSS_SMOOTHING);
    // Each epoch's last row is at its last step.
    let last_step = |epoch: usize| {
        steps
            .iter()
            .filter(|r| r.epoch == epoch)
            .map(|r| r.step)
            .max()
    };
    let valid: Vec<(f64, f64)> = epochs
        .iter()
        .filter_map(|m| Some((last_step(m.epoch)? as f64, m.valid?.loss)))
        .collect();
    let dots = if valid.is_empty() {
        Vec::new()
    } else {
        vec![Series {
            name: "valid loss (end of epoch)".into(),
            points: valid,
        }]
    };
    LineChart {
        title: "loss".into(),
        x_label: "step".into(),
        y_label: "cross-entropy".into(),
        log_x: false,
        series: vec![
            Series {
                name: "train loss".into(),
                points: raw,
            },
            Series {
                name: format!("train loss (smoothed {LOSS_SMOOTHING})"),
                points: smooth,
            },
        ],
        marker: None,
        legend: true,
        x_labels: None,
        faint_first: true,
        dots,
    }
    .write_png(&dir.join("loss.png"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_class_scores_and_the_recall_gap_come_from_the_confusion_matrix() {
        // 3 classes; true 0: 8 right, 2 as 1; true 1: 5 right, 5 as 2; true 2: 10 right.
        let mut cm = ConfusionMatrix::new(3);
        let mut t = Vec::new();
        let mut p = Vec::new();
        for (truth, pred, n) in [(0, 0, 8), (0, 1, 2), (1, 1, 5), (1, 2, 5), (2, 2, 10)] {
            t.extend(std::iter::repeat_n(truth, n));
            p.extend(std::iter::repeat_n(pred, n));
        }
        cm.add(&t, &p);
        let names: Vec<String> = ["cat", "dog", "fox"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let scores = EvalScores {
            loss: 0.5,
            accuracy: cm.accuracy(),
            precision: cm.macro_precision(),
            recall: cm.macro_recall(),
            f1: cm.macro_f1(),
        };
        let r = TestReport::new(scores, &cm, &names);
        // Recall = TP / support: cat 8/10, dog 5/10, fox 10/10. Precision = TP / predicted:
        // cat 8/8, dog 5/7, fox 10/15. F1 = 2PR / (P + R): dog 2 (5/7)(1/2) / (5/7 + 1/2) = 10/17.
        let recalls: Vec<f64> = r.classes.iter().map(|c| c.recall).collect();
        assert_eq!(recalls, vec![0.8, 0.5, 1.0]);
        assert_eq!(r.classes[1].precision, 5.0 / 7.0);
        assert_eq!(r.classes[2].support, 10);
        let gap = r.recall_gap.clone().unwrap();
        assert_eq!(
            (gap.worst_class.as_str(), gap.best_class.as_str()),
            ("dog", "fox")
        );
        assert!((gap.gap - 0.5).abs() < 1e-12);
        assert_eq!(r.confusion[1], vec![0, 5, 5]);
        let md = r.markdown("test");
        assert!(
            md.contains("Largest per-class recall gap: 50.0 points"),
            "{md}"
        );
        assert!(
            md.contains("| dog | 0.7143 | 0.5000 | 0.5882 | 10 |"),
            "{md}"
        );
        let dir = tempfile::tempdir().unwrap();
        r.write(dir.path(), "test", "model: x").unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
                .unwrap();
        assert_eq!(json["recall_gap"]["worst_class"], "dog");
        assert!(dir.path().join("confusion.png").exists());
        let csv = std::fs::read_to_string(dir.path().join("confusion.csv")).unwrap();
        assert_eq!(
            csv,
            "true \\ predicted,cat,dog,fox\ncat,8,2,0\ndog,0,5,5\nfox,0,0,10\n"
        );
    }

    #[test]
    fn confusion_csv_quotes_class_names_with_commas_and_quotes() {
        let mut cm = ConfusionMatrix::new(2);
        cm.add(&[0, 1], &[1, 1]);
        let names = vec!["a,b".to_string(), "say \"hi\"".to_string()];
        let r = TestReport::new(
            EvalScores {
                loss: 0.0,
                accuracy: 0.5,
                precision: 0.25,
                recall: 0.5,
                f1: 1.0 / 3.0,
            },
            &cm,
            &names,
        );
        assert_eq!(
            r.confusion_csv(),
            "true \\ predicted,\"a,b\",\"say \"\"hi\"\"\"\n\"a,b\",0,1\n\"say \"\"hi\"\"\",0,1\n"
        );
    }
}
