//! Optimizers, learning-rate schedules and dropout variants for Burn models.
//!
//! - [`OptimizerSettings`]: SGD (momentum, Nesterov), Adam, AdamW, AdaGrad and RMSprop presets
//!   whose defaults are PyTorch's, built into Burn's `ModuleOptimizer`.
//! - [`LrSchedule`]: constant, cosine, step and exponential schedules over Burn's
//!   schedulers, counted per epoch or per optimizer step.
//! - [`dropout`]: the dropout family Burn lacks: [`Dropout2d`] (spatial), [`DropPath`]
//!   (stochastic depth), [`AlphaDropout`] (for SELU networks) and [`DropConnectLinear`]
//!   (dropped weights), each a Burn module with a validated `#[derive(Config)]`.
//!
//! Everything here works in a hand-written loop and with burn-train's `Learner`.

pub mod dropout;
mod error;
mod optimizer;
mod schedule;

pub use dropout::{
    AlphaDropout, AlphaDropoutConfig, DropConnectLinear, DropConnectLinearConfig, DropPath,
    DropPathConfig, Dropout2d, Dropout2dConfig,
};
pub use error::OptimError;
pub use optimizer::{OptimizerKind, OptimizerSettings};
pub use schedule::{Interval, LrSchedule, ScheduleKind, ScheduleSettings};
