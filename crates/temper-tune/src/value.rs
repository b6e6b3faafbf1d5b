//! Parameter values and parameter sets: what a sampler suggests and what a trial stores.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{TuneError, invalid};

/// One parameter value. In TOML and JSON it is written bare (`true`, `32`, `0.1`, `"adam"`);
/// integers and floats stay distinct (`1` is an `Int`, `1.0` a `Float`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A boolean (categorical choices only).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (categorical choices only).
    Str(String),
}

impl ParamValue {
    /// The value as a number: floats and integers as they are, booleans and strings `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as an integer (an integral float counts).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParamValue::Int(i) => Some(*i),
            ParamValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// The value as a TOML value, for patching an experiment table.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            ParamValue::Bool(b) => toml::Value::Boolean(*b),
            ParamValue::Int(i) => toml::Value::Integer(*i),
            ParamValue::Float(f) => toml::Value::Float(*f),
            ParamValue::Str(s) => toml::Value::String(s.clone()),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => write!(f, "{s}"),
        }
    }
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}
impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}
impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}
impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Str(v.to_string())
    }
}

/// The parameters of one trial, keyed by dotted experiment key, in key order. A conditional
/// parameter whose condition does not hold is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Params(pub BTreeMap<String, ParamValue>);

impl Params {
    /// No parameter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of parameter `name` (a dotted key), if present.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.get(name)
    }

    /// Sets parameter `name`, replacing any previous value.
    pub fn insert(&mut self, name: impl Into<String>, value: ParamValue) {
        self.0.insert(name.into(), value);
    }

    /// `(name, value)` pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ParamValue)> {
        self.0.iter()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A float parameter (an integer one converts).
    pub fn float(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(ParamValue::as_f64)
    }

    /// The parameters as a nested TOML table: `"optim.lr" = 0.01` becomes `[optim] lr = 0.01`.
    pub fn to_toml_table(&self) -> Result<toml::Table, TuneError> {
        let mut table = toml::Table::new();
        self.apply_to(&mut table)?;
        Ok(table)
    }

    /// Writes every parameter into `table` at its dotted key, creating missing sub-tables and
    /// replacing existing values. A key whose prefix is a non-table value is an error.
    pub fn apply_to(&self, table: &mut toml::Table) -> Result<(), TuneError> {
        for (key, value) in &self.0 {
            let parts: Vec<&str> = key.split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(invalid(key, "empty segment in dotted key"));
            }
            let mut cur = &mut *table;
            for part in &parts[..parts.len() - 1] {
                let entry = cur
                    .entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                cur = match entry {
                    toml::Value::Table(t) => t,
                    _ => {
                        return Err(invalid(
                            key,
                            format!("`{part}` holds a value, not a table, in the experiment"),
                        ));
                    }
                };
            }
            cur.insert(parts[parts.len() - 1].to_string(), value.to_toml());
        }
        Ok(())
    }
}

impl FromIterator<(String, ParamValue)> for Params {
    fn from_iter<T: IntoIterator<Item = (String, ParamValue)>>(iter: T) -> Self {
        Params(iter.into_iter().collect())
    }
}
