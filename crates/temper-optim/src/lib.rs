//! Optimizers, learning-rate schedules, regularization penalties and gradient clipping for
//! Burn models.
//!
//! - [`OptimizerSettings`]: SGD (momentum, Nesterov), Adam, AdamW, AdaGrad and RMSprop presets
//!   whose defaults and update rules are PyTorch's, built into Burn's `ModuleOptimizer`, with
//!   coupled or decoupled ([`DecoupledWeightDecay`]) weight decay and optional clipping.
//! - [`RegularizationSettings`]: L1 / L2 / elastic-net penalties to add to the loss.
//! - [`GradClipSettings`], [`clip_global_norm`]: per-element, per-tensor and global-norm
//!   gradient clipping.
//! - [`LrSchedule`]: constant, cosine, step and exponential schedules over Burn's
//!   schedulers, counted per epoch or per optimizer step.
//!
//! Everything here works in a hand-written loop and with burn-train's `Learner`.

mod adagrad;
mod clipping;
mod decoupled;
mod error;
mod optimizer;
mod regularization;
mod schedule;

pub use adagrad::{Adagrad, AdagradState};
pub use clipping::{GradClipSettings, clip_global_norm};
pub use decoupled::DecoupledWeightDecay;
pub use error::OptimError;
pub use optimizer::{OptimizerKind, OptimizerSettings, WeightDecayMode};
pub use regularization::RegularizationSettings;
pub use schedule::{Interval, LrSchedule, ScheduleKind, ScheduleSettings};
