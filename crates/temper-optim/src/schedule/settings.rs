//! The `[schedule]` section: which curve, in which unit, with which warmup and plateau rule.

use serde::{Deserialize, Serialize};

use super::curve::{Anneal, Curve, CyclicMode};
use super::kinds::{AnnealKind, CyclicModeKind, Interval, ScheduleKind, WarmupSettings};
use super::plateau::PlateauSettings;
use crate::error::{OptimError, invalid};

/// The `[schedule]` section. Curve parameters left out take the kind's default (PyTorch's
/// where it has one); a parameter that the kind does not read is an error, so a typo like
/// `gamma` on a cosine schedule is not silently ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSettings {
    /// Which curve. Default `cosine`.
    pub kind: ScheduleKind,
    /// `epoch` (default) or `step`; only at the top level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// A warmup ramp before the schedule; only at the top level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<WarmupSettings>,
    /// Reduce-on-plateau on top of the curve (any kind); `kind = "plateau"` is the same on a
    /// constant curve. Only at the top level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plateau: Option<PlateauSettings>,
    /// Length of this phase in units; only inside `phases` (the last may leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,

    /// cosine, cosine-restarts: the floor. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
    /// step, multistep, exponential: decay factor (default 0.1); cyclic exp_range: per-unit
    /// amplitude factor (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// step: units between decays. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<u64>,
    /// multistep: strictly increasing units at which the rate is multiplied by `gamma`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<u64>>,
    /// inverse-time: Keras' `decay_rate`. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_rate: Option<f64>,
    /// inverse-time, exponential: units per decay period (default 1); polynomial: units to
    /// reach `end_lr` (default: the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_steps: Option<u64>,
    /// inverse-time, exponential: decay in whole periods. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staircase: Option<bool>,
    /// polynomial: the exponent. Default 1 (linear decay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// polynomial: the final rate. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_lr: Option<f64>,
    /// polynomial: restart the decay after `decay_steps` (Keras `cycle`). Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<bool>,
    /// cosine: units to reach `min_lr`. Default: the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_max: Option<u64>,
    /// cosine-restarts: length of the first cycle in units. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t0: Option<u64>,
    /// cosine-restarts: each cycle is this many times longer. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_mult: Option<f64>,
    /// cosine-restarts: each cycle's peak is this times the previous one. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m_mul: Option<f64>,
    /// one-cycle, cyclic: the peak. Default `optim.lr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lr: Option<f64>,
    /// linear, one-cycle: units the curve spans. Default: the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// one-cycle: fraction of the cycle spent rising. Default 0.3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_start: Option<f64>,
    /// one-cycle: the start is `max_lr / div_factor`. Default 25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub div_factor: Option<f64>,
    /// one-cycle: the end is `start / final_div_factor`. Default 1e4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_div_factor: Option<f64>,
    /// one-cycle: `cos` (default) or `linear`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anneal: Option<AnnealKind>,
    /// one-cycle: come back down to the start before the final descent. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_phase: Option<bool>,
    /// cyclic: the trough. Default `max_lr / 10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_lr: Option<f64>,
    /// cyclic: units from trough to peak. Default 2000 (PyTorch's, meant for `interval = "step"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size_up: Option<u64>,
    /// cyclic: units from peak to trough. Default `step_size_up`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size_down: Option<u64>,
    /// cyclic: `triangular` (default), `triangular2` or `exp_range`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<CyclicModeKind>,
    /// linear: factor of `lr` at `t = 0`. Default 1/3 (PyTorch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_factor: Option<f64>,
    /// linear: factor of `lr` from `total` on. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_factor: Option<f64>,
    /// sequential: the phases, each a schedule with a `length`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<ScheduleSettings>,
    /// chained: the schedules whose factors multiply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleSettings>,
}

impl ScheduleSettings {
    /// The interval, `epoch` when not given.
    pub fn interval(&self) -> Interval {
        self.interval.unwrap_or_default()
    }

    /// The plateau rule in force: the `plateau` table, or its defaults for `kind = "plateau"`.
    pub fn plateau_settings(&self) -> Option<PlateauSettings> {
        match (&self.plateau, self.kind) {
            (Some(p), _) => Some(p.clone()),
            (None, ScheduleKind::Plateau) => Some(PlateauSettings::default()),
            (None, _) => None,
        }
    }

    /// Every curve parameter with whether it is set, to reject those the kind does not read.
    fn set_parameters(&self) -> Vec<&'static str> {
        let flags = [
            ("min_lr", self.min_lr.is_some()),
            ("gamma", self.gamma.is_some()),
            ("step_size", self.step_size.is_some()),
            ("milestones", self.milestones.is_some()),
            ("decay_rate", self.decay_rate.is_some()),
            ("decay_steps", self.decay_steps.is_some()),
            ("staircase", self.staircase.is_some()),
            ("power", self.power.is_some()),
            ("end_lr", self.end_lr.is_some()),
            ("cycle", self.cycle.is_some()),
            ("t_max", self.t_max.is_some()),
            ("t0", self.t0.is_some()),
            ("t_mult", self.t_mult.is_some()),
            ("m_mul", self.m_mul.is_some()),
            ("max_lr", self.max_lr.is_some()),
            ("total", self.total.is_some()),
            ("pct_start", self.pct_start.is_some()),
            ("div_factor", self.div_factor.is_some()),
            ("final_div_factor", self.final_div_factor.is_some()),
            ("anneal", self.anneal.is_some()),
            ("three_phase", self.three_phase.is_some()),
            ("base_lr", self.base_lr.is_some()),
            ("step_size_up", self.step_size_up.is_some()),
            ("step_size_down", self.step_size_down.is_some()),
            ("mode", self.mode.is_some()),
            ("start_factor", self.start_factor.is_some()),
            ("end_factor", self.end_factor.is_some()),
            ("phases", !self.phases.is_empty()),
            ("schedules", !self.schedules.is_empty()),
        ];
        flags
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect()
    }

    /// The curve for base rate `lr` over `length` units; `path` names this table in errors
    /// (`schedule`, `schedule.phases[1]`).
    pub(crate) fn curve(&self, lr: f64, length: u64, path: &str) -> Result<Curve, OptimError> {
        let field = |name: &str| format!("{path}.{name}");
        let kind_name = self.kind.name();
        for name in self.set_parameters() {
            if !self.kind.parameters().contains(&name) {
                return Err(invalid(
                    &field(name),
                    format!("is not a parameter of kind = \"{kind_name}\""),
                ));
            }
        }
        let length = length.max(1);
        let rate = |name: &str, value: Option<f64>, default: f64| -> Result<f64, OptimError> {
            let v = value.unwrap_or(default);
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(invalid(
                    &field(name),
                    format!("must be a finite rate >= 0, got {v}"),
                ))
            }
        };
        let positive = |name: &str, value: Option<u64>, default: u64| -> Result<u64, OptimError> {
            match value.unwrap_or(default) {
                0 => Err(invalid(&field(name), "must be at least 1")),
                v => Ok(v),
            }
        };
        let in_range = |name: &str, v: f64, lo: f64, hi: f64, what: &str| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(v)
            } else {
                Err(invalid(&field(name), format!("must be {what}, got {v}")))
            }
        };
        let decay_gamma = |v: Option<f64>| {
            in_range(
                "gamma",
                v.unwrap_or(0.1),
                f64::MIN_POSITIVE,
                1.0,
                "in (0, 1]",
            )
        };
        Ok(match self.kind {
            ScheduleKind::Constant | ScheduleKind::Plateau => Curve::Constant { lr },
            ScheduleKind::Linear => Curve::Linear {
                lr,
                start_factor: in_range(
                    "start_factor",
                    self.start_factor.unwrap_or(1.0 / 3.0),
                    0.0,
                    1.0,
                    "in [0, 1]",
                )?,
                end_factor: in_range(
                    "end_factor",
                    self.end_factor.unwrap_or(1.0),
                    0.0,
                    1.0,
                    "in [0, 1]",
                )?,
                total: positive("total", self.total, length)?,
            },
            ScheduleKind::InverseTime => Curve::InverseTime {
                lr,
                decay_rate: rate("decay_rate", self.decay_rate, 1.0)?,
                decay_steps: positive("decay_steps", self.decay_steps, 1)?,
                staircase: self.staircase.unwrap_or(false),
            },
            ScheduleKind::Step => Curve::Step {
                lr,
                step_size: positive("step_size", self.step_size, 1)?,
                gamma: decay_gamma(self.gamma)?,
            },
            ScheduleKind::Multistep => {
                let milestones = self.milestones.clone().unwrap_or_default();
                if milestones.is_empty() {
                    return Err(invalid(
                        &field("milestones"),
                        "required for kind = \"multistep\": a list of units, e.g. [30, 80]",
                    ));
                }
                if milestones.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(invalid(
                        &field("milestones"),
                        format!("must be strictly increasing, got {milestones:?}"),
                    ));
                }
                Curve::MultiStep {
                    lr,
                    milestones,
                    gamma: decay_gamma(self.gamma)?,
                }
            }
            ScheduleKind::Exponential => Curve::Exponential {
                lr,
                gamma: decay_gamma(self.gamma)?,
                decay_steps: positive("decay_steps", self.decay_steps, 1)?,
                staircase: self.staircase.unwrap_or(false),
            },
            ScheduleKind::Polynomial => {
                let end_lr = rate("end_lr", self.end_lr, 0.0)?;
                if end_lr > lr {
                    return Err(invalid(
                        &field("end_lr"),
                        format!("must be at most optim.lr = {lr}, got {end_lr}"),
                    ));
                }
                Curve::Polynomial {
                    lr,
                    end_lr,
                    power: in_range(
                        "power",
                        self.power.unwrap_or(1.0),
                        f64::MIN_POSITIVE,
                        f64::MAX,
                        "> 0",
                    )?,
                    decay_steps: positive("decay_steps", self.decay_steps, length)?,
                    cycle: self.cycle.unwrap_or(false),
                }
            }
            ScheduleKind::Cosine => Curve::Cosine {
                lr,
                min_lr: self.floor(lr, path)?,
                t_max: positive("t_max", self.t_max, length)?,
            },
            ScheduleKind::CosineRestarts => {
                let Some(t0) = self.t0 else {
                    return Err(invalid(
                        &field("t0"),
                        "required for kind = \"cosine-restarts\": the first cycle's length in units",
                    ));
                };
                Curve::CosineRestarts {
                    lr,
                    min_lr: self.floor(lr, path)?,
                    t0: positive("t0", Some(t0), 1)?,
                    t_mult: in_range("t_mult", self.t_mult.unwrap_or(1.0), 1.0, 1e6, ">= 1")?,
                    m_mul: in_range(
                        "m_mul",
                        self.m_mul.unwrap_or(1.0),
                        f64::MIN_POSITIVE,
                        1.0,
                        "in (0, 1]",
                    )?,
                }
            }
            ScheduleKind::OneCycle => {
                let total = positive("total", self.total, length)?;
                let pct_start = self.pct_start.unwrap_or(0.3);
                // PyTorch needs each phase to span at least one step: pct_start * total >= 2.
                if !(pct_start > 0.0 && pct_start < 1.0) {
                    return Err(invalid(
                        &field("pct_start"),
                        format!("must be in (0, 1), got {pct_start}"),
                    ));
                }
                if pct_start * total as f64 - 1.0 < 1.0 || total < 3 {
                    return Err(invalid(
                        &field("total"),
                        format!(
                            "one-cycle over {total} units with pct_start = {pct_start} leaves a phase \
                             shorter than one unit; use interval = \"step\" or more epochs"
                        ),
                    ));
                }
                Curve::OneCycle {
                    max_lr: positive_rate(&field("max_lr"), self.max_lr.unwrap_or(lr))?,
                    total,
                    pct_start,
                    div_factor: in_range(
                        "div_factor",
                        self.div_factor.unwrap_or(25.0),
                        1.0,
                        f64::MAX,
                        ">= 1",
                    )?,
                    final_div_factor: in_range(
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
                }
            }
            ScheduleKind::Cyclic => {
                let max_lr = positive_rate(&field("max_lr"), self.max_lr.unwrap_or(lr))?;
                let base_lr = rate("base_lr", self.base_lr, max_lr / 10.0)?;
                if base_lr > max_lr {
                    return Err(invalid(
                        &field("base_lr"),
                        format!("must be at most max_lr = {max_lr}, got {base_lr}"),
                    ));
                }
                let up = positive("step_size_up", self.step_size_up, 2000)?;
                let mode = match self.mode.unwrap_or(CyclicModeKind::Triangular) {
                    CyclicModeKind::Triangular => CyclicMode::Triangular,
                    CyclicModeKind::Triangular2 => CyclicMode::Triangular2,
                    CyclicModeKind::ExpRange => CyclicMode::ExpRange {
                        gamma: in_range(
                            "gamma",
                            self.gamma.unwrap_or(1.0),
                            f64::MIN_POSITIVE,
                            1.0,
                            "in (0, 1]",
                        )?,
                    },
                };
                if self.gamma.is_some() && !matches!(mode, CyclicMode::ExpRange { .. }) {
                    return Err(invalid(
                        &field("gamma"),
                        "only applies with mode = \"exp_range\"",
                    ));
                }
                Curve::Cyclic {
                    base_lr,
                    max_lr,
                    step_size_up: up,
                    step_size_down: positive("step_size_down", self.step_size_down, up)?,
                    mode,
                }
            }
            ScheduleKind::Sequential => self.sequential(lr, length, path)?,
            ScheduleKind::Chained => {
                if self.schedules.is_empty() {
                    return Err(invalid(
                        &field("schedules"),
                        "required for kind = \"chained\": a list of schedules",
                    ));
                }
                let curves = self
                    .schedules
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let at = format!("{path}.schedules[{i}]");
                        s.check_nested(&at, false)?;
                        s.curve(lr, length, &at)
                    })
                    .collect::<Result<_, _>>()?;
                Curve::Chained { lr, curves }
            }
        })
    }

    fn sequential(&self, lr: f64, length: u64, path: &str) -> Result<Curve, OptimError> {
        if self.phases.is_empty() {
            return Err(invalid(
                &format!("{path}.phases"),
                "required for kind = \"sequential\": a list of schedules with a `length`",
            ));
        }
        let mut used = 0u64;
        let mut phases = Vec::with_capacity(self.phases.len());
        for (i, phase) in self.phases.iter().enumerate() {
            let at = format!("{path}.phases[{i}]");
            let last = i + 1 == self.phases.len();
            phase.check_nested(&at, last)?;
            let phase_length = match phase.length {
                Some(0) => return Err(invalid(&format!("{at}.length"), "must be at least 1")),
                Some(n) => n,
                None => length.saturating_sub(used).max(1),
            };
            used += phase_length;
            phases.push((phase.curve(lr, phase_length, &at)?, phase_length));
        }
        Ok(Curve::Sequential { phases })
    }

    /// Rejects what only the top level may carry; every phase but the last needs a length.
    fn check_nested(&self, path: &str, may_omit_length: bool) -> Result<(), OptimError> {
        let top_only = [
            ("interval", self.interval.is_some()),
            ("warmup", self.warmup.is_some()),
            (
                "plateau",
                self.plateau.is_some() || self.kind == ScheduleKind::Plateau,
            ),
        ];
        if let Some((name, _)) = top_only.iter().find(|(_, set)| *set) {
            return Err(invalid(
                &format!("{path}.{name}"),
                "only the top-level [schedule] takes this",
            ));
        }
        let in_phases = path.contains(".phases[");
        if !in_phases && self.length.is_some() {
            return Err(invalid(
                &format!("{path}.length"),
                "only phases of a sequential schedule take a length",
            ));
        }
        if in_phases && !may_omit_length && self.length.is_none() {
            return Err(invalid(
                &format!("{path}.length"),
                "required for every phase but the last (units this phase lasts)",
            ));
        }
        Ok(())
    }

    fn floor(&self, lr: f64, path: &str) -> Result<f64, OptimError> {
        let min_lr = self.min_lr.unwrap_or(0.0);
        if min_lr.is_finite() && (0.0..=lr).contains(&min_lr) {
            Ok(min_lr)
        } else {
            Err(invalid(
                &format!("{path}.min_lr"),
                format!("must be in [0, optim.lr = {lr}], got {min_lr}"),
            ))
        }
    }
}

fn positive_rate(field: &str, v: f64) -> Result<f64, OptimError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(
            field,
            format!("must be a finite rate > 0, got {v}"),
        ))
    }
}
