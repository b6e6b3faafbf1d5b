//! Optimizers, learning-rate schedules, regularization, early stopping and weight averaging
//! for Burn models (the dropout layers are temper-nn's).
//!
//! - [`OptimizerSettings`]: SGD (momentum, Nesterov), Adam, AdamW, AdaGrad and RMSprop presets
//!   whose defaults and update rules are PyTorch's, built into Burn's `ModuleOptimizer`, with
//!   coupled or decoupled ([`DecoupledWeightDecay`]) weight decay and optional clipping.
//! - [`RegularizationSettings`]: L1 / L2 / elastic-net penalties to add to the loss.
//! - [`GradClipSettings`], [`clip_global_norm`]: per-element, per-tensor and global-norm
//!   gradient clipping.
//! - [`LrSchedule`]: a Burn `LrScheduler` for every common curve — inverse-time, step,
//!   multistep, exponential, polynomial, cosine, warm restarts, one-cycle, cyclic, sequential
//!   and chained — with warmup and reduce-on-plateau composing with all of them, counted per
//!   epoch or per optimizer step; [`Curve`] is each one's closed form. One-cycle and cyclic
//!   cycle the optimizer's momentum or Adam's `beta1` inversely to the rate, as PyTorch does
//!   ([`MomentumCycle`], [`MomentumCell`]).
//! - [`Hypergradient`]: hypergradient descent on the learning rate (SGD-HD, Adam-HD, and the
//!   same rule around any other kind), Baydin et al. 2018.
//! - [`EarlyStopping`]: Keras' and Lightning's early-stopping rules as one state machine that
//!   always knows the best epoch (restore-best), also as a burn-train strategy
//!   ([`LearnerEarlyStopping`]).
//! - [`ModelEma`]: an exponential moving average of a model's weights, timm `ModelEmaV3`.
//! - [`ModelSwa`], [`update_batch_norm`]: stochastic weight averaging, PyTorch's
//!   `AveragedModel` and `update_bn` (SWALR's rate is [`SwaSettings::lr_at`]).
//!
//! Everything here works in a hand-written loop and with burn-train's `Learner`.

mod adagrad;
mod clipping;
mod decoupled;
mod early_stopping;
mod ema;
mod error;
mod freeze;
mod fused_adam;
mod hypergradient;
mod momentum;
mod optimizer;
mod regularization;
pub mod schedule;
mod stages;
mod swa;

pub use adagrad::{Adagrad, AdagradState};
pub use clipping::{GradClipSettings, clip_global_norm};
pub use decoupled::DecoupledWeightDecay;
#[cfg(feature = "burn-train")]
pub use early_stopping::LearnerEarlyStopping;
pub use early_stopping::{
    Best, EarlyStopping, EarlyStoppingSettings, EarlyStoppingState, MinDeltaMode, MonitorMode,
    StopReason, Update,
};
pub use ema::{EmaSettings, ModelEma};
pub use error::OptimError;
pub use freeze::freeze;
pub use hypergradient::{
    Hypergradient, HypergradientRule, HypergradientSettings, HypergradientState,
};
pub use momentum::MomentumCell;
pub use optimizer::{OptimizerKind, OptimizerSettings, WeightDecayMode};
pub use regularization::RegularizationSettings;
pub use schedule::{
    Anneal, AnnealKind, ChainedSettings, CosineRestartsSettings, CosineSettings, Curve,
    CurveSettings, CyclicMode, CyclicModeKind, CyclicSettings, ExponentialSettings, Interval,
    InverseTimeSettings, LinearSettings, LrSchedule, MMulMode, MetricFeed, MomentumCycle,
    MultistepSettings, OneCycleSettings, PhaseSettings, PlateauSettings, PolynomialSettings,
    ScheduleKind, ScheduleSettings, SequentialSettings, StepSettings, ThresholdMode, WarmupMode,
    WarmupSettings,
};
pub use stages::{LayerDecay, Stage, Stages, Unfreeze, freeze_batch_norm, is_under};
pub use swa::{ModelSwa, update_batch_norm};
pub use temper_compress::settings::{SwaAnneal, SwaSettings};
