//! `temper compare`: several runs side by side, the view TensorBoard users open several runs
//! for. Each run is read back from its directory — `config.toml`, `steps.csv`, `metrics.csv`,
//! `summary.toml`, `report.json`, every one bounded before it is read — and named by what
//! differs in its configuration (`optim.lr=0.01`), which is the legend of the overlaid curves
//! (per-step training loss, each epoch's validation metric, per-step learning rate) and the
//! first column of the table of final scores.

use std::path::{Path, PathBuf};

use serde::Serialize;
use temper_report::compare::run_labels;
use temper_report::html::{DirReport, markdown_cell};

use crate::error::{TrainError, io_err};
use crate::run::run_dir::{
    CONFIG_FILE, CappedRead, METRICS_FILE, SUMMARY_FILE, read_text_capped, write_atomic,
};
use crate::run::steps::{STEPS_FILE, parse_row};
use crate::score::html::dir_name;
use crate::score::plot::{ChartFile, LineChart, Series};
use crate::score::report::{LOSS_SMOOTHING, smoothed};

/// The comparison for programs; its presence marks a folder `temper compare` wrote.
pub const COMPARISON_FILE: &str = "compare.json";
/// Most runs one comparison overlays: beyond the palette's ten colours lines become
/// indistinguishable, and twenty is already a crowded legend.
pub const MAX_COMPARED_RUNS: usize = 20;
/// Largest `config.toml`, `summary.toml` or `report.json` read (temper writes a few KiB).
pub const MAX_SMALL_FILE_BYTES: u64 = 4 << 20;
/// Largest `steps.csv` or `metrics.csv` read: a row every few steps of a long run is a few MiB.
pub const MAX_CURVE_FILE_BYTES: u64 = 64 << 20;

/// One run as the comparison sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ComparedRun {
    /// The run directory.
    pub dir: PathBuf,
    /// Its folder name.
    pub name: String,
    /// What differs in its `config.toml` from the others' (its name when nothing does).
    pub label: String,
    /// `(step, training loss, learning rate)` of each row of `steps.csv`.
    pub steps: Vec<(usize, f64, f64)>,
    /// `(epoch, value)` of the validation metric the comparison plots.
    pub valid: Vec<(usize, f64)>,
    /// Test accuracy of the weights the run tested.
    pub test_accuracy: Option<f64>,
    /// Test macro F1.
    pub test_f1: Option<f64>,
    /// Largest per-class recall gap on the test split, in points.
    pub recall_gap_points: Option<f64>,
    /// Epochs the run trained.
    pub epochs: Option<usize>,
    /// Wall-clock seconds of training.
    pub seconds: Option<f64>,
}

/// Runs read back for `temper compare`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The runs, in the order given.
    pub runs: Vec<ComparedRun>,
    /// The `metrics.csv` column of `valid.png`.
    pub valid_metric: String,
}

/// Reads the runs in `dirs` and names each by what differs in its configuration; nothing is
/// written, so a bad folder is refused before the output folder exists.
pub fn compare_runs(dirs: &[PathBuf]) -> Result<Comparison, TrainError> {
    if dirs.len() < 2 || dirs.len() > MAX_COMPARED_RUNS {
        return Err(TrainError::Config(format!(
            "RUN_DIR: compare 2 to {MAX_COMPARED_RUNS} runs, got {}",
            dirs.len()
        )));
    }
    let (mut configs, mut runs, mut metrics) = (Vec::new(), Vec::new(), Vec::new());
    for dir in dirs {
        let (config, run) = read_run(dir)?;
        configs.push(config);
        runs.push(run);
        metrics.push(read_metrics(dir)?.unwrap_or_default());
    }
    let names: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    let valid_metric = valid_metric(&metrics);
    let labels = run_labels(&names, &configs);
    for ((run, label), (header, rows)) in runs.iter_mut().zip(labels).zip(&metrics) {
        run.label = label;
        run.valid = metric_column(header, rows, &valid_metric);
    }
    Ok(Comparison { runs, valid_metric })
}

fn read_run(dir: &Path) -> Result<(toml::Table, ComparedRun), TrainError> {
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.is_file() {
        return Err(TrainError::Config(format!(
            "{}: not a temper run directory (no {CONFIG_FILE})",
            dir.display()
        )));
    }
    let config = parse_toml(&config_path)?;
    let summary_path = dir.join(SUMMARY_FILE);
    let summary = match summary_path.is_file() {
        true => Some(parse_toml(&summary_path)?),
        false => None,
    };
    let report = read_report_json(&dir.join("report.json"))?;
    let number = |table: Option<&toml::Table>, key: &str| {
        table.and_then(|t| t.get(key)).and_then(|v| match v {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        })
    };
    let test = summary.as_ref().and_then(|s| s.get("test")?.as_table());
    let run = ComparedRun {
        dir: dir.to_path_buf(),
        name: dir_name(dir),
        label: String::new(),
        steps: read_steps(&dir.join(STEPS_FILE))?,
        valid: Vec::new(),
        test_accuracy: number(test, "accuracy"),
        test_f1: number(test, "f1"),
        recall_gap_points: report
            .as_ref()
            .and_then(|r| r.pointer("/recall_gap/gap")?.as_f64())
            .map(|g| g * 100.0),
        epochs: number(summary.as_ref(), "epochs_run").map(|e| e as usize),
        seconds: number(summary.as_ref(), "seconds"),
    };
    Ok((config, run))
}

/// The text of `path`, at most `max` bytes (see [`read_text_capped`]).
fn read_capped(path: &Path, max: u64) -> Result<String, TrainError> {
    let refuse = |what: &str| TrainError::Config(format!("{}: {what}", path.display()));
    read_text_capped(path, max).map_err(|why| match why {
        CappedRead::Io(e) => io_err(path)(e),
        CappedRead::Folder => refuse("is a folder"),
        CappedRead::TooBig(_) | CappedRead::Grew => refuse(&format!("more than {max} bytes")),
        CappedRead::NotUtf8 => refuse("not UTF-8 text"),
    })
}

fn parse_toml(path: &Path) -> Result<toml::Table, TrainError> {
    let text = read_capped(path, MAX_SMALL_FILE_BYTES)?;
    toml::from_str(&text).map_err(|e| {
        let first = e.message().lines().next().unwrap_or("invalid TOML");
        TrainError::Config(format!("{}: {first}", path.display()))
    })
}

fn read_report_json(path: &Path) -> Result<Option<serde_json::Value>, TrainError> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = read_capped(path, MAX_SMALL_FILE_BYTES)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
}

/// The rows of `steps.csv` (none when the run wrote no such file); a malformed row names its
/// line.
fn read_steps(path: &Path) -> Result<Vec<(usize, f64, f64)>, TrainError> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = read_capped(path, MAX_CURVE_FILE_BYTES)?;
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            parse_row(line)
                .map(|r| (r.step, r.loss, r.lr))
                .ok_or_else(|| {
                    TrainError::Config(format!(
                        "{}: line {}: not a step row",
                        path.display(),
                        i + 1
                    ))
                })
        })
        .collect()
}

/// `metrics.csv` as its header and its rows of numbers.
type Metrics = (Vec<String>, Vec<Vec<f64>>);

/// The `metrics.csv` of a run; `None` without the file.
fn read_metrics(dir: &Path) -> Result<Option<Metrics>, TrainError> {
    let path = dir.join(METRICS_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = read_capped(&path, MAX_CURVE_FILE_BYTES)?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            let row: Vec<f64> = line
                .split(',')
                .map(|f| f.parse().unwrap_or(f64::NAN))
                .collect();
            if row.len() == header.len() {
                Ok(row)
            } else {
                Err(TrainError::Config(format!(
                    "{}: line {}: {} fields, the header has {}",
                    path.display(),
                    i + 2,
                    row.len(),
                    header.len()
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Some((header, rows)))
}

/// `valid_accuracy` when every run has it, else `valid_loss`, else `train_loss`.
fn valid_metric(metrics: &[Metrics]) -> String {
    let everywhere = |col: &str| metrics.iter().all(|(h, _)| h.iter().any(|c| c == col));
    ["valid_accuracy", "valid_loss"]
        .into_iter()
        .find(|c| everywhere(c))
        .unwrap_or("train_loss")
        .to_string()
}

impl Comparison {
    /// Writes `loss.png`, `valid.png`, `lr.png`, `report.md` (the table), `compare.json` and
    /// `report.html` into `out`, which must exist.
    pub fn write(&self, out: &Path) -> Result<(), TrainError> {
        self.charts(out)?;
        write_atomic(&out.join("report.md"), self.markdown().as_bytes())?;
        let json = serde_json::to_string_pretty(self).expect("a comparison serializes");
        write_atomic(&out.join(COMPARISON_FILE), json.as_bytes())?;
        let mut page = DirReport::new("Run comparison");
        page.figure_order = ["loss", "valid", "lr"].map(String::from).to_vec();
        page.write(out)?;
        Ok(())
    }

    fn charts(&self, out: &Path) -> Result<(), TrainError> {
        let chart = |title: &str, x: &str, y: &str, series: Vec<Series>| LineChart {
            title: title.into(),
            x_label: x.into(),
            y_label: y.into(),
            series,
            legend: true,
            ..LineChart::default()
        };
        let per_run = |points: &dyn Fn(&ComparedRun) -> Vec<(f64, f64)>| -> Vec<Series> {
            self.runs
                .iter()
                .map(|r| Series {
                    name: r.label.clone(),
                    points: points(r),
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        };
        let loss = per_run(&|r| {
            let raw: Vec<(f64, f64)> = r.steps.iter().map(|s| (s.0 as f64, s.1)).collect();
            smoothed(&raw, LOSS_SMOOTHING)
        });
        if !loss.is_empty() {
            let title = format!("training loss (smoothed {LOSS_SMOOTHING})");
            chart(&title, "step", "cross-entropy", loss).write_png(&out.join("loss.png"))?;
        }
        let valid = per_run(&|r| r.valid.iter().map(|&(e, v)| (e as f64, v)).collect());
        if !valid.is_empty() {
            let m = &self.valid_metric;
            chart(m, "epoch", m, valid).write_png(&out.join("valid.png"))?;
        }
        let lr = per_run(&|r| r.steps.iter().map(|s| (s.0 as f64, s.2)).collect());
        if !lr.is_empty() {
            chart("learning rate", "step", "learning rate", lr).write_png(&out.join("lr.png"))?;
        }
        Ok(())
    }

    /// The table of final scores, one row per run.
    pub fn markdown(&self) -> String {
        let mut md = format!("# Comparison of {} runs\n\n", self.runs.len());
        md.push_str(
            "Each run is named by what differs in its `config.toml`. Scores are the test scores \
             of the weights each run tested.\n\n",
        );
        md.push_str(
            "| run | differs in | test accuracy | macro F1 | largest recall gap | epochs | seconds |\n\
             |---|---|---|---|---|---|---|\n",
        );
        let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.2}%", v * 100.0));
        let num =
            |v: Option<f64>, digits: usize| v.map_or("–".into(), |v| format!("{v:.digits$}"));
        for r in &self.runs {
            md.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                markdown_cell(&r.name),
                markdown_cell(&r.label),
                pct(r.test_accuracy),
                num(r.test_f1, 4),
                r.recall_gap_points
                    .map_or("–".into(), |g| format!("{g:.1} points")),
                r.epochs.map_or("–".into(), |e| e.to_string()),
                num(r.seconds, 1),
            ));
        }
        md
    }
}

/// `(epoch, value)` of `column` in a run's `metrics.csv`.
fn metric_column(header: &[String], rows: &[Vec<f64>], column: &str) -> Vec<(usize, f64)> {
    let (Some(e), Some(c)) = (
        header.iter().position(|h| h == "epoch"),
        header.iter().position(|h| h == column),
    ) else {
        return Vec::new();
    };
    rows.iter()
        .filter(|r| r[e].is_finite() && r[c].is_finite())
        .map(|r| (r[e] as usize, r[c]))
        .collect()
}
