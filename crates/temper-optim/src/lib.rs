//! Optimizers, learning-rate schedules, early stopping and weight averaging for Burn models.
//!
//! - [`OptimizerSettings`]: SGD (momentum, Nesterov), Adam, AdamW, AdaGrad and RMSprop presets
//!   whose defaults are PyTorch's, built into Burn's `ModuleOptimizer`.
//! - [`LrSchedule`]: constant, cosine, step and exponential schedules over Burn's
//!   schedulers, counted per epoch or per optimizer step.
//! - [`EarlyStopping`]: Keras' and Lightning's early-stopping rules as one state machine that
//!   always knows the best epoch (restore-best), also as a burn-train strategy
//!   ([`LearnerEarlyStopping`]).
//! - [`ModelEma`]: an exponential moving average of a model's weights, timm `ModelEmaV3`.
//!
//! Everything here works in a hand-written loop and with burn-train's `Learner`.

mod early_stopping;
mod ema;
mod error;
mod optimizer;
mod schedule;

pub use early_stopping::{
    Best, EarlyStopping, EarlyStoppingSettings, LearnerEarlyStopping, MinDeltaMode, MonitorMode,
    StopReason, Update,
};
pub use ema::{EmaSettings, ModelEma};
pub use error::OptimError;
pub use optimizer::{OptimizerKind, OptimizerSettings};
pub use schedule::{Interval, LrSchedule, ScheduleKind, ScheduleSettings};
