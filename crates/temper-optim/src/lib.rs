//! Optimizers and learning-rate schedules for Burn models.
//!
//! - [`OptimizerSettings`]: SGD (momentum, Nesterov), Adam, AdamW, AdaGrad and RMSprop presets
//!   whose defaults are PyTorch's, built into Burn's `ModuleOptimizer`.
//! - [`LrSchedule`]: constant, cosine, step and exponential schedules over Burn's
//!   schedulers, counted per epoch or per optimizer step.
//!
//! Everything here works in a hand-written loop and with burn-train's `Learner`.

mod error;
mod optimizer;
mod schedule;

pub use error::OptimError;
pub use optimizer::{OptimizerKind, OptimizerSettings};
pub use schedule::{Interval, LrSchedule, ScheduleKind, ScheduleSettings};
