//! The TOML/serde form of a search space: one [`RawParam`] per entry, converted to and from
//! [`ParamSpec`] with the same checks as [`Space::new`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Distribution, ParamSpec, Space};
use crate::error::{TuneError, invalid};
use crate::value::ParamValue;

/// The TOML/serde form of one space entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParam {
    /// `[low, high]` of a float parameter, uniform (log-uniform with `log = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform: Option<Vec<ParamValue>>,
    /// `[low, high]` of a float parameter, uniform on the log scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_uniform: Option<Vec<ParamValue>>,
    /// `[low, high]` of an integer parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int: Option<Vec<i64>>,
    /// Spacing of an `int` parameter's values. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    /// Log scale for `uniform` or `int`. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<bool>,
    /// The values of a categorical parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<Vec<ParamValue>>,
    /// Values the grid sampler tries, as [`ParamSpec::grid`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<Vec<ParamValue>>,
    /// The condition, as [`ParamSpec::when`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: BTreeMap<String, Vec<ParamValue>>,
}

fn pair(name: &str, key: &str, v: &[ParamValue]) -> Result<(f64, f64), TuneError> {
    match v {
        [a, b] => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(invalid(
                name,
                format!("`{key}` needs two numbers [low, high]"),
            )),
        },
        _ => Err(invalid(name, format!("`{key}` needs [low, high]"))),
    }
}

impl RawParam {
    fn into_spec(self, name: String) -> Result<ParamSpec, TuneError> {
        let kinds = [
            self.uniform.is_some(),
            self.log_uniform.is_some(),
            self.int.is_some(),
            self.choice.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(invalid(
                &name,
                "give exactly one of `uniform`, `log_uniform`, `int`, `choice`",
            ));
        }
        if self.step.is_some() && self.int.is_none() {
            return Err(invalid(&name, "`step` applies to `int` only"));
        }
        if self.log.is_some() && self.choice.is_some() {
            return Err(invalid(&name, "`log` does not apply to `choice`"));
        }
        let distribution = if let Some(v) = &self.uniform {
            let (low, high) = pair(&name, "uniform", v)?;
            let log = self.log.unwrap_or(false);
            Distribution::Float { low, high, log }
        } else if let Some(v) = &self.log_uniform {
            let (low, high) = pair(&name, "log_uniform", v)?;
            if self.log == Some(false) {
                return Err(invalid(&name, "`log_uniform` with `log = false`"));
            }
            Distribution::Float {
                low,
                high,
                log: true,
            }
        } else if let Some(v) = &self.int {
            let [low, high] = v[..] else {
                return Err(invalid(&name, "`int` needs [low, high]"));
            };
            Distribution::Int {
                low,
                high,
                step: self.step.unwrap_or(1),
                log: self.log.unwrap_or(false),
            }
        } else {
            Distribution::Categorical {
                choices: self.choice.unwrap_or_default(),
            }
        };
        Ok(ParamSpec {
            name,
            distribution,
            when: self.when,
            grid: self.grid,
        })
    }
}

impl From<&ParamSpec> for RawParam {
    fn from(p: &ParamSpec) -> Self {
        let mut raw = RawParam {
            grid: p.grid.clone(),
            when: p.when.clone(),
            ..RawParam::default()
        };
        match &p.distribution {
            Distribution::Float { low, high, log } => {
                let v = vec![ParamValue::Float(*low), ParamValue::Float(*high)];
                if *log {
                    raw.log_uniform = Some(v);
                } else {
                    raw.uniform = Some(v);
                }
            }
            Distribution::Int {
                low,
                high,
                step,
                log,
            } => {
                raw.int = Some(vec![*low, *high]);
                raw.step = (*step != 1).then_some(*step);
                raw.log = log.then_some(true);
            }
            Distribution::Categorical { choices } => raw.choice = Some(choices.clone()),
        }
        raw
    }
}

impl TryFrom<BTreeMap<String, RawParam>> for Space {
    type Error = TuneError;
    fn try_from(raw: BTreeMap<String, RawParam>) -> Result<Self, Self::Error> {
        let specs = raw
            .into_iter()
            .map(|(k, v)| v.into_spec(k))
            .collect::<Result<Vec<_>, _>>()?;
        Space::new(specs)
    }
}

impl From<Space> for BTreeMap<String, RawParam> {
    fn from(s: Space) -> Self {
        s.params
            .iter()
            .map(|p| (p.name.clone(), RawParam::from(p)))
            .collect()
    }
}
