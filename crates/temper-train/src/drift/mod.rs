//! Drift of new data against a saved run, the library side of `temper monitor RUN_DIR --data
//! NEW`: has the data moved away from what the run learned?
//!
//! Three comparisons of the new data's test split against the run's own data:
//! - **inputs**: per-channel pixel mean, standard deviation and 32-bin intensity histogram
//!   against the run's training split (the split and seed of its `config.toml`), the
//!   histograms compared by the population stability index ([`psi`]);
//! - **predictions**: the model's confidence (largest softmax probability) on the new images
//!   against its confidence on the run's test split, by the two-sample Kolmogorov–Smirnov test
//!   ([`ks_two_sample`]) and PSI over 20 confidence bins, and the shift of the predicted-class
//!   shares (PSI and total variation);
//! - **accuracy**: scores and per-class precision/recall/F1 on both, the largest recall drops
//!   first.
//!
//! The statistics themselves are in `stats.rs`. Each comparison is flagged when it crosses a
//! [`DriftThresholds`] value; the verdict names the flags. A pixel histogram is blind to where
//! pixels are, so a rotation shows up in the predictions and the accuracy, not in the inputs.

pub(crate) mod groups;
mod report;
pub(crate) mod stats;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};
use temper_data::{DataSplits, ImageBatcher, ImageDataset};
use temper_model::Classifier;

use crate::config::device::DeviceChoice;
use crate::config::experiment::Experiment;
use crate::drift::groups::{GroupDrift, drift_by_group, with_worst_group};
use crate::drift::report::write_report;
use crate::drift::stats::{
    KsTest, PixelStats, histogram, ks_two_sample, pixel_stats, psi, shares, total_variation,
};
use crate::error::TrainError;
use crate::run::finish::lossy_path;
use crate::run::run_dir::check_run_dir;
use crate::run::{Progress, load_data};
use crate::score::confusion::ConfusionMatrix;
use crate::score::metrics::EvalScores;
use crate::score::report::TestReport;
use crate::score::saved_run::SavedRun;

/// Equal-width bins of the confidence histograms over `[0, 1]`.
pub const CONFIDENCE_BINS: usize = 20;
/// Images per forward pass when scoring.
const SCORE_BATCH: usize = 500;

/// When a comparison counts as drift. The defaults follow the rule of thumb for PSI (below 0.1
/// no change, 0.1–0.25 a moderate shift, above 0.25 a significant one: Siddiqi 2006, *Credit
/// Risk Scorecards*; Yurdakul 2018, *Statistical Properties of Population Stability Index*,
/// Western Michigan University); a KS distance of 0.1 significant at 1%; and 2 accuracy points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftThresholds {
    /// Input drift: any channel's pixel-histogram PSI above this. Default 0.25.
    pub input_psi: f64,
    /// Prediction drift: the confidence-histogram PSI or the predicted-class PSI above this.
    /// Default 0.25.
    pub prediction_psi: f64,
    /// Prediction drift: the confidence KS distance D above this ... Default 0.1.
    pub ks_d: f64,
    /// ... with its p-value below this. Default 0.01.
    pub ks_p: f64,
    /// Accuracy drop: test accuracy lower than the run's by more than this many percentage
    /// points. Default 2.
    pub accuracy_drop: f64,
}

impl Default for DriftThresholds {
    fn default() -> Self {
        Self {
            input_psi: 0.25,
            prediction_psi: 0.25,
            ks_d: 0.1,
            ks_p: 0.01,
            accuracy_drop: 2.0,
        }
    }
}

impl DriftThresholds {
    /// Every threshold finite and non-negative, `ks_d` and `ks_p` within `[0, 1]`; the error
    /// names the flag.
    pub fn validate(&self) -> Result<(), TrainError> {
        for (flag, value, max) in [
            ("--input-psi", self.input_psi, f64::INFINITY),
            ("--prediction-psi", self.prediction_psi, f64::INFINITY),
            ("--ks-d", self.ks_d, 1.0),
            ("--ks-p", self.ks_p, 1.0),
            ("--accuracy-drop", self.accuracy_drop, 100.0),
        ] {
            if !(value.is_finite() && (0.0..=max).contains(&value)) {
                let range = if max.is_finite() {
                    format!("in [0, {max}]")
                } else {
                    "finite and >= 0".into()
                };
                return Err(TrainError::Config(format!(
                    "{flag}: must be {range}, got {value}"
                )));
            }
        }
        Ok(())
    }
}

/// One channel's input statistics, reference against new.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelDrift {
    /// Channel index.
    pub channel: usize,
    /// Mean pixel intensity of the channel on the run's training split, in `[0, 1]` units.
    pub reference_mean: f64,
    /// Population standard deviation of those pixels, in `[0, 1]` units.
    pub reference_std: f64,
    /// Mean pixel intensity of the channel on the new data's test split, in `[0, 1]` units.
    pub new_mean: f64,
    /// Population standard deviation of those pixels, in `[0, 1]` units.
    pub new_std: f64,
    /// PSI of the new pixel-intensity histogram against the reference one.
    pub psi: f64,
    /// Shares of the [`PIXEL_BINS`](crate::drift::stats::PIXEL_BINS) intensity bins.
    pub reference_histogram: Vec<f64>,
    /// The new data's shares of the same bins.
    pub new_histogram: Vec<f64>,
}

/// Input drift: the pixels themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputDrift {
    /// One entry per image channel, in channel order.
    pub channels: Vec<ChannelDrift>,
    /// The largest channel PSI, compared with [`DriftThresholds::input_psi`].
    pub max_psi: f64,
    /// Whether `max_psi` is above [`DriftThresholds::input_psi`].
    pub drift: bool,
}

/// Prediction drift: what the model says about the images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionDrift {
    /// Mean confidence (largest softmax probability) on the run's test split.
    pub reference_mean_confidence: f64,
    /// Mean confidence on the new data's test split.
    pub new_mean_confidence: f64,
    /// KS test of the confidence distributions.
    pub ks: KsTest,
    /// PSI over [`CONFIDENCE_BINS`] equal-width confidence bins.
    pub confidence_psi: f64,
    /// Shares of the run's test images in each confidence bin.
    pub reference_confidence_histogram: Vec<f64>,
    /// Shares of the new images in each confidence bin.
    pub new_confidence_histogram: Vec<f64>,
    /// PSI of the predicted-class shares.
    pub class_psi: f64,
    /// Total variation distance of the predicted-class shares.
    pub class_total_variation: f64,
    /// Share of the run's test images predicted as each class, in class-index order.
    pub reference_class_shares: Vec<f64>,
    /// Share of the new images predicted as each class, in class-index order.
    pub new_class_shares: Vec<f64>,
    /// Whether the KS test (D above [`DriftThresholds::ks_d`] with its p-value below
    /// [`DriftThresholds::ks_p`]), `confidence_psi` or `class_psi` (above
    /// [`DriftThresholds::prediction_psi`]) crossed its threshold.
    pub drift: bool,
}

/// One class's scores on the run's test split and on the new data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassDrift {
    /// Class name.
    pub class: String,
    /// Precision on the run's test split.
    pub reference_precision: f64,
    /// Recall on the run's test split.
    pub reference_recall: f64,
    /// F1 on the run's test split.
    pub reference_f1: f64,
    /// Precision on the new data's test split.
    pub new_precision: f64,
    /// Recall on the new data's test split.
    pub new_recall: f64,
    /// F1 on the new data's test split.
    pub new_f1: f64,
    /// New images of this class.
    pub new_support: u64,
    /// `(reference − new recall) × 100`; `None` when either side has no image of the class.
    pub recall_drop_points: Option<f64>,
    /// `(reference − new F1) × 100`, likewise.
    pub f1_drop_points: Option<f64>,
}

/// Accuracy drift: the scores when the new data has labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyDrift {
    /// Scores of the run's weights on its own test split.
    pub reference: EvalScores,
    /// Scores of the same weights on the new data's test split.
    pub new: EvalScores,
    /// `(reference − new accuracy) × 100`; negative when the new data scores better.
    pub drop_points: f64,
    /// Every class, the largest recall drop first.
    pub classes: Vec<ClassDrift>,
    /// Whether `drop_points` is above [`DriftThresholds::accuracy_drop`].
    pub drift: bool,
}

/// Everything [`check_drift`] (`temper monitor`) measured and decided; written as
/// `monitor.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// One line: `no drift`, or what drifted (see [`verdict`]).
    pub verdict: String,
    /// Whether any threshold was crossed.
    pub drift: bool,
    /// The run directory compared against, as given (a name that is not UTF-8 is written with
    /// U+FFFD in place of its bad bytes).
    #[serde(serialize_with = "lossy_path")]
    pub run_dir: PathBuf,
    /// The checkpoint scored: the one the run tested, as `temper eval` picks it —
    /// `checkpoints/best.bpk` when the run restored its best epoch, else `checkpoints/last.bpk`.
    #[serde(serialize_with = "lossy_path")]
    pub weights: PathBuf,
    /// The run's `[data] source`.
    pub reference_source: String,
    /// The new data source, as given to `--data`.
    pub new_source: String,
    /// Images of the run's training split (the input reference).
    pub reference_train_images: usize,
    /// Images of the run's test split (the prediction and accuracy reference).
    pub reference_test_images: usize,
    /// Images of the new data's test split.
    pub new_images: usize,
    /// The thresholds the flags were decided by.
    pub thresholds: DriftThresholds,
    /// The new test split's pixels against the run's training split.
    pub inputs: InputDrift,
    /// The model's predictions on the new test split against those on the run's test split.
    pub predictions: PredictionDrift,
    /// The scores on the new test split against those on the run's test split.
    pub accuracy: AccuracyDrift,
    /// Each group's accuracy on both, when the run and `--groups` name groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDrift>,
}

/// The verdict line: `no drift`, `drift in inputs`, `drift in predictions`,
/// `drift in inputs and predictions`, `accuracy drop 12.3 points`, or a drift and the drop
/// joined by `; `.
pub fn verdict(inputs: bool, predictions: bool, accuracy_drop_points: Option<f64>) -> String {
    let drift = match (inputs, predictions) {
        (true, true) => Some("drift in inputs and predictions"),
        (true, false) => Some("drift in inputs"),
        (false, true) => Some("drift in predictions"),
        (false, false) => None,
    };
    let drop = accuracy_drop_points.map(|d| format!("accuracy drop {d:.1} points"));
    match (drift, drop) {
        (Some(a), Some(b)) => format!("{a}; {b}"),
        (Some(a), None) => a.to_string(),
        (None, Some(b)) => b,
        (None, None) => "no drift".to_string(),
    }
}

/// Compares the test split of the data source `data` (`bundled`, `mnist:DIR`, ...) against
/// the run in `run_dir` — its training split's pixels, and its best checkpoint's predictions
/// and scores on its own test split — and writes `monitor.json` and `monitor.png` (the two
/// confidence histograms) into `out`. The verdict and the flags are in the report; the caller
/// decides what drift means for its exit status.
pub fn check_drift(
    run_dir: &Path,
    data: &str,
    new_groups: Option<&Path>,
    device: Option<DeviceChoice>,
    thresholds: &DriftThresholds,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<DriftReport, TrainError> {
    thresholds.validate()?;
    let mut saved = SavedRun::open(run_dir, device)?;
    // The weights the run tested, as `temper eval` scores them, so the reference accuracy is
    // the run's reported one whichever epoch was best.
    saved.choose_weights(None)?;
    // Like `train --out`: a report never lands among another run's files.
    check_run_dir(out)?;
    let exp = &saved.exp;
    let (reference, new) = load_comparable(exp, data, progress)?;
    let (shape, classes) = (reference.test.image_shape(), reference.test.num_classes());
    let model = saved.load_model((&reference.train, &reference.test), progress)?;

    let split = exp.split(reference.train.len())?;
    let all_new: Vec<usize> = (0..new.test.len()).collect();
    let inputs = input_drift(
        &pixel_stats(&reference.train, &split.train),
        &pixel_stats(&new.test, &all_new),
        thresholds,
    );

    let batcher = ImageBatcher::new(model.normalization.clone(), shape);
    progress.message("scoring the run's test split");
    let ref_scored = score(
        &model.model,
        &reference.test,
        &batcher,
        &model.device.device,
    );
    progress.message("scoring the new data");
    let new_scored = score(&model.model, &new.test, &batcher, &model.device.device);
    let predictions = prediction_drift(&ref_scored, &new_scored, classes, thresholds);
    let accuracy = accuracy_drift(&ref_scored.report, &new_scored.report, thresholds);
    let groups = drift_by_group(
        exp,
        data,
        new_groups,
        (&reference, &ref_scored.predicted),
        (&new, &new_scored.predicted),
        thresholds.accuracy_drop,
    )?;
    let verdict = with_worst_group(
        verdict(
            inputs.drift,
            predictions.drift,
            accuracy.drift.then_some(accuracy.drop_points),
        ),
        &groups,
    );

    let report = DriftReport {
        verdict,
        drift: inputs.drift
            || predictions.drift
            || accuracy.drift
            || groups.iter().any(|g| g.drift),
        run_dir: run_dir.to_path_buf(),
        weights: saved.weights.clone(),
        reference_source: exp.data.source.clone(),
        new_source: data.to_string(),
        reference_train_images: split.train.len(),
        reference_test_images: reference.test.len(),
        new_images: new.test.len(),
        thresholds: *thresholds,
        inputs,
        predictions,
        accuracy,
        groups,
    };
    write_report(&report, out)?;
    Ok(report)
}

/// The run's data (`exp`'s source) and the new source `data`, loaded once when they are the
/// same, refused unless the new test split has images of the run's shape and classes.
fn load_comparable(
    exp: &Experiment,
    data: &str,
    progress: &mut dyn Progress,
) -> Result<(DataSplits, DataSplits), TrainError> {
    let reference_source = exp.data.data_source()?;
    let mut new_section = exp.data.clone();
    new_section.source = data.to_string();
    let new_source = new_section.data_source()?;

    progress.message(&format!("loading the run's data: {}", exp.data.source));
    let reference = load_data(&reference_source, progress)?;
    let new = if new_source == reference_source {
        reference.clone()
    } else {
        progress.message(&format!("loading the new data: {data}"));
        load_data(&new_source, progress)?
    };
    let shape = reference.test.image_shape();
    let classes = reference.test.num_classes();
    if new.test.image_shape() != shape || new.test.num_classes() != classes {
        return Err(TrainError::Config(format!(
            "--data {data}: images of shape {:?} in {} classes, but the run's model takes {:?} \
             in {classes}",
            new.test.image_shape(),
            new.test.num_classes(),
            shape
        )));
    }
    if new.test.is_empty() || reference.test.is_empty() {
        return Err(TrainError::Config(format!(
            "--data {data}: no test image to compare"
        )));
    }
    Ok((reference, new))
}

fn input_drift(reference: &PixelStats, new: &PixelStats, t: &DriftThresholds) -> InputDrift {
    let channels: Vec<ChannelDrift> = (0..reference.mean.len())
        .map(|c| {
            let (r, n) = (shares(&reference.histograms[c]), shares(&new.histograms[c]));
            ChannelDrift {
                channel: c,
                reference_mean: reference.mean[c],
                reference_std: reference.std[c],
                new_mean: new.mean[c],
                new_std: new.std[c],
                psi: psi(&r, &n),
                reference_histogram: r,
                new_histogram: n,
            }
        })
        .collect();
    let max_psi = channels.iter().map(|c| c.psi).fold(0.0, f64::max);
    InputDrift {
        channels,
        max_psi,
        drift: max_psi > t.input_psi,
    }
}

fn prediction_drift(
    reference: &Scored,
    new: &Scored,
    classes: usize,
    t: &DriftThresholds,
) -> PredictionDrift {
    let conf_hist = |s: &Scored| {
        shares(&histogram(
            s.confidence.iter().copied(),
            0.0,
            1.0,
            CONFIDENCE_BINS,
        ))
    };
    let class_shares = |s: &Scored| {
        let mut counts = vec![0u64; classes];
        for &p in &s.predicted {
            counts[p] += 1;
        }
        shares(&counts)
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (rh, nh) = (conf_hist(reference), conf_hist(new));
    let (rc, nc) = (class_shares(reference), class_shares(new));
    let ks = ks_two_sample(&reference.confidence, &new.confidence);
    let confidence_psi = psi(&rh, &nh);
    let class_psi = psi(&rc, &nc);
    PredictionDrift {
        reference_mean_confidence: mean(&reference.confidence),
        new_mean_confidence: mean(&new.confidence),
        drift: (ks.d > t.ks_d && ks.p_value < t.ks_p)
            || confidence_psi > t.prediction_psi
            || class_psi > t.prediction_psi,
        ks,
        confidence_psi,
        class_total_variation: total_variation(&rc, &nc),
        class_psi,
        reference_confidence_histogram: rh,
        new_confidence_histogram: nh,
        reference_class_shares: rc,
        new_class_shares: nc,
    }
}

fn accuracy_drift(reference: &TestReport, new: &TestReport, t: &DriftThresholds) -> AccuracyDrift {
    let mut classes: Vec<ClassDrift> = reference
        .classes
        .iter()
        .zip(&new.classes)
        .map(|(r, n)| {
            let both = r.support > 0 && n.support > 0;
            ClassDrift {
                class: r.class.clone(),
                reference_precision: r.precision,
                reference_recall: r.recall,
                reference_f1: r.f1,
                new_precision: n.precision,
                new_recall: n.recall,
                new_f1: n.f1,
                new_support: n.support,
                recall_drop_points: both.then_some((r.recall - n.recall) * 100.0),
                f1_drop_points: both.then_some((r.f1 - n.f1) * 100.0),
            }
        })
        .collect();
    // Largest drop first; classes without a comparison last.
    classes.sort_by(|a, b| match (a.recall_drop_points, b.recall_drop_points) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let drop_points = (reference.scores.accuracy - new.scores.accuracy) * 100.0;
    AccuracyDrift {
        reference: reference.scores,
        new: new.scores,
        drop_points,
        classes,
        drift: drop_points > t.accuracy_drop,
    }
}

/// What the model says about each image of a split.
struct Scored {
    /// The largest softmax probability.
    confidence: Vec<f64>,
    /// The arg-max class (the first on ties, as Burn's `argmax`).
    predicted: Vec<usize>,
    report: TestReport,
}

/// Scores every image of `dataset`: one forward pass per batch, log-softmax read back.
fn score(
    model: &Classifier,
    dataset: &ImageDataset,
    batcher: &ImageBatcher,
    device: &Device,
) -> Scored {
    let k = dataset.num_classes();
    let all: Vec<usize> = (0..dataset.len()).collect();
    let mut confidence = Vec::with_capacity(all.len());
    let mut predicted = Vec::with_capacity(all.len());
    let mut loss_sum = 0.0;
    for chunk in all.chunks(SCORE_BATCH) {
        let batch = batcher.batch_indices(dataset, chunk, device);
        let log_p = log_softmax(model.forward(batch.images), 1)
            .into_data()
            .try_to_vec::<f32>()
            .expect("log-probabilities read back as f32");
        for (row, &i) in log_p.chunks_exact(k).zip(chunk) {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            confidence.push((row[best] as f64).exp());
            predicted.push(best);
            loss_sum -= row[dataset.label(i)] as f64;
        }
    }
    let targets: Vec<usize> = all.iter().map(|&i| dataset.label(i)).collect();
    let mut confusion = ConfusionMatrix::new(k);
    confusion.add(&targets, &predicted);
    let scores = EvalScores {
        loss: loss_sum / all.len().max(1) as f64,
        accuracy: confusion.accuracy(),
        precision: confusion.macro_precision(),
        recall: confusion.macro_recall(),
        f1: confusion.macro_f1(),
    };
    Scored {
        confidence,
        predicted,
        report: TestReport::new(scores, &confusion, dataset.class_names()),
    }
}

#[cfg(test)]
mod tests;
