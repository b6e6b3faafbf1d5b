//! Closed-form learning-rate curves: `lr(t)` for a whole number `t` of schedule units.
//!
//! Every curve is a pure function of `t`, so a schedule's whole state is its step counter (and
//! the plateau state, kept elsewhere): recording and resuming it is exact, and the CLI can draw a
//! run's curve without training. Formulas follow PyTorch's `torch.optim.lr_scheduler`, Keras'
//! `keras.optimizers.schedules` and timm's `scheduler`; each variant names its source.

use std::f64::consts::PI;

use super::kinds::MMulMode;

/// How one-cycle anneals between its phase boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anneal {
    /// `end + (start - end) * (1 + cos(pi * pct)) / 2` (PyTorch `OneCycleLR._annealing_cos`).
    Cos,
    /// `start + (end - start) * pct` (PyTorch `OneCycleLR._annealing_linear`).
    Linear,
}

impl Anneal {
    fn at(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// The shape of a cyclical schedule's peaks (PyTorch `CyclicLR` `mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CyclicMode {
    /// Every cycle reaches `max_lr`.
    Triangular,
    /// The amplitude halves every cycle.
    Triangular2,
    /// The amplitude is scaled by `gamma^t`.
    ExpRange {
        /// Per-unit decay of the amplitude.
        gamma: f64,
    },
}

/// A learning-rate curve over schedule units `t = 0, 1, 2, ...`.
#[derive(Debug, Clone, PartialEq)]
pub enum Curve {
    /// `lr`.
    Constant {
        /// The learning rate.
        lr: f64,
    },
    /// `lr * (start + (end - start) * min(t, total) / total)` (PyTorch `LinearLR`).
    Linear {
        /// The base learning rate.
        lr: f64,
        /// Factor of `lr` at `t = 0`.
        start_factor: f64,
        /// Factor of `lr` from `t = total` on.
        end_factor: f64,
        /// Units over which the factor moves (0: `end_factor` at once).
        total: u64,
    },
    /// `lr / (1 + decay_rate * p)`, `p = t / decay_steps`, floored when `staircase`
    /// (Keras `InverseTimeDecay`).
    InverseTime {
        /// The base learning rate.
        lr: f64,
        /// How fast the rate falls per `decay_steps` units.
        decay_rate: f64,
        /// Units per decay period.
        decay_steps: u64,
        /// Decay in whole periods (`floor(p)`).
        staircase: bool,
    },
    /// `lr * gamma^floor(t / step_size)` (PyTorch `StepLR`).
    Step {
        /// The base learning rate.
        lr: f64,
        /// Units between decays.
        step_size: u64,
        /// Factor applied at each decay.
        gamma: f64,
    },
    /// `lr * gamma^(number of milestones <= t)` (PyTorch `MultiStepLR`).
    MultiStep {
        /// The base learning rate.
        lr: f64,
        /// Units at which the rate decays, increasing.
        milestones: Vec<u64>,
        /// Factor applied at each milestone.
        gamma: f64,
    },
    /// `lr * gamma^p`, `p = t / decay_steps`, floored when `staircase` (Keras
    /// `ExponentialDecay`; with `decay_steps = 1` PyTorch `ExponentialLR`).
    Exponential {
        /// The base learning rate.
        lr: f64,
        /// Factor per `decay_steps` units.
        gamma: f64,
        /// Units per decay period.
        decay_steps: u64,
        /// Decay in whole periods (`floor(p)`).
        staircase: bool,
    },
    /// `(lr - end_lr) * (1 - t' / d')^power + end_lr` (Keras `PolynomialDecay`): without
    /// `cycle`, `t' = min(t, decay_steps)` and `d' = decay_steps`; with `cycle`,
    /// `d' = decay_steps * max(1, ceil(t / decay_steps))`.
    Polynomial {
        /// The base learning rate.
        lr: f64,
        /// The rate reached after `decay_steps` units.
        end_lr: f64,
        /// Exponent of the decay (1: linear).
        power: f64,
        /// Units of the decay.
        decay_steps: u64,
        /// Restart the decay from a further multiple of `decay_steps` instead of holding
        /// `end_lr`.
        cycle: bool,
    },
    /// `min_lr + (lr - min_lr) * (1 + cos(pi * min(t, t_max) / t_max)) / 2` (PyTorch
    /// `CosineAnnealingLR`'s closed form; held at `min_lr` after `t_max`, as Keras `CosineDecay`).
    Cosine {
        /// The initial (maximum) learning rate.
        lr: f64,
        /// The rate reached at `t_max` and held after.
        min_lr: f64,
        /// Units of the half cosine.
        t_max: u64,
    },
    /// SGDR (Loshchilov & Hutter 2017, <https://arxiv.org/abs/1608.03983>): cycle `i` lasts
    /// `t0 * t_mult^i` units; within it, with `c = (1 + cos(pi * t_cur / T_i)) / 2` (PyTorch
    /// `CosineAnnealingWarmRestarts` when `m_mul = 1`):
    /// [`MMulMode::Timm`]: `min_lr + (lr * m_mul^i - min_lr) * c` (timm `cycle_decay`);
    /// [`MMulMode::Keras`]: `min_lr + (lr - min_lr) * m_mul^i * c` (Keras `m_mul`, `alpha`).
    /// The two differ only when both `min_lr > 0` and `m_mul < 1`.
    CosineRestarts {
        /// The first cycle's peak learning rate.
        lr: f64,
        /// The rate at the end of each cycle.
        min_lr: f64,
        /// Units of the first cycle.
        t0: u64,
        /// Factor by which each cycle is longer than the previous one.
        t_mult: f64,
        /// Factor by which each cycle's peak is lower than the previous one.
        m_mul: f64,
        /// Whether `m_mul` scales the peak (timm) or the cosine above `min_lr` (Keras).
        m_mul_mode: MMulMode,
    },
    /// The 1cycle policy (Smith & Topin 2018, <https://arxiv.org/abs/1708.07120>), exactly as
    /// PyTorch `OneCycleLR` computes it: from `max_lr / div_factor` up to `max_lr` over
    /// `pct_start * total - 1` units, then down to `initial / final_div_factor` at `total - 1`
    /// (with `three_phase`, back to the initial lr first, then down).
    OneCycle {
        /// The peak learning rate.
        max_lr: f64,
        /// Units of the whole cycle.
        total: u64,
        /// Fraction of `total` spent rising.
        pct_start: f64,
        /// The initial rate is `max_lr / div_factor`.
        div_factor: f64,
        /// The final rate is the initial one divided by this.
        final_div_factor: f64,
        /// How the rate moves between phase boundaries.
        anneal: Anneal,
        /// Go back down to the initial rate before the final annealing.
        three_phase: bool,
    },
    /// Cyclical learning rates (Smith 2017, <https://arxiv.org/abs/1506.01186>), PyTorch
    /// `CyclicLR`: a triangle between `base_lr` and `max_lr`, `step_size_up` units up and
    /// `step_size_down` down.
    Cyclic {
        /// The bottom of each cycle.
        base_lr: f64,
        /// The top of each cycle (before `mode` scales the amplitude).
        max_lr: f64,
        /// Units of the rising half.
        step_size_up: u64,
        /// Units of the falling half.
        step_size_down: u64,
        /// How the peaks change from cycle to cycle.
        mode: CyclicMode,
    },
    /// Each curve runs for its length of units, then hands over to the next, which starts
    /// again at its own `t = 0` (PyTorch `SequentialLR`); the last runs on.
    Sequential {
        /// Each curve with the number of units it runs for (the last one's is ignored).
        phases: Vec<(Curve, u64)>,
    },
    /// `lr * prod_i(curve_i(t) / lr)`: each curve's factor multiplies the others (PyTorch
    /// `ChainedScheduler` over multiplicative schedulers; Burn's `ComposedLrScheduler` with a
    /// product reduction).
    Chained {
        /// The base learning rate.
        lr: f64,
        /// The curves whose factors `curve(t) / lr` multiply.
        curves: Vec<Curve>,
    },
}

impl Curve {
    /// The learning rate at unit `t`.
    pub fn at(&self, t: u64) -> f64 {
        let tf = t as f64;
        match self {
            Curve::Constant { lr } => *lr,
            Curve::Linear {
                lr,
                start_factor,
                end_factor,
                total,
            } => linear(t, *lr, *start_factor, *end_factor, *total),
            Curve::InverseTime {
                lr,
                decay_rate,
                decay_steps,
                staircase,
            } => lr / (1.0 + decay_rate * progress(t, *decay_steps, *staircase)),
            Curve::Step {
                lr,
                step_size,
                gamma,
            } => lr * gamma.powi((t / step_size) as i32),
            Curve::MultiStep {
                lr,
                milestones,
                gamma,
            } => multistep(t, *lr, milestones, *gamma),
            Curve::Exponential {
                lr,
                gamma,
                decay_steps,
                staircase,
            } => lr * gamma.powf(progress(t, *decay_steps, *staircase)),
            Curve::Polynomial {
                lr,
                end_lr,
                power,
                decay_steps,
                cycle,
            } => polynomial(tf, *lr, *end_lr, *power, *decay_steps, *cycle),
            Curve::Cosine { lr, min_lr, t_max } => cosine(t, *lr, *min_lr, *t_max),
            Curve::CosineRestarts {
                lr,
                min_lr,
                t0,
                t_mult,
                m_mul,
                m_mul_mode,
            } => {
                let (cycle, t_cur, length) = restart_position(tf, *t0 as f64, *t_mult);
                let shrink = m_mul.powi(cycle as i32);
                let cos = (PI * t_cur / length).cos();
                match m_mul_mode {
                    MMulMode::Timm => min_lr + (lr * shrink - min_lr) * (1.0 + cos) / 2.0,
                    MMulMode::Keras => min_lr + (lr - min_lr) * shrink * (1.0 + cos) / 2.0,
                }
            }
            Curve::OneCycle {
                max_lr,
                total,
                pct_start,
                div_factor,
                final_div_factor,
                anneal,
                three_phase,
            } => one_cycle(
                tf,
                *max_lr,
                *total as f64,
                *pct_start,
                *div_factor,
                *final_div_factor,
                *anneal,
                *three_phase,
            ),
            Curve::Cyclic {
                base_lr,
                max_lr,
                step_size_up,
                step_size_down,
                mode,
            } => cyclic(tf, *base_lr, *max_lr, *step_size_up, *step_size_down, *mode),
            Curve::Sequential { phases } => sequential(phases, t),
            Curve::Chained { lr, curves } => curves.iter().fold(*lr, |acc, c| acc * c.at(t) / lr),
        }
    }
}

/// PyTorch `LinearLR`: the factor moves from `start_factor` to `end_factor` over `total`.
fn linear(t: u64, lr: f64, start_factor: f64, end_factor: f64, total: u64) -> f64 {
    let frac = if total == 0 {
        1.0
    } else {
        t.min(total) as f64 / total as f64
    };
    lr * (start_factor + (end_factor - start_factor) * frac)
}

/// PyTorch `MultiStepLR`: one factor of `gamma` per milestone passed.
fn multistep(t: u64, lr: f64, milestones: &[u64], gamma: f64) -> f64 {
    let passed = milestones.iter().take_while(|&&m| m <= t).count();
    lr * gamma.powi(passed as i32)
}

/// PyTorch `CosineAnnealingLR`'s closed form, held at `min_lr` after `t_max`.
fn cosine(t: u64, lr: f64, min_lr: f64, t_max: u64) -> f64 {
    let frac = t.min(t_max) as f64 / t_max as f64;
    min_lr + (lr - min_lr) * (1.0 + (PI * frac).cos()) / 2.0
}

/// Keras `PolynomialDecay`, with or without `cycle`.
fn polynomial(tf: f64, lr: f64, end_lr: f64, power: f64, decay_steps: u64, cycle: bool) -> f64 {
    let steps = decay_steps as f64;
    let (t, d) = if cycle {
        (tf, steps * (tf / steps).ceil().max(1.0))
    } else {
        (tf.min(steps), steps)
    };
    (lr - end_lr) * (1.0 - t / d).powf(power) + end_lr
}

/// PyTorch `CyclicLR.get_lr`, with `last_epoch = t`.
fn cyclic(
    tf: f64,
    base_lr: f64,
    max_lr: f64,
    step_size_up: u64,
    step_size_down: u64,
    mode: CyclicMode,
) -> f64 {
    let (scale_factor, scale) = cyclic_position(tf, step_size_up, step_size_down, mode);
    base_lr + (max_lr - base_lr) * scale_factor * scale
}

/// Where a cyclical schedule is at unit `tf`: PyTorch `CyclicLR.get_lr`'s `scale_factor`
/// (the triangle, in `[0, 1]`) and `scale_fn` (the mode's shrink of the amplitude). The rate is
/// `base_lr + (max_lr - base_lr) * scale_factor * scale`; a cycled momentum
/// `max_momentum - (max_momentum - base_momentum) * scale_factor * scale`, in PyTorch's order
/// of operations.
pub(super) fn cyclic_position(
    tf: f64,
    step_size_up: u64,
    step_size_down: u64,
    mode: CyclicMode,
) -> (f64, f64) {
    let up = step_size_up as f64;
    let total_size = up + step_size_down as f64;
    let step_ratio = up / total_size;
    let cycle = (1.0 + tf / total_size).floor();
    let x = 1.0 + tf / total_size - cycle;
    let scale_factor = if x <= step_ratio {
        x / step_ratio
    } else {
        (x - 1.0) / (step_ratio - 1.0)
    };
    let scale = match mode {
        CyclicMode::Triangular => 1.0,
        CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
        CyclicMode::ExpRange { gamma } => gamma.powf(tf),
    };
    (scale_factor, scale)
}

/// PyTorch `SequentialLR`: the phase `t` falls in, at its own clock; the last runs on.
fn sequential(phases: &[(Curve, u64)], t: u64) -> f64 {
    let mut t = t;
    for (i, (curve, length)) in phases.iter().enumerate() {
        if t < *length || i + 1 == phases.len() {
            return curve.at(t);
        }
        t -= length;
    }
    unreachable!("a sequential curve has at least one phase")
}

/// `t / decay_steps`, floored when `staircase` (Keras' `global_step / decay_steps`).
fn progress(t: u64, decay_steps: u64, staircase: bool) -> f64 {
    if staircase {
        (t / decay_steps) as f64
    } else {
        t as f64 / decay_steps as f64
    }
}

/// Cycle index, position within the cycle and the cycle's length at unit `t` of SGDR.
///
/// Walks the cycles instead of PyTorch's `log(t / T0 * (T_mult - 1) + 1, T_mult)`, which
/// misplaces boundaries by one when the logarithm rounds down (and which needs an integer
/// `t_mult`; timm and Keras take any `t_mult >= 1`).
fn restart_position(t: f64, t0: f64, t_mult: f64) -> (u32, f64, f64) {
    let (mut cycle, mut start, mut length) = (0u32, 0.0, t0);
    while t >= start + length {
        start += length;
        length *= t_mult;
        cycle += 1;
    }
    (cycle, t - start, length)
}

#[allow(clippy::too_many_arguments)]
fn one_cycle(
    t: f64,
    max_lr: f64,
    total: f64,
    pct_start: f64,
    div_factor: f64,
    final_div_factor: f64,
    anneal: Anneal,
    three_phase: bool,
) -> f64 {
    // PyTorch OneCycleLR.__init__: initial_lr = max_lr / div_factor,
    // min_lr = initial_lr / final_div_factor.
    let initial = max_lr / div_factor;
    let min = initial / final_div_factor;
    let shape = OneCyclePhases {
        total,
        pct_start,
        anneal,
        three_phase,
    };
    shape.at(t, [initial, max_lr, initial, min])
}

/// Where one-cycle's phases end and how it moves between them; the values at the boundaries
/// are the caller's, so the rate and a cycled momentum share one walk.
#[derive(Debug, Clone, Copy)]
pub(super) struct OneCyclePhases {
    /// Units of the whole cycle.
    pub total: f64,
    /// Fraction of `total` in the first phase.
    pub pct_start: f64,
    /// Cosine or linear between boundaries.
    pub anneal: Anneal,
    /// Three phases instead of two.
    pub three_phase: bool,
}

impl OneCyclePhases {
    /// The value at unit `t` for boundary values `[start, peak, back, end]`: two phases go
    /// `start -> peak -> end`, three go `start -> peak -> back -> end` (PyTorch
    /// `OneCycleLR._schedule_phases`, whose rate is `[initial, max, initial, min]` and whose
    /// momentum is `[max_m, base_m, max_m, max_m]`, and `get_lr`'s walk over them).
    pub fn at(&self, t: f64, [start, peak, back, end]: [f64; 4]) -> f64 {
        let total = self.total;
        let pct_start = self.pct_start;
        // PyTorch raises past the last step; temper holds the final value.
        let t = t.min(total - 1.0);
        let two = [
            (pct_start * total - 1.0, start, peak),
            (total - 1.0, peak, end),
        ];
        let three = [
            (pct_start * total - 1.0, start, peak),
            (2.0 * pct_start * total - 2.0, peak, back),
            (total - 1.0, back, end),
        ];
        let phases: &[(f64, f64, f64)] = if self.three_phase { &three } else { &two };
        let mut start_step = 0.0;
        for (i, &(end_step, from, to)) in phases.iter().enumerate() {
            if t <= end_step || i + 1 == phases.len() {
                let pct = (t - start_step) / (end_step - start_step);
                return self.anneal.at(from, to, pct);
            }
            start_step = end_step;
        }
        unreachable!("one-cycle has at least two phases")
    }
}
