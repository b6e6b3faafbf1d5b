//! The kinds shaped by cosines and cycles: cosine, cosine with warm restarts, one-cycle and
//! cyclic. Each struct is one kind's parameters, with PyTorch's defaults, and checks them into
//! its [`Curve`].

use serde::{Deserialize, Serialize};

use super::check::Check;
use crate::error::OptimError;
use crate::schedule::curve::{Anneal, Curve, CyclicMode};
use crate::schedule::kinds::{AnnealKind, CyclicModeKind, MMulMode};
use crate::schedule::momentum::MomentumCycle;

/// `kind = "cosine"`: half a cosine from `lr` to `min_lr` (PyTorch `CosineAnnealingLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CosineSettings {
    /// The floor, in `[0, optim.lr]`. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
    /// Units to reach `min_lr`. Default: the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_max: Option<u64>,
}

impl CosineSettings {
    pub(crate) fn curve(&self, lr: f64, length: u64, at: Check<'_>) -> Result<Curve, OptimError> {
        Ok(Curve::Cosine {
            lr,
            min_lr: at.floor(self.min_lr, lr)?,
            t_max: at.positive("t_max", self.t_max, length)?,
        })
    }
}

/// `kind = "cosine-restarts"`: SGDR, cosine with warm restarts (PyTorch
/// `CosineAnnealingWarmRestarts`, timm).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CosineRestartsSettings {
    /// The floor of every cycle, in `[0, optim.lr]`. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
    /// Length of the first cycle in units. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t0: Option<u64>,
    /// Each cycle is this many times longer, `>= 1`. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_mult: Option<f64>,
    /// Each cycle's peak is this times the previous one, in `(0, 1]`. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m_mul: Option<f64>,
    /// With `min_lr > 0`, what `m_mul` shrinks: `timm` (the default) the peak, toward a fixed
    /// floor; `keras` only the cosine part above `min_lr` (Keras `CosineDecayRestarts` with
    /// `alpha = min_lr / lr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m_mul_mode: Option<MMulMode>,
}

impl CosineRestartsSettings {
    pub(crate) fn curve(&self, lr: f64, at: Check<'_>) -> Result<Curve, OptimError> {
        let Some(t0) = self.t0 else {
            return Err(at.error(
                "t0",
                "required for kind = \"cosine-restarts\": the first cycle's length in units",
            ));
        };
        Ok(Curve::CosineRestarts {
            lr,
            min_lr: at.floor(self.min_lr, lr)?,
            t0: at.positive("t0", Some(t0), 1)?,
            t_mult: at.in_range("t_mult", self.t_mult.unwrap_or(1.0), 1.0, 1e6, ">= 1")?,
            m_mul: at.in_range(
                "m_mul",
                self.m_mul.unwrap_or(1.0),
                f64::MIN_POSITIVE,
                1.0,
                "in (0, 1]",
            )?,
            m_mul_mode: self.m_mul_mode.unwrap_or_default(),
        })
    }
}

/// `kind = "one-cycle"`: the 1cycle policy (PyTorch `OneCycleLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OneCycleSettings {
    /// The peak. Default `optim.lr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lr: Option<f64>,
    /// Units the cycle spans. Default: the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Fraction of the cycle spent rising, in `(0, 1)`. Default 0.3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_start: Option<f64>,
    /// The start is `max_lr / div_factor`, `>= 1`. Default 25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub div_factor: Option<f64>,
    /// The end is `start / final_div_factor`, `>= 1`. Default 1e4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_div_factor: Option<f64>,
    /// `cos` (default) or `linear`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anneal: Option<AnnealKind>,
    /// Go back down to the start before the final annealing (PyTorch `three_phase`). Default
    /// false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_phase: Option<bool>,
    /// Cycle the optimizer's momentum (SGD, RMSprop) or `beta1` (Adam, AdamW) inversely to the
    /// rate (PyTorch `cycle_momentum`). Default true; `adagrad` has neither and needs false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_momentum: Option<bool>,
    /// The momentum where the rate peaks, in `[0, max_momentum]`. Default 0.85.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_momentum: Option<f64>,
    /// The momentum where the rate is lowest, in `[base_momentum, 1)`. Default 0.95.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_momentum: Option<f64>,
}

impl OneCycleSettings {
    pub(crate) fn curve(&self, lr: f64, length: u64, at: Check<'_>) -> Result<Curve, OptimError> {
        let total = at.positive("total", self.total, length)?;
        let pct_start = self.pct_start.unwrap_or(0.3);
        // PyTorch needs each phase to span at least one step: pct_start * total >= 2.
        if !(pct_start > 0.0 && pct_start < 1.0) {
            return Err(at.error("pct_start", format!("must be in (0, 1), got {pct_start}")));
        }
        if pct_start * total as f64 - 1.0 < 1.0 || total < 3 {
            return Err(at.error(
                "total",
                format!(
                    "one-cycle over {total} units with pct_start = {pct_start} leaves a phase \
                     shorter than one unit; use interval = \"step\" or more epochs"
                ),
            ));
        }
        Ok(Curve::OneCycle {
            max_lr: at.positive_rate("max_lr", self.max_lr.unwrap_or(lr))?,
            total,
            pct_start,
            div_factor: at.in_range(
                "div_factor",
                self.div_factor.unwrap_or(25.0),
                1.0,
                f64::MAX,
                ">= 1",
            )?,
            final_div_factor: at.in_range(
                "final_div_factor",
                self.final_div_factor.unwrap_or(1e4),
                1.0,
                f64::MAX,
                ">= 1",
            )?,
            anneal: match self.anneal.unwrap_or(AnnealKind::Cos) {
                AnnealKind::Cos => Anneal::Cos,
                AnnealKind::Linear => Anneal::Linear,
            },
            three_phase: self.three_phase.unwrap_or(false),
        })
    }

    /// The momentum cycle, PyTorch `OneCycleLR`'s defaults 0.85 and 0.95; `None` when
    /// `cycle_momentum = false`.
    pub(crate) fn momentum(&self, at: Check<'_>) -> Result<Option<MomentumCycle>, OptimError> {
        momentum_cycle(
            self.cycle_momentum,
            self.base_momentum,
            self.max_momentum,
            (0.85, 0.95),
            at,
        )
    }
}

/// `kind = "cyclic"`: cyclical learning rates (PyTorch `CyclicLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CyclicSettings {
    /// The trough, in `[0, max_lr]`. Default `max_lr / 10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_lr: Option<f64>,
    /// The peak. Default `optim.lr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lr: Option<f64>,
    /// Units from trough to peak. Default 2000 (PyTorch's, meant for `interval = "step"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size_up: Option<u64>,
    /// Units from peak to trough. Default `step_size_up`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size_down: Option<u64>,
    /// `triangular` (default), `triangular2` or `exp_range`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<CyclicModeKind>,
    /// `exp_range` only: the amplitude's per-unit factor, in `(0, 1]`. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Cycle the optimizer's momentum (SGD, RMSprop) or `beta1` (Adam, AdamW) inversely to the
    /// rate (PyTorch `cycle_momentum`). Default true; `adagrad` has neither and needs false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_momentum: Option<bool>,
    /// The momentum where the rate peaks, in `[0, max_momentum]`. Default 0.8 (PyTorch `CyclicLR`'s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_momentum: Option<f64>,
    /// The momentum where the rate is lowest, in `[base_momentum, 1)`. Default 0.9 (PyTorch `CyclicLR`'s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_momentum: Option<f64>,
}

impl CyclicSettings {
    pub(crate) fn curve(&self, lr: f64, at: Check<'_>) -> Result<Curve, OptimError> {
        let max_lr = at.positive_rate("max_lr", self.max_lr.unwrap_or(lr))?;
        let base_lr = at.rate("base_lr", self.base_lr, max_lr / 10.0)?;
        if base_lr > max_lr {
            return Err(at.error(
                "base_lr",
                format!("must be at most max_lr = {max_lr}, got {base_lr}"),
            ));
        }
        let up = at.positive("step_size_up", self.step_size_up, 2000)?;
        let mode = self.mode(at)?;
        Ok(Curve::Cyclic {
            base_lr,
            max_lr,
            step_size_up: up,
            step_size_down: at.positive("step_size_down", self.step_size_down, up)?,
            mode,
        })
    }

    /// The momentum cycle, PyTorch `CyclicLR`'s defaults 0.8 and 0.9; `None` when
    /// `cycle_momentum = false`.
    pub(crate) fn momentum(&self, at: Check<'_>) -> Result<Option<MomentumCycle>, OptimError> {
        momentum_cycle(
            self.cycle_momentum,
            self.base_momentum,
            self.max_momentum,
            (0.8, 0.9),
            at,
        )
    }

    /// The amplitude rule; `gamma` belongs to `exp_range` only.
    fn mode(&self, at: Check<'_>) -> Result<CyclicMode, OptimError> {
        let mode = match self.mode.unwrap_or(CyclicModeKind::Triangular) {
            CyclicModeKind::Triangular => CyclicMode::Triangular,
            CyclicModeKind::Triangular2 => CyclicMode::Triangular2,
            CyclicModeKind::ExpRange => CyclicMode::ExpRange {
                gamma: at.in_range(
                    "gamma",
                    self.gamma.unwrap_or(1.0),
                    f64::MIN_POSITIVE,
                    1.0,
                    "in (0, 1]",
                )?,
            },
        };
        if self.gamma.is_some() && !matches!(mode, CyclicMode::ExpRange { .. }) {
            return Err(at.error("gamma", "only applies with mode = \"exp_range\""));
        }
        Ok(mode)
    }
}

/// Checks `cycle_momentum`, `base_momentum` and `max_momentum` (`0 <= base <= max < 1`, the
/// range of a momentum or `beta1`); the bounds without the cycle are refused rather than
/// ignored.
fn momentum_cycle(
    cycle: Option<bool>,
    base: Option<f64>,
    max: Option<f64>,
    (default_base, default_max): (f64, f64),
    at: Check<'_>,
) -> Result<Option<MomentumCycle>, OptimError> {
    if cycle == Some(false) {
        for (name, value) in [("base_momentum", base), ("max_momentum", max)] {
            if value.is_some() {
                return Err(at.error(name, "only applies with cycle_momentum = true"));
            }
        }
        return Ok(None);
    }
    let max = max.unwrap_or(default_max);
    if !(max.is_finite() && (0.0..1.0).contains(&max)) {
        return Err(at.error("max_momentum", format!("must be in [0, 1), got {max}")));
    }
    let value = base.unwrap_or(default_base);
    if !(value.is_finite() && (0.0..=max).contains(&value)) {
        let got = match base {
            Some(_) => format!("got {value}"),
            None => format!("its default is {value}; set it"),
        };
        return Err(at.error(
            "base_momentum",
            format!("must be in [0, max_momentum = {max}], {got}"),
        ));
    }
    let base = value;
    Ok(Some(MomentumCycle { base, max }))
}
