//! The names a `[schedule]` table uses: kinds, units, warmup and the enum-valued parameters.

use serde::{Deserialize, Serialize};

/// Which curve the learning rate follows: the `kind` key. See `Curve` for each formula; the
/// kind's parameters are its struct in [`CurveSettings`](super::CurveSettings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// `lr` throughout.
    Constant,
    /// From `lr * start_factor` to `lr * end_factor` over `total` units (PyTorch `LinearLR`).
    Linear,
    /// Time-based decay `lr / (1 + decay_rate * t / decay_steps)` (Keras `InverseTimeDecay`).
    InverseTime,
    /// `lr * gamma^floor(t / step_size)` (PyTorch `StepLR`).
    Step,
    /// `lr * gamma^(milestones passed)` (PyTorch `MultiStepLR`).
    Multistep,
    /// `lr * gamma^(t / decay_steps)` (Keras `ExponentialDecay`, PyTorch `ExponentialLR`).
    Exponential,
    /// Polynomial decay to `end_lr` (Keras `PolynomialDecay`, PyTorch `PolynomialLR`).
    Polynomial,
    /// Half a cosine from `lr` to `min_lr` over the run (PyTorch `CosineAnnealingLR`).
    #[default]
    Cosine,
    /// SGDR cosine with warm restarts (PyTorch `CosineAnnealingWarmRestarts`, timm).
    CosineRestarts,
    /// The 1cycle policy (PyTorch `OneCycleLR`).
    OneCycle,
    /// Cyclical learning rates (PyTorch `CyclicLR`).
    Cyclic,
    /// `lr`, reduced when the monitored metric plateaus (PyTorch `ReduceLROnPlateau`).
    Plateau,
    /// `phases` one after another (PyTorch `SequentialLR`).
    Sequential,
    /// The product of `schedules`' factors (PyTorch `ChainedScheduler`).
    Chained,
}

impl ScheduleKind {
    /// The TOML spelling, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "constant",
            ScheduleKind::Linear => "linear",
            ScheduleKind::InverseTime => "inverse-time",
            ScheduleKind::Step => "step",
            ScheduleKind::Multistep => "multistep",
            ScheduleKind::Exponential => "exponential",
            ScheduleKind::Polynomial => "polynomial",
            ScheduleKind::Cosine => "cosine",
            ScheduleKind::CosineRestarts => "cosine-restarts",
            ScheduleKind::OneCycle => "one-cycle",
            ScheduleKind::Cyclic => "cyclic",
            ScheduleKind::Plateau => "plateau",
            ScheduleKind::Sequential => "sequential",
            ScheduleKind::Chained => "chained",
        }
    }
}

/// The unit a schedule counts `t` in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// `t` is the epoch: the learning rate is constant within an epoch (Keras' and PyTorch's
    /// per-epoch `scheduler.step()`).
    #[default]
    Epoch,
    /// `t` is the optimizer step (Burn's `LrScheduler` convention).
    Step,
}

/// One-cycle's annealing shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnealKind {
    /// `cos`: cosine annealing ([`Anneal::Cos`](super::Anneal::Cos)). The default.
    Cos,
    /// `linear`: linear annealing ([`Anneal::Linear`](super::Anneal::Linear)).
    Linear,
}

/// Cyclic's amplitude rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CyclicModeKind {
    /// `triangular`: every cycle reaches `max_lr`. The default.
    Triangular,
    /// `triangular2`: the amplitude halves every cycle.
    Triangular2,
    /// `exp_range`: the amplitude is scaled by `gamma^t`.
    ExpRange,
}

/// How `m_mul` lowers the later cycles of `kind = "cosine-restarts"`: the `m_mul_mode` key.
/// The two agree when `min_lr = 0` or `m_mul = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MMulMode {
    /// `min_lr + (lr * m_mul^i - min_lr) * (1 + cos) / 2`: the peak shrinks and the floor
    /// stays (timm `CosineLRScheduler(cycle_decay = m_mul)`, `timm/scheduler/cosine_lr.py`).
    /// The default.
    #[default]
    Timm,
    /// `min_lr + (lr - min_lr) * m_mul^i * (1 + cos) / 2`, i.e. `lr * (alpha + (1 - alpha) *
    /// m_mul^i * (1 + cos) / 2)` with `alpha = min_lr / lr`: only the cosine part shrinks
    /// (Keras `CosineDecayRestarts`, `keras/src/optimizers/schedules/learning_rate_schedule.py`).
    Keras,
}

/// How warmup ramps up to the schedule's first value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarmupMode {
    /// `target * (start_factor + (1 - start_factor) * i / W)` (timm, Hugging Face).
    #[default]
    Linear,
    /// `target * start_factor^(1 - i / W)`: geometric growth, even in log scale.
    Exponential,
}

/// The `warmup` table: a ramp over the first optimizer steps, after which the schedule starts
/// at its own `t = 0` (Keras `CosineDecay(warmup_steps=...)`, timm `warmup_prefix`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmupSettings {
    /// Warmup length in epochs (counted in optimizer steps, so the ramp is smooth even when the
    /// schedule's interval is `epoch`). Give this or `steps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u64>,
    /// Warmup length in optimizer steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// How the ramp grows. Default `linear`.
    pub mode: WarmupMode,
    /// Fraction of the target the ramp starts from: default 0 for linear (timm's
    /// `warmup_lr_init = 0`), 0.01 for exponential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_factor: Option<f64>,
}
