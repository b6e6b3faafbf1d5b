//! The temper experiment runner: one TOML [`Experiment`] → data, model, optimizer and schedule
//! → a trained model and a run directory (`config.toml`, `metrics.csv`, `summary.toml`,
//! `checkpoints/{best,last}.bpk`, and `checkpoints/resume/` for `--resume`).
//!
//! The device is chosen at run time ([`select_device`]). The library never prints: progress
//! reaches the caller through the [`Progress`] trait.

mod augment;
mod batches;
mod checkpoint;
mod confusion;
mod data_source;
mod device;
mod drift;
mod error;
mod eval;
mod evaluate;
mod experiment;
mod finetune;
mod finish;
mod lr_find;
mod metrics;
mod model_section;
mod monitor;
pub mod plot;
mod report;
mod run_dir;
mod schedule_curve;
mod step;
mod trainer;
mod tune;

#[cfg(test)]
mod config_mutation_tests;
#[cfg(test)]
mod finetune_tests;
#[cfg(test)]
mod monitor_tests;
#[cfg(test)]
mod training_tests;
#[cfg(test)]
mod tuning_tests;

pub use augment::augment_preview;
pub use checkpoint::RESUME_DIR;
pub use confusion::ConfusionMatrix;
pub use device::{
    Adapter, DeviceChoice, FASTEST_CPU_BACKEND, SelectedDevice, select_device, select_devices,
    wgpu_adapters,
};
pub use drift::{
    KsTest, PIXEL_BINS, PSI_EPSILON, PixelStats, histogram, kolmogorov_sf, ks_two_sample,
    pixel_stats, psi, shares, total_variation,
};
pub use error::TrainError;
pub use eval::{EvalRun, eval_run};
pub use evaluate::{StepTotals, evaluate, evaluate_with_confusion};
pub use experiment::{DataSection, DataSource, Experiment, TrainSection};
pub use finetune::{DEFAULT_LR_FACTOR, FinetuneSection};
pub use lr_find::{LrFindResult, LrFindSettings, lr_find, suggest};
pub use metrics::{EpochMetrics, EvalScores, METRIC_NAMES, METRICS_HEADER, metrics_csv};
pub use model_section::{DropoutKind, DropoutSpec, ModelKind, ModelPlan, ModelSection};
pub use monitor::{
    AccuracyDrift, CONFIDENCE_BINS, ChannelDrift, ClassDrift, DriftThresholds, InputDrift,
    MonitorReport, PredictionDrift, monitor_run, verdict,
};
pub use report::{ClassScores, RecallGap, TestReport, write_curves};
pub use run_dir::{
    BEST_MODEL, CHECKPOINT_DIR, CONFIG_FILE, LAST_MODEL, METRICS_FILE, SUMMARY_FILE, check_run_dir,
    create_run_dir, next_run_dir, write_atomic,
};
pub use schedule_curve::ScheduleCurve;
pub use step::Stepper;
pub use trainer::{Progress, RunSummary, Silent, load_data, resume, train};
pub use tune::{TuneSection, TuneSummary, describe_params, tune};
