//! Learning-rate schedules: every curve PyTorch, Keras and timm users reach for, with warmup and
//! reduce-on-plateau composing with all of them, counted in epochs or in optimizer steps.
//!
//! [`LrSchedule`] implements Burn's [`LrScheduler`]: it is asked once per optimizer step, and
//! its record is the step counter plus the plateau state, so a resumed run continues the exact
//! curve. The curves are closed forms ([`Curve`]), which is also what lets `temper schedule
//! plot` draw a whole run without training.
//!
//! Units: with `interval = "epoch"` the curve's `t` is the epoch and the rate is constant within
//! it; with `"step"` it is the optimizer step. Warmup always ramps per optimizer step, then the
//! curve starts at its own `t = 0`. Reduce-on-plateau is fed one metric value per epoch
//! ([`LrSchedule::observe`], or a [`MetricFeed`] when Burn's `Learner` drives the schedule) and
//! scales whatever the curve gives; values arriving during warmup are not counted, which is the
//! warmup-then-plateau composition PyTorch cannot express (pytorch/pytorch#68978).

mod curve;
mod kinds;
mod momentum;
mod plateau;
mod settings;

use std::sync::{Arc, Mutex};

use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};

pub use curve::{Anneal, Curve, CyclicMode};
pub use kinds::{
    AnnealKind, CyclicModeKind, Interval, MMulMode, ScheduleKind, WarmupMode, WarmupSettings,
};
pub use momentum::MomentumCycle;
pub use plateau::{PlateauSettings, ThresholdMode};
pub use settings::{
    ChainedSettings, CosineRestartsSettings, CosineSettings, CurveSettings, CyclicSettings,
    ExponentialSettings, InverseTimeSettings, LinearSettings, MultistepSettings, OneCycleSettings,
    PhaseSettings, PolynomialSettings, ScheduleSettings, SequentialSettings, StepSettings,
};

use crate::error::{OptimError, invalid};
use plateau::Plateau;

/// A warmup ramp over the first `steps` optimizer steps.
#[derive(Debug, Clone, PartialEq)]
struct Warmup {
    steps: u64,
    mode: WarmupMode,
    start_factor: f64,
}

impl Warmup {
    /// The rate at step `i < steps`, ramping towards `target`.
    fn at(&self, i: u64, target: f64) -> f64 {
        let frac = i as f64 / self.steps as f64;
        match self.mode {
            WarmupMode::Linear => target * (self.start_factor + (1.0 - self.start_factor) * frac),
            WarmupMode::Exponential => target * self.start_factor.powf(1.0 - frac),
        }
    }
}

/// Metric values handed to a schedule from elsewhere, e.g. by a burn-train metric callback
/// while the `Learner` owns the schedule. Clones share one queue.
#[derive(Debug, Clone, Default)]
pub struct MetricFeed(Arc<Mutex<Vec<f64>>>);

impl MetricFeed {
    /// Queues one epoch's value of the monitored metric; the schedule reads it at its next step.
    pub fn push(&self, value: f64) {
        self.0.lock().expect("metric feed lock").push(value);
    }

    fn drain(&self) -> Vec<f64> {
        std::mem::take(&mut *self.0.lock().expect("metric feed lock"))
    }
}

/// A running schedule: warmup, then a [`Curve`] in epoch or step units, scaled by
/// reduce-on-plateau when configured.
#[derive(Debug, Clone)]
pub struct LrSchedule {
    curve: Curve,
    /// Optimizer steps per curve unit: 1, or the steps of one epoch.
    unit_steps: u64,
    warmup: Option<Warmup>,
    plateau: Option<Plateau>,
    feed: MetricFeed,
    /// The momentum cycle of a one-cycle or cyclic curve.
    momentum: Option<MomentumCycle>,
    /// Optimizer steps handed a rate so far.
    iteration: u64,
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
        if !(lr.is_finite() && lr > 0.0) {
            return Err(invalid("optim.lr", format!("must be > 0, got {lr}")));
        }
        let steps_per_epoch = steps_per_epoch.max(1) as u64;
        let total_steps = epochs.max(1) as u64 * steps_per_epoch;
        let unit_steps = match settings.interval() {
            Interval::Epoch => steps_per_epoch,
            Interval::Step => 1,
        };
        let warmup = match &settings.warmup {
            Some(w) => Some(warmup(w, steps_per_epoch, total_steps)?),
            None => None,
        };
        let warmup_steps = warmup.as_ref().map_or(0, |w| w.steps);
        let length = (total_steps - warmup_steps).div_ceil(unit_steps);
        let curve = settings.curve(lr, length, "schedule")?;
        let plateau = match settings.plateau_settings() {
            Some(p) => Some(plateau(&p)?),
            None => None,
        };
        let first = curve.at(0);
        Ok(Self {
            curve,
            unit_steps,
            warmup,
            plateau,
            feed: MetricFeed::default(),
            momentum: settings.momentum_cycle()?,
            iteration: 0,
            current: first,
        })
    }

    /// The rate for optimizer step `iteration` (0-based) given the plateau reductions so far.
    pub fn lr_at(&self, iteration: u64) -> f64 {
        let warmup_steps = self.warmup.as_ref().map_or(0, |w| w.steps);
        match &self.warmup {
            Some(w) if iteration < warmup_steps => w.at(iteration, self.curve.at(0)),
            _ => {
                let t = (iteration - warmup_steps) / self.unit_steps;
                let lr = self.curve.at(t);
                self.plateau.as_ref().map_or(lr, |p| p.apply(lr))
            }
        }
    }

    /// The cycled momentum (or Adam's `beta1`) for optimizer step `iteration` (0-based), when
    /// the schedule cycles it: the curve's value at the step's unit, and its first value,
    /// `max_momentum`, during warmup. A function of `iteration` alone, so a resumed run
    /// continues it exactly.
    pub fn momentum_at(&self, iteration: u64) -> Option<f64> {
        let cycle = self.momentum?;
        let warmup_steps = self.warmup.as_ref().map_or(0, |w| w.steps);
        let t = iteration.saturating_sub(warmup_steps) / self.unit_steps;
        cycle.at(&self.curve, t)
    }

    /// The momentum of the step most recently handed a rate (the first step's before any);
    /// `None` when the schedule does not cycle momentum.
    pub fn momentum(&self) -> Option<f64> {
        self.momentum_at(self.iteration.saturating_sub(1))
    }

    /// The momentum cycle in force, when the schedule cycles momentum.
    pub fn momentum_cycle(&self) -> Option<MomentumCycle> {
        self.momentum
    }

    /// The rate for the next optimizer step, advancing the schedule.
    pub fn next_lr(&mut self) -> f64 {
        for value in self.feed.drain() {
            self.observe(value);
        }
        self.current = self.lr_at(self.iteration);
        self.iteration += 1;
        self.current
    }

    /// The rate most recently handed out (the first rate before any step).
    pub fn current(&self) -> f64 {
        self.current
    }

    /// Optimizer steps taken so far.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Feeds one epoch's value of the plateau's monitored metric, at the end of that epoch.
    /// Returns whether the rate was reduced. Without a plateau rule, or during warmup, the
    /// value is ignored.
    pub fn observe(&mut self, value: f64) -> bool {
        let warmup_steps = self.warmup.as_ref().map_or(0, |w| w.steps);
        let current = self.current;
        match self.plateau.as_mut() {
            Some(p) if self.iteration > warmup_steps => p.observe(value, current),
            _ => false,
        }
    }

    /// A handle through which metric values reach [`observe`](Self::observe) at the next step.
    pub fn feed(&self) -> MetricFeed {
        self.feed.clone()
    }

    /// Whether a plateau rule needs the monitored metric each epoch; its name if so.
    pub fn plateau_monitor(settings: &ScheduleSettings) -> Option<String> {
        settings.plateau_settings().map(|p| p.monitor)
    }

    /// The curve this schedule follows after warmup.
    pub fn curve(&self) -> &Curve {
        &self.curve
    }
}

fn warmup(
    w: &WarmupSettings,
    steps_per_epoch: u64,
    total_steps: u64,
) -> Result<Warmup, OptimError> {
    let steps = match (w.epochs, w.steps) {
        (Some(e), None) => e * steps_per_epoch,
        (None, Some(s)) => s,
        _ => {
            return Err(invalid(
                "schedule.warmup",
                "give exactly one of `epochs` or `steps`",
            ));
        }
    };
    if steps == 0 || steps >= total_steps {
        return Err(invalid(
            "schedule.warmup",
            format!(
                "must last at least one step and less than the run's {total_steps} steps, got {steps}"
            ),
        ));
    }
    let start_factor = w.start_factor.unwrap_or(match w.mode {
        WarmupMode::Linear => 0.0,
        WarmupMode::Exponential => 0.01,
    });
    let lowest = if w.mode == WarmupMode::Exponential {
        f64::MIN_POSITIVE
    } else {
        0.0
    };
    if !(start_factor >= lowest && start_factor <= 1.0) {
        return Err(invalid(
            "schedule.warmup.start_factor",
            format!(
                "must be in {} 1], got {start_factor}",
                if lowest > 0.0 { "(0," } else { "[0," }
            ),
        ));
    }
    Ok(Warmup {
        steps,
        mode: w.mode,
        start_factor,
    })
}

fn plateau(p: &PlateauSettings) -> Result<Plateau, OptimError> {
    let check = |field: &str, ok: bool, what: &str, v: f64| {
        if ok {
            Ok(())
        } else {
            Err(invalid(
                &format!("schedule.plateau.{field}"),
                format!("must be {what}, got {v}"),
            ))
        }
    };
    check(
        "factor",
        p.factor > 0.0 && p.factor < 1.0,
        "in (0, 1)",
        p.factor,
    )?;
    check(
        "threshold",
        p.threshold >= 0.0 && p.threshold.is_finite(),
        ">= 0",
        p.threshold,
    )?;
    check(
        "min_lr",
        p.min_lr >= 0.0 && p.min_lr.is_finite(),
        ">= 0",
        p.min_lr,
    )?;
    check("eps", p.eps >= 0.0 && p.eps.is_finite(), ">= 0", p.eps)?;
    Ok(Plateau::new(p))
}

impl LrScheduler for LrSchedule {
    fn step(&mut self) -> f64 {
        self.next_lr()
    }

    fn to_record(&self) -> LrSchedulerRecord {
        let mut record = LrSchedulerRecord::new()
            .with_scalar("iteration", self.iteration)
            .with_scalar("current", self.current);
        if let Some(p) = &self.plateau {
            record = record
                .with_scalar("plateau.best", p.best)
                .with_scalar("plateau.num_bad_epochs", p.num_bad_epochs)
                .with_scalar("plateau.cooldown_counter", p.cooldown_counter)
                .with_scalar("plateau.scale", p.scale);
        }
        record
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(i) = record.scalar::<u64>("iteration") {
            self.iteration = i;
        }
        if let Some(c) = record.scalar::<f64>("current") {
            self.current = c;
        }
        if let Some(p) = self.plateau.as_mut() {
            if let Some(v) = record.scalar::<f64>("plateau.best") {
                p.best = v;
            }
            if let Some(v) = record.scalar::<usize>("plateau.num_bad_epochs") {
                p.num_bad_epochs = v;
            }
            if let Some(v) = record.scalar::<usize>("plateau.cooldown_counter") {
                p.cooldown_counter = v;
            }
            if let Some(v) = record.scalar::<f64>("plateau.scale") {
                p.scale = v;
            }
        }
    }
}

#[cfg(test)]
mod tests;
