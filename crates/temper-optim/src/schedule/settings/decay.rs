//! The kinds that only move one way: linear, inverse-time, step, multistep, exponential and
//! polynomial. Each struct is one kind's parameters, with PyTorch's or Keras' defaults, and
//! checks them into its [`Curve`].

use serde::{Deserialize, Serialize};

use super::check::Check;
use crate::error::OptimError;
use crate::schedule::curve::Curve;

/// `kind = "linear"`: from `lr * start_factor` to `lr * end_factor` over `total` units
/// (PyTorch `LinearLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinearSettings {
    /// Factor of `lr` at `t = 0`, in `[0, 1]`. Default 1/3 (PyTorch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_factor: Option<f64>,
    /// Factor of `lr` from `total` on, in `[0, 1]`. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_factor: Option<f64>,
    /// Units the ramp spans. Default: the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl LinearSettings {
    pub(crate) fn curve(&self, lr: f64, length: u64, at: Check<'_>) -> Result<Curve, OptimError> {
        Ok(Curve::Linear {
            lr,
            start_factor: at.in_range(
                "start_factor",
                self.start_factor.unwrap_or(1.0 / 3.0),
                0.0,
                1.0,
                "in [0, 1]",
            )?,
            end_factor: at.in_range(
                "end_factor",
                self.end_factor.unwrap_or(1.0),
                0.0,
                1.0,
                "in [0, 1]",
            )?,
            total: at.positive("total", self.total, length)?,
        })
    }
}

/// `kind = "inverse-time"`: `lr / (1 + decay_rate * t / decay_steps)` (Keras
/// `InverseTimeDecay`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InverseTimeSettings {
    /// Keras' `decay_rate`, `>= 0`. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_rate: Option<f64>,
    /// Units per decay period. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_steps: Option<u64>,
    /// Decay in whole periods. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staircase: Option<bool>,
}

impl InverseTimeSettings {
    pub(crate) fn curve(&self, lr: f64, at: Check<'_>) -> Result<Curve, OptimError> {
        Ok(Curve::InverseTime {
            lr,
            decay_rate: at.rate("decay_rate", self.decay_rate, 1.0)?,
            decay_steps: at.positive("decay_steps", self.decay_steps, 1)?,
            staircase: self.staircase.unwrap_or(false),
        })
    }
}

/// `kind = "step"`: `lr * gamma^floor(t / step_size)` (PyTorch `StepLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepSettings {
    /// Units between decays. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<u64>,
    /// Decay factor, in `(0, 1]`. Default 0.1 (PyTorch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
}

impl StepSettings {
    pub(crate) fn curve(&self, lr: f64, at: Check<'_>) -> Result<Curve, OptimError> {
        Ok(Curve::Step {
            lr,
            step_size: at.positive("step_size", self.step_size, 1)?,
            gamma: at.decay_gamma(self.gamma)?,
        })
    }
}

/// `kind = "multistep"`: `lr * gamma^(milestones passed)` (PyTorch `MultiStepLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultistepSettings {
    /// Strictly increasing units at which the rate is multiplied by `gamma`. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<u64>>,
    /// Decay factor, in `(0, 1]`. Default 0.1 (PyTorch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
}

impl MultistepSettings {
    pub(crate) fn curve(&self, lr: f64, at: Check<'_>) -> Result<Curve, OptimError> {
        let milestones = self.milestones.clone().unwrap_or_default();
        if milestones.is_empty() {
            return Err(at.error(
                "milestones",
                "required for kind = \"multistep\": a list of units, e.g. [30, 80]",
            ));
        }
        if milestones.windows(2).any(|w| w[0] >= w[1]) {
            return Err(at.error(
                "milestones",
                format!("must be strictly increasing, got {milestones:?}"),
            ));
        }
        Ok(Curve::MultiStep {
            lr,
            milestones,
            gamma: at.decay_gamma(self.gamma)?,
        })
    }
}

/// `kind = "exponential"`: `lr * gamma^(t / decay_steps)` (Keras `ExponentialDecay`; with
/// `decay_steps = 1` PyTorch `ExponentialLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExponentialSettings {
    /// Factor per `decay_steps` units, in `(0, 1]`. Default 0.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Units per decay period. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_steps: Option<u64>,
    /// Decay in whole periods. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staircase: Option<bool>,
}

impl ExponentialSettings {
    pub(crate) fn curve(&self, lr: f64, at: Check<'_>) -> Result<Curve, OptimError> {
        Ok(Curve::Exponential {
            lr,
            gamma: at.decay_gamma(self.gamma)?,
            decay_steps: at.positive("decay_steps", self.decay_steps, 1)?,
            staircase: self.staircase.unwrap_or(false),
        })
    }
}

/// `kind = "polynomial"`: polynomial decay to `end_lr` (Keras `PolynomialDecay`, PyTorch
/// `PolynomialLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolynomialSettings {
    /// The exponent, `> 0`. Default 1 (linear decay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// The final rate, in `[0, optim.lr]`. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_lr: Option<f64>,
    /// Units to reach `end_lr`. Default: the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_steps: Option<u64>,
    /// Restart the decay after `decay_steps` (Keras `cycle`). Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<bool>,
}

impl PolynomialSettings {
    pub(crate) fn curve(&self, lr: f64, length: u64, at: Check<'_>) -> Result<Curve, OptimError> {
        let end_lr = at.rate("end_lr", self.end_lr, 0.0)?;
        if end_lr > lr {
            return Err(at.error(
                "end_lr",
                format!("must be at most optim.lr = {lr}, got {end_lr}"),
            ));
        }
        Ok(Curve::Polynomial {
            lr,
            end_lr,
            power: at.in_range(
                "power",
                self.power.unwrap_or(1.0),
                f64::MIN_POSITIVE,
                f64::MAX,
                "> 0",
            )?,
            decay_steps: at.positive("decay_steps", self.decay_steps, length)?,
            cycle: self.cycle.unwrap_or(false),
        })
    }
}
