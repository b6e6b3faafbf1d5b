//! Momentum cycled inversely to the learning rate by the one-cycle and cyclic schedules
//! (Smith 2018, "A disciplined approach to neural network hyper-parameters: Part 1",
//! <https://arxiv.org/abs/1803.09820>, section 4.2), exactly as PyTorch's `OneCycleLR` and
//! `CyclicLR` compute it (`torch/optim/lr_scheduler.py`, PyTorch 2.15).
//!
//! - **one-cycle**: the same phases and anneal (`cos` or `linear`) as the rate, with boundary
//!   values `max_momentum -> base_momentum -> max_momentum` (two phases), or
//!   `max_momentum -> base_momentum -> max_momentum -> max_momentum` with `three_phase`
//!   (`OneCycleLR._schedule_phases`, lines 2431-2472; `get_lr`, line 2591). Defaults
//!   `base_momentum = 0.85`, `max_momentum = 0.95` (lines 2398-2399).
//! - **cyclic**: `max_momentum - (max_momentum - base_momentum) * scale_factor * scale_fn`, the
//!   triangle and the `triangular` / `triangular2` / `exp_range` shrink of the rate
//!   (`CyclicLR.get_lr`, lines 2048-2059). Defaults `base_momentum = 0.8`,
//!   `max_momentum = 0.9` (lines 1899-1900): PyTorch's `CyclicLR` defaults differ from
//!   `OneCycleLR`'s, and temper keeps each.
//!
//! The value is a function of the schedule unit `t` alone, like the rate, so resuming is exact.
//! During warmup the momentum holds the curve's first value, `max_momentum`, as the rate ramps
//! towards the curve's first value. Which optimizer hyperparameter it drives (SGD and RMSprop
//! `momentum`, Adam's `beta1`) is the optimizer's business: see [`crate::MomentumCell`].

use super::curve::{Curve, OneCyclePhases, cyclic_position};

/// The two bounds a cycled momentum moves between, `0 <= base <= max < 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentumCycle {
    /// The momentum where the rate peaks (PyTorch `base_momentum`).
    pub base: f64,
    /// The momentum where the rate is lowest, and the start (PyTorch `max_momentum`).
    pub max: f64,
}

impl MomentumCycle {
    /// The momentum at unit `t` of `curve`; `None` unless `curve` is one-cycle or cyclic.
    pub fn at(&self, curve: &Curve, t: u64) -> Option<f64> {
        let tf = t as f64;
        match curve {
            Curve::OneCycle {
                total,
                pct_start,
                anneal,
                three_phase,
                ..
            } => {
                let phases = OneCyclePhases {
                    total: *total as f64,
                    pct_start: *pct_start,
                    anneal: *anneal,
                    three_phase: *three_phase,
                };
                Some(phases.at(tf, [self.max, self.base, self.max, self.max]))
            }
            Curve::Cyclic {
                step_size_up,
                step_size_down,
                mode,
                ..
            } => {
                let (scale_factor, scale) =
                    cyclic_position(tf, *step_size_up, *step_size_down, *mode);
                // PyTorch: `base_height = (max_momentum - base_momentum) * scale_factor`, then
                // `max_momentum - base_height * scale_fn(..)`.
                Some(self.max - (self.max - self.base) * scale_factor * scale)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
