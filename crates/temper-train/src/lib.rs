//! The temper experiment runner: one TOML [`Experiment`] → data, model, optimizer and schedule
//! → a trained model and a run directory (`config.toml`, `metrics.csv`, `summary.toml`,
//! `checkpoints/{best,last}.bpk`, `checkpoints/last-optimizer.bpk`).
//!
//! The device is chosen at run time ([`select_device`]). The library never prints: progress
//! reaches the caller through the [`Progress`] trait.

mod augment;
mod batches;
mod confusion;
mod device;
mod error;
mod eval;
mod experiment;
mod lr_find;
mod metrics;
mod model_section;
pub mod plot;
mod report;
mod run_dir;
mod schedule_curve;
mod step;
mod trainer;
mod tune;

#[cfg(test)]
mod training_tests;
#[cfg(test)]
mod tuning_tests;

pub use augment::augment_preview;
pub use confusion::ConfusionMatrix;
pub use device::{
    Adapter, DeviceChoice, FASTEST_CPU_BACKEND, SelectedDevice, select_device, wgpu_adapters,
};
pub use error::TrainError;
pub use eval::{EvalRun, eval_run};
pub use experiment::{DataSection, DataSource, Experiment, TrainSection};
pub use lr_find::{LrFindResult, LrFindSettings, lr_find, suggest};
pub use metrics::{EpochMetrics, EvalScores, METRIC_NAMES, METRICS_HEADER, Scores, metrics_csv};
pub use model_section::{DropoutKind, DropoutSpec, ModelKind, ModelPlan, ModelSection};
pub use report::{ClassScores, RecallGap, TestReport, write_curves};
pub use run_dir::{
    BEST_MODEL, CHECKPOINT_DIR, CONFIG_FILE, LAST_MODEL, LAST_OPTIMIZER, LAST_SCHEDULE,
    METRICS_FILE, SUMMARY_FILE, check_run_dir, create_run_dir, next_run_dir, write_atomic,
};
pub use schedule_curve::ScheduleCurve;
pub use step::Stepper;
pub use trainer::{
    Progress, RunSummary, Silent, evaluate, evaluate_with_confusion, load_data, train,
};
pub use tune::{TuneSection, TuneSummary, describe_params, tune};
