//! The kinds made of other schedules: sequential phases and chained factors. Their tables hold
//! whole schedule tables, so they are read by hand (recursively) rather than by serde's derive.

use serde::Serialize;

use super::CurveSettings;
use super::check::Check;
use super::table::{PathError, Table, tables};
use crate::error::{OptimError, invalid};
use crate::schedule::curve::Curve;
use crate::schedule::kinds::ScheduleKind;

/// `kind = "sequential"`: `phases` one after another, each from its own `t = 0` (PyTorch
/// `SequentialLR`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SequentialSettings {
    /// The phases (`[[schedule.phases]]`), each a schedule with a `length`. Required.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseSettings>,
}

/// One `[[schedule.phases]]` table: a curve and how long it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseSettings {
    /// The phase's curve (any kind but `plateau`).
    #[serde(flatten)]
    pub curve: CurveSettings,
    /// Units this phase lasts; required for every phase but the last, which runs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// `kind = "chained"`: the product of `schedules`' factors (PyTorch `ChainedScheduler`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ChainedSettings {
    /// The schedules (`[[schedule.schedules]]`) whose factors multiply. Required.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<CurveSettings>,
}

/// The schedule tables under `key` (an array of tables), each read by `read`.
fn read_tables<T>(
    table: &mut Table,
    key: &str,
    read: impl Fn(Table) -> Result<T, PathError>,
) -> Result<Vec<T>, PathError> {
    let Some(value) = table.take_value(key) else {
        return Ok(Vec::new());
    };
    let items = tables(value).map_err(|e| e.within(key))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| read(item).map_err(|e| e.within_index(i).within(key)))
        .collect()
}

impl SequentialSettings {
    /// The keys this kind reads.
    const PARAMETERS: &'static [&'static str] = &["phases"];

    pub(crate) fn from_table(mut table: Table) -> Result<Self, PathError> {
        let phases = read_tables(&mut table, "phases", PhaseSettings::from_table)?;
        table.refuse_rest(ScheduleKind::Sequential, Self::PARAMETERS)?;
        Ok(Self { phases })
    }

    pub(crate) fn curve(&self, lr: f64, length: u64, at: Check<'_>) -> Result<Curve, OptimError> {
        if self.phases.is_empty() {
            return Err(at.error(
                "phases",
                "required for kind = \"sequential\": a list of schedules with a `length`",
            ));
        }
        let mut used = 0u64;
        let mut phases = Vec::with_capacity(self.phases.len());
        for (i, phase) in self.phases.iter().enumerate() {
            let path = format!("{}.phases[{i}]", at.path());
            let last = i + 1 == self.phases.len();
            let phase_length = match phase.length {
                Some(0) => return Err(invalid(&format!("{path}.length"), "must be at least 1")),
                Some(n) => n,
                None if last => length.saturating_sub(used).max(1),
                None => {
                    return Err(invalid(
                        &format!("{path}.length"),
                        "required for every phase but the last (units this phase lasts)",
                    ));
                }
            };
            used += phase_length;
            phases.push((phase.curve.curve(lr, phase_length, &path)?, phase_length));
        }
        Ok(Curve::Sequential { phases })
    }
}

impl PhaseSettings {
    fn from_table(mut table: Table) -> Result<Self, PathError> {
        let length = table.take("length")?;
        Ok(Self {
            curve: CurveSettings::from_nested_table(table)?,
            length,
        })
    }
}

impl ChainedSettings {
    /// The keys this kind reads.
    const PARAMETERS: &'static [&'static str] = &["schedules"];

    pub(crate) fn from_table(mut table: Table) -> Result<Self, PathError> {
        let schedules = read_tables(&mut table, "schedules", CurveSettings::from_nested_table)?;
        table.refuse_rest(ScheduleKind::Chained, Self::PARAMETERS)?;
        Ok(Self { schedules })
    }

    pub(crate) fn curve(&self, lr: f64, length: u64, at: Check<'_>) -> Result<Curve, OptimError> {
        if self.schedules.is_empty() {
            return Err(at.error(
                "schedules",
                "required for kind = \"chained\": a list of schedules",
            ));
        }
        let curves = self
            .schedules
            .iter()
            .enumerate()
            .map(|(i, s)| s.curve(lr, length, &format!("{}.schedules[{i}]", at.path())))
            .collect::<Result<_, _>>()?;
        Ok(Curve::Chained { lr, curves })
    }
}
