//! The learning-rate range test (Smith 2017, <https://arxiv.org/abs/1506.01186>, section 3.3),
//! as PyTorch Lightning's `Tuner.lr_find` runs it: train from the experiment's initial model
//! while the learning rate grows exponentially from `min_lr` to `max_lr`, smooth the loss, stop
//! once it diverges, and suggest the rate where the smoothed loss falls fastest.
//!
//! The sweep is at most [`MAX_LR_FIND_STEPS`] steps (`--steps`), and its batches are drawn one
//! at a time, so what it holds grows with the steps taken, not with the number asked for.

use std::path::Path;

use burn::module::Module;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use temper_data::ImageBatcher;

use crate::config::device::select_device;
use crate::config::experiment::Experiment;
use crate::error::{TrainError, io_err};
use crate::run::batches::{HostContent, HostStage};
use crate::run::run_dir::write_atomic;
use crate::run::step::Stepper;
use crate::run::{Progress, fit_normalization, open_data};
use crate::score::html::write_report_html;
use crate::score::plot::{ChartFile, LineChart, Series};

/// Most steps of a sweep (`--steps`): 100,000, a thousand times Lightning's default of 100.
/// The sweep keeps three numbers per step for its CSV and chart, and a sweep longer than a
/// few thousand steps only repeats epochs of training at rates that have long diverged.
pub const MAX_LR_FIND_STEPS: usize = 100_000;

/// `[lr_find]`: how the sweep runs, with Lightning's `lr_find` defaults. `temper lr-find`'s
/// `--min-lr`, `--max-lr` and `--steps` override the keys of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LrFindSection {
    /// Rate of the first step (Lightning: 1e-8).
    pub min_lr: f64,
    /// Rate of the sweep's last step, reached when it does not diverge first (Lightning: 1).
    pub max_lr: f64,
    /// Optimizer steps of the sweep (Lightning `num_training = 100`).
    pub steps: usize,
    /// Exponential smoothing of the loss (Lightning and fastai: 0.98), bias-corrected.
    pub beta: f64,
    /// Stop once the smoothed loss exceeds this many times its best (Lightning: 4).
    pub diverge_factor: f64,
    /// Points ignored at the start when suggesting (Lightning: 10).
    pub skip_begin: usize,
    /// Points ignored at the end when suggesting (Lightning: 1).
    pub skip_end: usize,
}

impl Default for LrFindSection {
    fn default() -> Self {
        Self {
            min_lr: 1e-8,
            max_lr: 1.0,
            steps: 100,
            beta: 0.98,
            diverge_factor: 4.0,
            skip_begin: 10,
            skip_end: 1,
        }
    }
}

impl LrFindSection {
    /// Checks every key, naming it (and the flag that overrides it) in the error.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |key: &str, msg: String| Err(TrainError::Config(format!("lr_find.{key}: {msg}")));
        if !(self.min_lr > 0.0 && self.min_lr.is_finite()) {
            return bad(
                "min_lr (--min-lr)",
                format!("must be > 0, got {}", self.min_lr),
            );
        }
        if !(self.max_lr > self.min_lr && self.max_lr.is_finite()) {
            return bad(
                "max_lr (--max-lr)",
                format!(
                    "must be above min_lr = {}, got {}",
                    self.min_lr, self.max_lr
                ),
            );
        }
        // Lightning's smoothing factor: 0 keeps the raw loss, 1 would never move.
        if !(0.0..1.0).contains(&self.beta) {
            return bad("beta", format!("must be in [0, 1), got {}", self.beta));
        }
        if !(self.diverge_factor > 1.0 && self.diverge_factor.is_finite()) {
            return bad(
                "diverge_factor",
                format!(
                    "must be a finite number above 1, got {}",
                    self.diverge_factor
                ),
            );
        }
        let least = self
            .skip_begin
            .saturating_add(self.skip_end)
            .saturating_add(2);
        if self.steps < least {
            return bad(
                "steps (--steps)",
                format!(
                    "must be at least skip_begin + skip_end + 2 = {least} to leave points to \
                     choose from"
                ),
            );
        }
        if self.steps > MAX_LR_FIND_STEPS {
            return bad(
                "steps (--steps)",
                format!("at most {MAX_LR_FIND_STEPS}, got {}", self.steps),
            );
        }
        Ok(())
    }

    /// The rate of sweep step `i`: `min_lr * (max_lr / min_lr)^(i / (steps - 1))`.
    pub fn lr_at(&self, i: usize) -> f64 {
        let frac = i as f64 / (self.steps - 1) as f64;
        self.min_lr * (self.max_lr / self.min_lr).powf(frac)
    }
}

/// What the sweep saw.
#[derive(Debug, Clone, PartialEq)]
pub struct LrFindResult {
    /// Learning rate of each step taken, rising from `min_lr`; fewer than `steps` when the
    /// sweep diverged.
    pub lrs: Vec<f64>,
    /// Training loss of each step's batch (the data loss, without penalties).
    pub losses: Vec<f64>,
    /// Bias-corrected exponential moving average of `losses`.
    pub smoothed: Vec<f64>,
    /// Whether the sweep stopped on divergence before `max_lr`.
    pub diverged: bool,
    /// Index of the suggested rate, when enough points remain after the skips.
    pub suggestion: Option<usize>,
    /// Whether the experiment's optimizer had hypergradient descent, which the sweep left out:
    /// it swept the base rule, whose suggestion is the rate hypergradient descent starts from.
    pub without_hypergradient: bool,
}

impl LrFindResult {
    /// The suggested learning rate.
    pub fn suggested_lr(&self) -> Option<f64> {
        self.suggestion.map(|i| self.lrs[i])
    }

    /// `step,lr,loss,smoothed_loss` rows.
    pub fn csv(&self) -> String {
        let mut out = String::from("step,lr,loss,smoothed_loss\n");
        for i in 0..self.lrs.len() {
            out.push_str(&format!(
                "{i},{:e},{},{}\n",
                self.lrs[i], self.losses[i], self.smoothed[i]
            ));
        }
        out
    }

    /// Writes `lr_find.csv` (raw and smoothed losses) and `lr_find.png` (smoothed loss against the
    /// rate, suggestion marked)
    /// into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        write_atomic(&dir.join("lr_find.csv"), self.csv().as_bytes())?;
        let points = |ys: &[f64]| self.lrs.iter().copied().zip(ys.iter().copied()).collect();
        LineChart {
            title: "learning-rate range test".into(),
            x_label: "learning rate".into(),
            y_label: "training loss".into(),
            log_x: true,
            // The smoothed loss only, as Lightning plots it: raw minibatch losses near
            // divergence would set the scale (they are in the CSV).
            series: vec![Series {
                name: "smoothed loss".into(),
                points: points(&self.smoothed),
            }],
            marker: self.suggestion.map(|i| {
                (
                    self.lrs[i],
                    self.smoothed[i],
                    format!("suggested {:.2e}", self.lrs[i]),
                )
            }),
            legend: true,
            x_labels: None,
            ..LineChart::default()
        }
        .write_png(&dir.join("lr_find.png"))?;
        write_report_html(dir, "Learning-rate range test", &[])
    }
}

/// Runs the range test on `exp`'s data, model and optimizer (its schedule is not used).
pub fn lr_find(
    exp: &Experiment,
    sweep: &LrFindSection,
    progress: &mut dyn Progress,
) -> Result<LrFindResult, TrainError> {
    exp.validate()?;
    sweep.validate()?;
    let seed = exp.train.seed;
    progress.message(&format!("loading data: {}", exp.data.source));
    let data = open_data(&exp.data, progress)?;
    let train = data.train();
    let plan = exp.model.plan(train.image_shape(), train.num_classes())?;
    let split = exp.split(train.len())?;
    let selected = select_device(exp.train.device)?;
    progress.message(&format!("device: {}", selected.reason));
    let device = selected.device.autodiff();
    device.seed(seed);
    let batcher = ImageBatcher::new(
        fit_normalization(train, &split.train, seed)?,
        train.image_shape(),
    );
    // The training batches without augmentation, read as a run reads them (a streamed
    // folder's images decoded in parallel, unreadable ones left out).
    let stage = HostStage {
        dataset: train,
        batcher: &batcher,
        augmenter: None,
        mix: None,
        seed,
        device_ops: false,
    };
    let mut model = plan.init(&device);
    let mut optim = exp.optim.resolve()?;
    // Hypergradient descent sets the rate itself after the first step, so a sweep through it
    // would record rates it never used: the sweep runs the base rule (sgd-hd sweeps sgd), and
    // its suggestion is the initial rate hypergradient descent starts from.
    let without_hypergradient = optim.hypergradient.take().is_some();
    let mut stepper = Stepper::new(&optim, &exp.regularization)?;

    let mut order = split.train.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Shuffled epochs of batches, drawn as the sweep goes: the same sequence as shuffling
    // each epoch in turn up front.
    let batch_size = exp.train.batch_size;
    let batches = std::iter::repeat_with(move || {
        order.shuffle(&mut rng);
        order
            .chunks(batch_size)
            .map(<[usize]>::to_vec)
            .collect::<Vec<_>>()
    })
    .flatten();
    progress.epoch_start(1, 1, sweep.steps);
    let (mut lrs, mut losses, mut smoothed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut average, mut best) = (0.0f64, f64::INFINITY);
    let mut diverged = false;
    for (i, chunk) in batches.take(sweep.steps).enumerate() {
        let lr = sweep.lr_at(i);
        let host = stage.build(&chunk, 1, i).map_err(TrainError::Config)?;
        let HostContent::Values { values, .. } = host.content else {
            unreachable!("a stage without device ops normalizes on the host")
        };
        let batch = batcher.batch_values(values, &host.labels, &device);
        let out;
        (model, out) = stepper.step(model, batch, lr);
        let loss = out.loss.into_scalar::<f32>() as f64;
        // Lightning's _LRCallback: avg = beta * avg + (1 - beta) * loss, debiased by
        // 1 - beta^(i + 1).
        average = sweep.beta * average + (1.0 - sweep.beta) * loss;
        let smooth = average / (1.0 - sweep.beta.powi(i as i32 + 1));
        lrs.push(lr);
        losses.push(loss);
        smoothed.push(smooth);
        progress.step(i + 1, Some(loss));
        if !smooth.is_finite() || (i > 0 && smooth > sweep.diverge_factor * best) {
            diverged = true;
            break;
        }
        best = best.min(smooth);
    }
    let _ = model.valid();
    let suggestion = suggest(&smoothed, sweep.skip_begin, sweep.skip_end);
    Ok(LrFindResult {
        lrs,
        losses,
        smoothed,
        diverged,
        suggestion,
        without_hypergradient,
    })
}

/// Index of the steepest descent of `smoothed` after dropping `skip_begin` and `skip_end`
/// points (Lightning `_LRFinder.suggestion`: arg-min of `np.gradient` of the loss). With an
/// exponential sweep the points are evenly spaced in log(lr), so this is also the steepest
/// descent per decade of learning rate.
pub fn suggest(smoothed: &[f64], skip_begin: usize, skip_end: usize) -> Option<usize> {
    let end = smoothed.len().checked_sub(skip_end)?;
    if end < skip_begin + 2 {
        return None;
    }
    let window = &smoothed[skip_begin..end];
    let finite: Vec<(usize, f64)> = window
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .collect();
    if finite.len() < 2 {
        return None;
    }
    // np.gradient: one-sided differences at the ends, central differences inside.
    let n = finite.len();
    let gradient = |k: usize| -> f64 {
        match k {
            0 => finite[1].1 - finite[0].1,
            k if k == n - 1 => finite[k].1 - finite[k - 1].1,
            k => (finite[k + 1].1 - finite[k - 1].1) / 2.0,
        }
    };
    (0..n)
        .min_by(|&a, &b| gradient(a).total_cmp(&gradient(b)))
        .map(|k| finite[k].0 + skip_begin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_is_numpy_gradients_arg_min_after_the_skips() {
        // np.gradient([5, 4, 2, 1.5, 1.4, 3]) = [-1, -1.5, -1.25, -0.3, 0.75, 1.6]: arg-min 1.
        let losses = [9.0, 9.0, 5.0, 4.0, 2.0, 1.5, 1.4, 3.0, 100.0];
        assert_eq!(suggest(&losses, 2, 1), Some(2 + 1));
        assert_eq!(suggest(&losses[..4], 2, 1), None);
    }

    #[test]
    fn the_sweep_is_exponential_from_min_to_max() {
        let s = LrFindSection {
            min_lr: 1e-6,
            max_lr: 1.0,
            steps: 7,
            skip_begin: 1,
            skip_end: 1,
            ..Default::default()
        };
        let lrs: Vec<f64> = (0..7).map(|i| s.lr_at(i)).collect();
        for (i, lr) in lrs.iter().enumerate() {
            assert!((lr.log10() - (-6.0 + i as f64)).abs() < 1e-12, "{lrs:?}");
        }
        assert!(
            LrFindSection {
                steps: 5,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
