//! The training loop.
//!
//! temper runs its own loop rather than burn-train's `Learner`: the later pieces need to act
//! between steps and between epochs with state the `Learner` does not expose — a
//! reduce-on-plateau schedule fed the validation metric, restore-best-weights, EMA weights,
//! hypergradient learning rates — and a plain loop lets the statistics of a step stay on the
//! device (read back every few steps, not every step, which matters on a GPU). The model still
//! implements burn-train's `TrainStep`/`InferenceStep`, so a Burn user can train it with a
//! `Learner` instead.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::lr_scheduler::LrScheduler;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use temper_data::{
    ImageBatcher, ImageDataset, MnistSplits, Normalization, bundled_mnist, read_mnist_dir,
};
use temper_model::Classifier;
use temper_optim::{EarlyStopping, LrSchedule, ModelEma};

use crate::augment::{BatchAugmenter, has_image_ops, parse_augment};
use crate::batches::BatchBuilder;
use crate::confusion::ConfusionMatrix;
use crate::device::{DeviceChoice, select_device};
use crate::error::TrainError;
use crate::experiment::{DataSource, Experiment};
use crate::metrics::{EpochMetrics, EvalScores, Scores, metrics_csv};
use crate::report::{TestReport, write_curves};
use crate::run_dir::{
    BEST_MODEL, CONFIG_FILE, LAST_MODEL, LAST_OPTIMIZER, LAST_SCHEDULE, METRICS_FILE, SUMMARY_FILE,
    check_run_dir, create_run_dir, write_atomic,
};
use crate::step::Stepper;

/// Receives what a run is doing, for a progress display. Every method has an empty default.
pub trait Progress {
    /// A one-line status (data loaded, device chosen, ...).
    fn message(&mut self, _text: &str) {}
    /// Training epoch `epoch` (1-based) of `epochs` begins, with `steps` optimizer steps.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// `done` steps of the epoch are finished; `loss` is the running mean when it was read.
    fn step(&mut self, _done: usize, _loss: Option<f64>) {}
    /// The epoch and its validation are finished.
    fn epoch_end(&mut self, _metrics: &EpochMetrics) {}
    /// Asked after each epoch's checkpoints are written; `false` ends training there (a tuning
    /// pruner uses it). The run still tests and writes its summary.
    fn keep_going(&mut self) -> bool {
        true
    }
    /// Tuning: trial `number` starts, `done` of `total` trials being finished; `params` in
    /// `key=value` form.
    fn trial_start(&mut self, _number: u64, _done: usize, _total: usize, _params: &str) {}
    /// Tuning: a trial ended, described in one line.
    fn trial_end(&mut self, _line: &str) {}
}

/// A [`Progress`] that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// How often (in steps) the running loss is read back from the device for display.
const READ_EVERY: usize = 10;
/// Batch size for validation and test passes (no gradients, so larger is cheaper).
const EVAL_BATCH: usize = 500;

/// What a finished run reports; also written to `summary.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    /// Backend and why it was chosen.
    pub device: String,
    pub train_images: usize,
    pub valid_images: usize,
    pub test_images: usize,
    /// Per-channel normalization fitted on the training split.
    pub normalization_mean: Vec<f32>,
    pub normalization_std: Vec<f32>,
    /// Epochs actually run (fewer than asked when early stopping fired).
    pub epochs_run: usize,
    /// The metric that picks the best epoch (`[early_stopping] monitor`, else the validation
    /// loss, else the training loss).
    pub monitor: String,
    /// Epoch of the `best` checkpoint.
    pub best_epoch: usize,
    /// Why training stopped before its last epoch, when it did.
    pub stop_reason: Option<String>,
    /// Which weights the test scores are of: `"best epoch N"` (restore-best) or `"last epoch"`.
    pub tested_weights: String,
    /// Scores of those weights on the test split.
    pub test: EvalScores,
    /// Wall time of all epochs and the test pass.
    pub seconds: f64,
    /// Per-class test scores, recall gap and confusion matrix (also in `report.json`).
    #[serde(skip)]
    pub report: TestReport,
    #[serde(skip)]
    pub epochs: Vec<EpochMetrics>,
}

/// Loads the data an experiment names.
pub fn load_data(source: &DataSource) -> Result<MnistSplits, TrainError> {
    Ok(match source {
        DataSource::Bundled => bundled_mnist()?,
        DataSource::Mnist(dir) => read_mnist_dir(dir)?,
    })
}

/// Runs `exp` and writes its run directory at `run_dir` (which must be new or empty).
pub fn train(
    exp: &Experiment,
    run_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    exp.validate()?;
    check_run_dir(run_dir)?;
    let resolved = exp.resolved()?;
    let (seed, batch_size, epochs) = (exp.train.seed, exp.train.batch_size, exp.train.epochs);

    let source = exp.data.data_source()?;
    progress.message(&format!("loading data: {}", exp.data.source));
    let data = load_data(&source)?;
    let plan = exp
        .model
        .plan(data.train.image_shape(), data.train.num_classes())?;
    let split = exp.split(data.train.len())?;
    let selected = select_device(exp.train.device)?;
    progress.message(&format!("device: {}", selected.reason));

    let augment = parse_augment(exp.augment.as_ref())?;
    let augmenter = match &augment {
        Some(settings) if has_image_ops(settings) => {
            Some(BatchAugmenter::new(settings, seed, &data.train)?)
        }
        _ => None,
    };
    let mix = match &augment {
        Some(settings) if settings.uses_soft_targets() => Some(
            settings
                .mix()
                .map_err(|e| TrainError::Config(format!("augment: {e}")))?,
        ),
        _ => None,
    };
    let normalization = Normalization::fit(&data.train, &split.train);
    let batcher = ImageBatcher::new(normalization.clone(), data.train.image_shape());
    let train_device = selected.device.clone().autodiff();
    let eval_device = selected.device.clone();
    let mut batches = BatchBuilder {
        dataset: &data.train,
        batcher: &batcher,
        normalization: &normalization,
        augmenter: augmenter.as_ref(),
        mix: mix.as_ref(),
        device: &train_device,
        seed,
        // The device path pays off where the model runs on a GPU; on a CPU backend the
        // rayon-parallel image path is as fast and exact.
        on_device: selected.backend == DeviceChoice::Wgpu,
    };
    train_device.seed(seed);
    let mut model = plan.init(&train_device);
    exp.regularization.check_patterns(&model)?;
    let mut stepper = Stepper::new(&resolved.optim, &exp.regularization)?;
    let mut ema = match &resolved.optim.ema {
        Some(settings) => Some(ModelEma::new(&model, settings)?),
        None => None,
    };
    let steps_per_epoch = split.train.len().div_ceil(batch_size);
    let mut schedule = LrSchedule::new(
        &exp.schedule,
        resolved.optim.learning_rate(),
        epochs,
        steps_per_epoch,
    )?;
    let plateau_monitor = LrSchedule::plateau_monitor(&exp.schedule);
    if let Some(name) = plateau_monitor.as_ref().filter(|m| m.starts_with("valid_"))
        && split.valid.is_empty()
    {
        return Err(TrainError::Config(format!(
            "schedule.plateau.monitor: {name} needs validation images, and the split left none; \
             raise data.valid_fraction or data.limit_train"
        )));
    }
    let watch = exp.best_epoch_watch(!split.valid.is_empty());
    let mut stopper = EarlyStopping::new(&watch)?;

    // Only now, with everything checked, touch the file system.
    create_run_dir(run_dir)?;
    write_atomic(
        &run_dir.join(CONFIG_FILE),
        resolved.to_toml_string().as_bytes(),
    )?;

    let started = Instant::now();
    let mut history: Vec<EpochMetrics> = Vec::with_capacity(epochs);
    let mut best_model: Option<Classifier> = None;
    let mut stop_reason = None;
    let mut order = split.train.clone();
    let mut evaluated = model.valid();
    for epoch in 1..=epochs {
        let epoch_started = Instant::now();
        progress.epoch_start(epoch, epochs, steps_per_epoch);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(epoch as u64);
        order.shuffle(&mut rng);

        let mut loss_sum = Tensor::<1>::zeros([1], &train_device);
        let mut correct = Tensor::<1, Int>::zeros([1], &train_device);
        let mut seen = 0usize;
        for (step, chunk) in order.chunks(batch_size).enumerate() {
            let lr = schedule.next_lr();
            let (batch, soft) = batches.build(chunk, epoch, step, progress)?;
            let out;
            (model, out) = match soft {
                Some(soft) => stepper.step_soft(model, batch, soft, lr),
                None => stepper.step(model, batch, lr),
            };
            if let Some(ema) = ema.as_mut() {
                ema.update(&model)?;
            }
            loss_sum = loss_sum + out.loss.mul_scalar(chunk.len() as f32);
            correct = correct + count_correct(out.output, out.targets);
            seen += chunk.len();

            let done = step + 1;
            let shown = (done % READ_EVERY == 0 || done == steps_per_epoch)
                .then(|| read_f64(&loss_sum) / seen as f64);
            if let Some(loss) = shown.filter(|l| !l.is_finite()) {
                return Err(TrainError::Diverged {
                    epoch,
                    step: done,
                    loss,
                });
            }
            progress.step(done, shown);
        }
        let train_scores = Scores {
            loss: read_f64(&loss_sum) / seen as f64,
            accuracy: read_int(&correct) as f64 / seen as f64,
        };
        // With EMA on, the average is the model that is validated, kept and saved.
        evaluated = match &ema {
            Some(ema) => ema.ema().clone(),
            None => model.valid(),
        };
        let valid = (!split.valid.is_empty()).then(|| {
            evaluate(
                &evaluated,
                &data.train,
                &split.valid,
                &batcher,
                &eval_device,
            )
        });
        let metrics = EpochMetrics {
            epoch,
            train: train_scores,
            valid,
            lr: stepper.hypergradient_lr().unwrap_or(schedule.current()),
            seconds: epoch_started.elapsed().as_secs_f64(),
        };
        progress.epoch_end(&metrics);
        let monitored = metrics
            .metric(&watch.monitor)
            .expect("the monitor was validated against the splits");
        if let Some(name) = &plateau_monitor {
            let value = metrics
                .metric(name)
                .expect("the plateau monitor was validated against the splits");
            if schedule.observe(value) {
                progress.message(&format!(
                    "epoch {epoch}: {name} has plateaued, learning rate reduced to {:.3e}",
                    schedule.lr_at(schedule.iteration())
                ));
            }
        }
        history.push(metrics);
        write_atomic(
            &run_dir.join(METRICS_FILE),
            metrics_csv(&history).as_bytes(),
        )?;

        let update = stopper.update(epoch, monitored);
        let model_bytes = save_bytes(run_dir, evaluated.clone())?;
        if update.improved {
            best_model = Some(evaluated.clone());
            write_atomic(&run_dir.join(BEST_MODEL), &model_bytes)?;
        }
        write_atomic(&run_dir.join(LAST_MODEL), &model_bytes)?;
        let optim_bytes = stepper
            .optimizer()
            .into_bytes()
            .map_err(|e| TrainError::Checkpoint {
                path: run_dir.join(LAST_OPTIMIZER),
                message: e.to_string(),
            })?;
        write_atomic(&run_dir.join(LAST_OPTIMIZER), &optim_bytes)?;
        let schedule_bytes =
            schedule
                .to_record()
                .into_bytes()
                .map_err(|e| TrainError::Checkpoint {
                    path: run_dir.join(LAST_SCHEDULE),
                    message: e.to_string(),
                })?;
        write_atomic(&run_dir.join(LAST_SCHEDULE), &schedule_bytes)?;
        if let Some(reason) = update.stop {
            progress.message(&format!("early stopping after epoch {epoch}: {reason}"));
            stop_reason = Some(reason.to_string());
            break;
        }
        if !progress.keep_going() {
            stop_reason = Some(format!("stopped by the caller after epoch {epoch}"));
            break;
        }
    }

    let best_epoch = stopper.best_epoch().unwrap_or(history.len());
    // Restore-best applies whether or not early stopping fired (unlike Keras, issue #12511).
    let (final_model, tested_weights) = match best_model {
        Some(best) if watch.restore_best_weights => (best, format!("best epoch {best_epoch}")),
        _ => (evaluated, "last epoch".to_string()),
    };
    progress.message(&format!(
        "testing the {tested_weights} weights on {} images",
        data.test.len()
    ));
    let all_test: Vec<usize> = (0..data.test.len()).collect();
    let (test, confusion) =
        evaluate_with_confusion(&final_model, &data.test, &all_test, &batcher, &eval_device);
    let report = TestReport::new(test, &confusion, data.test.class_names());
    report.write(
        run_dir,
        "Test report",
        &format!(
            "{} weights of `{}` on the {} test images of `{}`; device: {}.",
            tested_weights,
            run_dir.display(),
            data.test.len(),
            exp.data.source,
            selected.reason
        ),
    )?;
    write_curves(run_dir, &history)?;
    let summary = RunSummary {
        run_dir: run_dir.to_path_buf(),
        device: selected.reason,
        train_images: split.train.len(),
        valid_images: split.valid.len(),
        test_images: data.test.len(),
        normalization_mean: normalization.mean,
        normalization_std: normalization.std,
        epochs_run: history.len(),
        monitor: watch.monitor.clone(),
        best_epoch,
        stop_reason,
        tested_weights,
        test,
        seconds: started.elapsed().as_secs_f64(),
        report,
        epochs: history,
    };
    let text = toml::to_string_pretty(&summary).expect("summary serializes");
    write_atomic(&run_dir.join(SUMMARY_FILE), text.as_bytes())?;
    Ok(summary)
}

/// Number of rows whose arg-max logit equals the target.
///
/// # Shapes
/// - logits: `[batch, classes]`, targets: `[batch]`, output: `[1]`
fn count_correct(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1, Int> {
    logits
        .argmax(1)
        .squeeze_dim::<1>(1)
        .equal(targets)
        .int()
        .sum()
}

/// Scores of `model` (already in validation mode) on `indices` of `dataset`.
pub fn evaluate(
    model: &Classifier,
    dataset: &ImageDataset,
    indices: &[usize],
    batcher: &ImageBatcher,
    device: &Device,
) -> EvalScores {
    evaluate_with_confusion(model, dataset, indices, batcher, device).0
}

/// [`evaluate`], with the confusion matrix the scores come from.
pub fn evaluate_with_confusion(
    model: &Classifier,
    dataset: &ImageDataset,
    indices: &[usize],
    batcher: &ImageBatcher,
    device: &Device,
) -> (EvalScores, ConfusionMatrix) {
    let mut loss_sum = Tensor::<1>::zeros([1], device);
    let mut confusion = ConfusionMatrix::new(dataset.num_classes());
    for chunk in indices.chunks(EVAL_BATCH) {
        let out = model.forward_classification(batcher.batch_indices(dataset, chunk, device));
        loss_sum = loss_sum + out.loss.mul_scalar(chunk.len() as f32);
        let predicted: Vec<usize> = out
            .output
            .argmax(1)
            .into_data_as::<i64>()
            .try_to_vec::<i64>()
            .expect("arg-max indices read back as i64")
            .into_iter()
            .map(|p| p as usize)
            .collect();
        let targets: Vec<usize> = chunk.iter().map(|&i| dataset.label(i)).collect();
        confusion.add(&targets, &predicted);
    }
    let scores = EvalScores {
        loss: read_f64(&loss_sum) / indices.len().max(1) as f64,
        accuracy: confusion.accuracy(),
        precision: confusion.macro_precision(),
        recall: confusion.macro_recall(),
        f1: confusion.macro_f1(),
    };
    (scores, confusion)
}

fn read_f64(t: &Tensor<1>) -> f64 {
    t.clone().into_scalar::<f32>() as f64
}

fn read_int(t: &Tensor<1, Int>) -> i64 {
    t.clone().into_scalar::<i64>()
}

fn save_bytes(run_dir: &Path, model: Classifier) -> Result<Vec<u8>, TrainError> {
    model
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| TrainError::Checkpoint {
            path: run_dir.join(LAST_MODEL),
            message: e.to_string(),
        })
}
