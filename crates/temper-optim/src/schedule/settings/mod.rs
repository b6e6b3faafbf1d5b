//! The `[schedule]` section: which curve, in which unit, with which warmup and plateau rule.
//!
//! One struct per kind holds that kind's parameters ([`CosineSettings`], [`StepSettings`],
//! ...), the shape of Burn's `LrSchedulerConfig`; [`CurveSettings`] is the enum of them, tagged
//! by `kind`, and [`ScheduleSettings`] adds the keys every kind shares (`interval`, `warmup`,
//! `plateau`). The TOML stays flat (`kind = "cosine"`, `t_max = 10` side by side), as every
//! `config.toml` written so far has it: the table is read whole, the shared keys are taken out,
//! and the rest goes to the kind's struct, which refuses any key it does not declare, naming
//! the key and the kind (so `gamma` on a cosine schedule is not silently ignored). Each struct
//! then checks its values into its [`Curve`]. A new kind is its struct with its checks, its
//! [`Curve`] variant, and one variant here and in [`ScheduleKind`].

mod check;
mod composite;
mod cyclical;
mod decay;
mod table;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

pub use composite::{ChainedSettings, PhaseSettings, SequentialSettings};
pub use cyclical::{CosineRestartsSettings, CosineSettings, CyclicSettings, OneCycleSettings};
pub use decay::{
    ExponentialSettings, InverseTimeSettings, LinearSettings, MultistepSettings,
    PolynomialSettings, StepSettings,
};

use super::curve::Curve;
use super::kinds::{Interval, ScheduleKind, WarmupSettings};
use super::momentum::MomentumCycle;
use super::plateau::PlateauSettings;
use crate::error::OptimError;
use check::Check;
use table::{PathError, Table, Value};

/// The `[schedule]` section: a curve ([`CurveSettings`], flat keys: `kind` and the kind's
/// parameters), plus the unit, warmup and plateau rule that only the top level takes. Curve
/// parameters left out take the kind's default (PyTorch's where it has one).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ScheduleSettings {
    /// `kind` and its parameters. Default `cosine` with its defaults.
    #[serde(flatten)]
    pub curve: CurveSettings,
    /// `epoch` (default) or `step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// A warmup ramp before the schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<WarmupSettings>,
    /// Reduce-on-plateau on top of the curve (any kind); `kind = "plateau"` is the same on a
    /// constant curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plateau: Option<PlateauSettings>,
}

/// Which curve, with its parameters: one struct per kind, tagged by `kind` (see
/// [`ScheduleKind`] for each formula).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CurveSettings {
    /// `kind = "constant"`: `lr` throughout. No parameters.
    Constant,
    /// `kind = "linear"`.
    Linear(LinearSettings),
    /// `kind = "inverse-time"`.
    InverseTime(InverseTimeSettings),
    /// `kind = "step"`.
    Step(StepSettings),
    /// `kind = "multistep"`.
    Multistep(MultistepSettings),
    /// `kind = "exponential"`.
    Exponential(ExponentialSettings),
    /// `kind = "polynomial"`.
    Polynomial(PolynomialSettings),
    /// `kind = "cosine"`.
    Cosine(CosineSettings),
    /// `kind = "cosine-restarts"`.
    CosineRestarts(CosineRestartsSettings),
    /// `kind = "one-cycle"`.
    OneCycle(OneCycleSettings),
    /// `kind = "cyclic"`.
    Cyclic(CyclicSettings),
    /// `kind = "plateau"`: `lr`, reduced by the `plateau` rule (its defaults when the table is
    /// absent). No parameters; top level only.
    Plateau,
    /// `kind = "sequential"`.
    Sequential(SequentialSettings),
    /// `kind = "chained"`.
    Chained(ChainedSettings),
}

impl Default for CurveSettings {
    fn default() -> Self {
        Self::Cosine(CosineSettings::default())
    }
}

/// The refusal of a key a nested schedule table may not hold.
const TOP_LEVEL_ONLY: &str = "only the top-level [schedule] takes this";

impl ScheduleSettings {
    /// The kind of curve.
    pub fn kind(&self) -> ScheduleKind {
        self.curve.kind()
    }

    /// The interval, `epoch` when not given.
    pub fn interval(&self) -> Interval {
        self.interval.unwrap_or_default()
    }

    /// The plateau rule in force: the `plateau` table, or its defaults for `kind = "plateau"`.
    pub fn plateau_settings(&self) -> Option<PlateauSettings> {
        match (&self.plateau, &self.curve) {
            (Some(p), _) => Some(p.clone()),
            (None, CurveSettings::Plateau) => Some(PlateauSettings::default()),
            (None, _) => None,
        }
    }

    /// The curve for base rate `lr` over `length` units; `path` names this table in errors.
    pub(crate) fn curve(&self, lr: f64, length: u64, path: &str) -> Result<Curve, OptimError> {
        self.curve.curve(lr, length, path)
    }

    /// The momentum cycle of a top-level one-cycle or cyclic schedule (on by default, as in
    /// PyTorch); `None` for every other kind or with `cycle_momentum = false`. Errors name the
    /// key (`schedule.base_momentum`).
    pub fn momentum_cycle(&self) -> Result<Option<MomentumCycle>, OptimError> {
        let at = Check::new("schedule");
        match &self.curve {
            CurveSettings::OneCycle(s) => s.momentum(at),
            CurveSettings::Cyclic(s) => s.momentum(at),
            _ => Ok(None),
        }
    }

    /// The settings of a whole `[schedule]` table; errors are relative to it.
    fn from_table(mut table: Table) -> Result<Self, PathError> {
        let interval = table.take("interval")?;
        let warmup = table.take("warmup")?;
        let plateau = table.take("plateau")?;
        if table.contains("length") {
            return Err(PathError::at(
                "length",
                "only phases of a sequential schedule take a length",
            ));
        }
        Ok(Self {
            curve: CurveSettings::from_table(table)?,
            interval,
            warmup,
            plateau,
        })
    }
}

/// Reads the flat table: the shared keys, then `kind` and its parameters. Errors name the key
/// path from `schedule` (`schedule.phases[1].gamma: ...`).
impl<'de> Deserialize<'de> for ScheduleSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = Table::deserialize(deserializer)?;
        Self::from_table(table).map_err(|e| D::Error::custom(e.describe("schedule")))
    }
}

impl CurveSettings {
    /// The `kind` this is.
    pub fn kind(&self) -> ScheduleKind {
        match self {
            Self::Constant => ScheduleKind::Constant,
            Self::Linear(_) => ScheduleKind::Linear,
            Self::InverseTime(_) => ScheduleKind::InverseTime,
            Self::Step(_) => ScheduleKind::Step,
            Self::Multistep(_) => ScheduleKind::Multistep,
            Self::Exponential(_) => ScheduleKind::Exponential,
            Self::Polynomial(_) => ScheduleKind::Polynomial,
            Self::Cosine(_) => ScheduleKind::Cosine,
            Self::CosineRestarts(_) => ScheduleKind::CosineRestarts,
            Self::OneCycle(_) => ScheduleKind::OneCycle,
            Self::Cyclic(_) => ScheduleKind::Cyclic,
            Self::Plateau => ScheduleKind::Plateau,
            Self::Sequential(_) => ScheduleKind::Sequential,
            Self::Chained(_) => ScheduleKind::Chained,
        }
    }

    /// The curve for base rate `lr` over `length` units; `path` names this table in errors
    /// (`schedule`, `schedule.phases[1]`).
    pub(crate) fn curve(&self, lr: f64, length: u64, path: &str) -> Result<Curve, OptimError> {
        let at = Check::new(path);
        let length = length.max(1);
        match self {
            Self::Constant | Self::Plateau => Ok(Curve::Constant { lr }),
            Self::Linear(s) => s.curve(lr, length, at),
            Self::InverseTime(s) => s.curve(lr, at),
            Self::Step(s) => s.curve(lr, at),
            Self::Multistep(s) => s.curve(lr, at),
            Self::Exponential(s) => s.curve(lr, at),
            Self::Polynomial(s) => s.curve(lr, length, at),
            Self::Cosine(s) => s.curve(lr, length, at),
            Self::CosineRestarts(s) => s.curve(lr, at),
            Self::OneCycle(s) => s.curve(lr, length, at),
            Self::Cyclic(s) => s.curve(lr, at),
            Self::Sequential(s) => s.curve(lr, length, at),
            Self::Chained(s) => s.curve(lr, length, at),
        }
    }

    /// `kind` (default `cosine`) and its parameters, the table's only keys left.
    fn from_table(mut table: Table) -> Result<Self, PathError> {
        let kind = table.take::<ScheduleKind>("kind")?.unwrap_or_default();
        Ok(match kind {
            ScheduleKind::Constant => {
                table.refuse_rest(kind, &[])?;
                Self::Constant
            }
            ScheduleKind::Linear => Self::Linear(table.parameters(kind)?),
            ScheduleKind::InverseTime => Self::InverseTime(table.parameters(kind)?),
            ScheduleKind::Step => Self::Step(table.parameters(kind)?),
            ScheduleKind::Multistep => Self::Multistep(table.parameters(kind)?),
            ScheduleKind::Exponential => Self::Exponential(table.parameters(kind)?),
            ScheduleKind::Polynomial => Self::Polynomial(table.parameters(kind)?),
            ScheduleKind::Cosine => Self::Cosine(table.parameters(kind)?),
            ScheduleKind::CosineRestarts => Self::CosineRestarts(table.parameters(kind)?),
            ScheduleKind::OneCycle => Self::OneCycle(table.parameters(kind)?),
            ScheduleKind::Cyclic => Self::Cyclic(table.parameters(kind)?),
            ScheduleKind::Plateau => {
                table.refuse_rest(kind, &[])?;
                Self::Plateau
            }
            ScheduleKind::Sequential => Self::Sequential(SequentialSettings::from_table(table)?),
            ScheduleKind::Chained => Self::Chained(ChainedSettings::from_table(table)?),
        })
    }

    /// A schedule inside `phases` or `schedules`: what only the top level takes is refused,
    /// and so is a `length` left over (phases take theirs out first).
    fn from_nested_table(table: Table) -> Result<Self, PathError> {
        let plateau_kind = matches!(table.get("kind"), Some(Value::Str(k)) if k == "plateau");
        for key in ["interval", "warmup", "plateau"] {
            if table.contains(key) || (key == "plateau" && plateau_kind) {
                return Err(PathError::at(key, TOP_LEVEL_ONLY));
            }
        }
        if table.contains("length") {
            return Err(PathError::at(
                "length",
                "only phases of a sequential schedule take a length",
            ));
        }
        // One optimizer has one momentum: only the top-level curve cycles it.
        for key in ["cycle_momentum", "base_momentum", "max_momentum"] {
            if table.contains(key) {
                return Err(PathError::at(key, TOP_LEVEL_ONLY));
            }
        }
        Self::from_table(table)
    }
}

#[cfg(test)]
mod tests;
