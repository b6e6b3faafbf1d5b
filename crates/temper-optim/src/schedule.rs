//! Learning-rate schedules over Burn's schedulers, counted in epochs or in optimizer steps.
//!
//! Burn's [`LrScheduler`](burn::lr_scheduler::LrScheduler)s advance once per call; users think
//! in epochs. With `interval = "epoch"` the schedule advances once at the start of each epoch
//! and the learning rate is constant within it (Keras' and PyTorch's per-epoch
//! `scheduler.step()` convention); with `interval = "step"` it advances every optimizer step.

use burn::lr_scheduler::constant::ConstantLr;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::step::StepLrSchedulerConfig;
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// Which curve the learning rate follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// `lr` throughout.
    Constant,
    /// `min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2` with `T` the whole run
    /// (PyTorch `CosineAnnealingLR` with `T_max` = run length).
    #[default]
    Cosine,
    /// `lr * gamma^floor(t / step_size)` (PyTorch `StepLR`).
    Step,
    /// `lr * gamma^t` (PyTorch `ExponentialLR`).
    Exponential,
}

/// The unit a schedule counts `t` in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    #[default]
    Epoch,
    Step,
}

/// The `[schedule]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSettings {
    pub kind: ScheduleKind,
    pub interval: Interval,
    /// Floor of the cosine curve.
    pub min_lr: f64,
    /// Units between two decays of `step`.
    pub step_size: usize,
    /// Decay factor of `step` and `exponential`.
    pub gamma: f64,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            kind: ScheduleKind::Cosine,
            interval: Interval::Epoch,
            min_lr: 0.0,
            step_size: 1,
            gamma: 0.1,
        }
    }
}

/// A running schedule: asked once per optimizer step for the learning rate to use.
#[derive(Clone)]
pub struct LrSchedule {
    scheduler: ModuleLrScheduler,
    interval: Interval,
    current: f64,
}

impl LrSchedule {
    /// Builds the schedule for a run of `epochs` epochs of `steps_per_epoch` optimizer steps
    /// each, starting from the optimizer's base `lr`.
    pub fn new(
        settings: &ScheduleSettings,
        lr: f64,
        epochs: usize,
        steps_per_epoch: usize,
    ) -> Result<Self, OptimError> {
        let units = match settings.interval {
            Interval::Epoch => epochs,
            Interval::Step => epochs * steps_per_epoch,
        }
        .max(1);
        let burn_err = |msg: String| invalid("schedule", msg);
        let scheduler: ModuleLrScheduler = match settings.kind {
            ScheduleKind::Constant => ModuleLrScheduler::new(ConstantLr::from(lr)),
            ScheduleKind::Cosine => {
                if !(settings.min_lr >= 0.0 && settings.min_lr <= lr) {
                    return Err(invalid(
                        "schedule.min_lr",
                        format!("must be in [0, optim.lr = {lr}], got {}", settings.min_lr),
                    ));
                }
                CosineAnnealingLrSchedulerConfig::new(lr, units)
                    .with_min_lr(settings.min_lr)
                    .init()
                    .map_err(burn_err)?
            }
            ScheduleKind::Step => {
                if settings.step_size == 0 {
                    return Err(invalid("schedule.step_size", "must be at least 1"));
                }
                check_gamma(settings.gamma)?;
                StepLrSchedulerConfig::new(lr, settings.step_size)
                    .with_gamma(settings.gamma)
                    .init()
                    .map_err(burn_err)?
            }
            ScheduleKind::Exponential => {
                check_gamma(settings.gamma)?;
                ExponentialLrSchedulerConfig::new(lr, settings.gamma)
                    .init()
                    .map_err(burn_err)?
            }
        };
        Ok(Self {
            scheduler,
            interval: settings.interval,
            current: lr,
        })
    }

    /// The learning rate for the next optimizer step; `epoch_start` is true for the first
    /// step of each epoch.
    pub fn next_lr(&mut self, epoch_start: bool) -> f64 {
        if epoch_start || self.interval == Interval::Step {
            self.current = self.scheduler.step().base();
        }
        self.current
    }

    /// The learning rate most recently handed out.
    pub fn current(&self) -> f64 {
        self.current
    }
}

fn check_gamma(gamma: f64) -> Result<(), OptimError> {
    if gamma.is_finite() && gamma > 0.0 && gamma <= 1.0 {
        Ok(())
    } else {
        Err(invalid(
            "schedule.gamma",
            format!("must be in (0, 1], got {gamma}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_epoch(settings: &ScheduleSettings, lr: f64, epochs: usize) -> Vec<f64> {
        let mut s = LrSchedule::new(settings, lr, epochs, 5).unwrap();
        (0..epochs)
            .map(|_| {
                let first = s.next_lr(true);
                // Epoch interval: constant within the epoch.
                for _ in 1..5 {
                    assert_eq!(s.next_lr(false), first);
                }
                first
            })
            .collect()
    }

    #[test]
    fn cosine_matches_pytorch_closed_form() {
        // PyTorch CosineAnnealingLR: eta_t = eta_min + (eta_max - eta_min)(1 + cos(pi t/T))/2.
        let cfg = ScheduleSettings {
            min_lr: 0.01,
            ..Default::default()
        };
        let got = per_epoch(&cfg, 0.1, 4);
        for (t, g) in got.iter().enumerate() {
            let want = 0.01 + 0.09 * (1.0 + (std::f64::consts::PI * t as f64 / 4.0).cos()) / 2.0;
            assert!((g - want).abs() < 1e-12, "t={t}: {g} vs {want}");
        }
    }

    #[test]
    fn step_and_exponential_match_their_closed_forms() {
        let step = ScheduleSettings {
            kind: ScheduleKind::Step,
            step_size: 2,
            gamma: 0.5,
            ..Default::default()
        };
        // PyTorch StepLR: lr * gamma^floor(t / step_size).
        assert_eq!(per_epoch(&step, 0.8, 5), vec![0.8, 0.8, 0.4, 0.4, 0.2]);
        let exp = ScheduleSettings {
            kind: ScheduleKind::Exponential,
            gamma: 0.5,
            ..Default::default()
        };
        // PyTorch ExponentialLR: lr * gamma^t.
        assert_eq!(per_epoch(&exp, 0.8, 3), vec![0.8, 0.4, 0.2]);
        let constant = ScheduleSettings {
            kind: ScheduleKind::Constant,
            ..Default::default()
        };
        assert_eq!(per_epoch(&constant, 0.3, 3), vec![0.3, 0.3, 0.3]);
    }

    #[test]
    fn step_interval_advances_every_step() {
        let cfg = ScheduleSettings {
            kind: ScheduleKind::Exponential,
            interval: Interval::Step,
            gamma: 0.5,
            ..Default::default()
        };
        let mut s = LrSchedule::new(&cfg, 1.0, 1, 3).unwrap();
        let got: Vec<f64> = (0..3).map(|i| s.next_lr(i == 0)).collect();
        assert_eq!(got, vec![1.0, 0.5, 0.25]);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cfg = ScheduleSettings {
            kind: ScheduleKind::Step,
            step_size: 0,
            ..Default::default()
        };
        let err = LrSchedule::new(&cfg, 0.1, 2, 2).err().unwrap();
        assert!(err.to_string().starts_with("schedule.step_size"));
    }
}
