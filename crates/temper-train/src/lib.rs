//! The temper experiment runner: one TOML [`Experiment`] → data, model, optimizer and schedule
//! → a trained model and a run directory (`config.toml`, `metrics.csv`, `summary.toml`,
//! `checkpoints/{best,last}.bpk`, `checkpoints/resume/` for `--resume`, and the `.lock` its
//! writer holds).
//!
//! Any Burn module implementing [`ImageClassifier`] trains on any
//! [`ImageData`](temper_data::ImageData) through [`train_model`] (and [`resume_model`],
//! [`tune_model`]); `temper train` is [`train`], the same path with the built-in models and data
//! sources.
//!
//! - `classifier.rs`: [`ImageClassifier`] and the losses on its logits.
//! - `config/`: the experiment file and its sections, devices, data sources.
//! - `run/`: the training run, its batches, checkpoints, fine-tuning and run directory.
//! - `score/`: scoring a split, confusion matrix, metrics, reports, charts, a saved run opened
//!   again and `temper eval` on it.
//! - `drift/`: drift of new data against a saved run (`temper monitor`) and its statistics.
//! - `tune/`: the temper-tune adapter and the learning-rate range test.
//!
//! The device is chosen at run time ([`select_device`]). The library never prints: progress
//! reaches the caller through the [`Progress`] trait.

mod classifier;
mod config;
mod drift;
mod error;
mod run;
mod score;
mod tune;

pub use classifier::{ImageClassifier, classification_output, soft_target_output};
pub use config::data_section::{
    DataSection, DataSource, IMAGENET_MEAN, IMAGENET_STD, Loading, MAX_PREFETCH, MAX_WORKERS,
    NormalizationChoice,
};
pub use config::device::{
    Adapter, DeviceChoice, FASTEST_CPU_BACKEND, SelectedDevice, select_device, select_devices,
    wgpu_adapters,
};
pub use config::experiment::{
    Experiment, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_EXPERIMENT_BYTES, TrainSection,
};
pub use config::fairness_section::{FairnessSection, Mitigation};
pub use config::lr_plot::LrPlot;
pub use config::model_section::{DropoutSettings, ModelKind, ModelPlan, ModelSection};
pub use drift::groups::GroupDrift;
pub use drift::stats::{
    KsTest, PIXEL_BINS, PSI_EPSILON, PixelStats, histogram, kolmogorov_sf, ks_two_sample,
    pixel_stats, psi, shares, total_variation,
};
pub use drift::{
    AccuracyDrift, CONFIDENCE_BINS, ChannelDrift, ClassDrift, DriftReport, DriftThresholds,
    InputDrift, PredictionDrift, check_drift, verdict,
};
pub use error::TrainError;
pub use run::augment::augment_preview;
pub use run::checkpoint::RESUME_DIR;
pub use run::finetune::{DEFAULT_LR_FACTOR, FinetuneSection};
pub use run::loader::{LoadedBatch, for_each_batch};
pub use run::lock::{LOCK_FILE, RunLock};
pub use run::run_dir::{
    BEST_MODEL, CHECKPOINT_DIR, CONFIG_FILE, LAST_MODEL, METRICS_FILE, SUMMARY_FILE, check_run_dir,
    create_run_dir, next_run_dir, write_atomic,
};
pub use run::slim::prune_run;
pub use run::step::Stepper;
pub use run::{
    LoadedData, Progress, RunSummary, Silent, TrainData, load_data, open_data, resume,
    resume_model, stream_threshold, train, train_model,
};
pub use score::compare::{
    COMPARISON_FILE, ComparedRun, Comparison, MAX_COMPARED_RUNS, compare_runs,
};
pub use score::confusion::ConfusionMatrix;
pub use score::efficiency::{THROUGHPUT_BATCH, measure as measure_efficiency};
pub use score::eval_run::{EvalRun, eval_run, eval_run_weights};
pub use score::export_run::{EXPORT_FILE, ExportedRun, export_run};
pub use score::html::write_report_html;
pub use score::inspect_run::{Inspection, inspect_run};
pub use score::metrics::{
    EpochMetrics, EvalScores, METRIC_NAMES, METRICS_HEADER, WORST_GROUP_COLUMN, is_metric,
    metrics_csv,
};
pub use score::plot;
pub use score::quantize_run::{INT8_FILE, QuantizedRun, quantize_run};
pub use score::report::{ClassScores, RecallGap, TestReport, write_curves};
pub use score::saved_run::EvalWeights;
pub use score::split_scores::{StepTotals, evaluate, evaluate_with_confusion};
pub use tune::lr_find::{LrFindResult, LrFindSection, MAX_LR_FIND_STEPS, lr_find, suggest};
pub use tune::{
    TrialRunner, TuneProgress, TuneSection, TuneSummary, describe_params, tune, tune_model,
    tune_with,
};
