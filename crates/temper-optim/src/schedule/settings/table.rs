//! A `[schedule]` table read once, then taken apart key by key.
//!
//! Which keys a table may hold depends on its `kind`, which may come after them, so the table is
//! first read whole into a [`Table`] (any self-describing format: TOML, JSON). Its shared keys
//! are then taken out one by one, and the rest is handed to the kind's struct through
//! [`Located`], a deserializer that refuses a key the struct does not declare with a message
//! naming the key and the kind (serde's `flatten` cannot be combined with
//! `deny_unknown_fields`, which is why this is hand-written). Errors are [`PathError`]s that
//! collect the key path (`phases[1].gamma`) on their way out, so a nested mistake is reported
//! where it is.

use std::fmt;

use serde::de::value::StringDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, Error as _, IntoDeserializer, MapAccess,
    SeqAccess, Visitor,
};
use serde::{Deserialize, forward_to_deserialize_any};

use crate::schedule::kinds::ScheduleKind;

/// A deserialization error with the key path it happened at, relative to the table it was
/// read from (empty: the table itself).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathError {
    /// Segments from the outermost: `phases`, `[1]`, `gamma`.
    path: Vec<String>,
    message: String,
}

impl PathError {
    /// An error about `key` of the table being read.
    pub(crate) fn at(key: &str, message: impl Into<String>) -> Self {
        Self {
            path: vec![key.to_string()],
            message: message.into(),
        }
    }

    /// The same error seen from the table holding `key`.
    pub(crate) fn within(mut self, key: &str) -> Self {
        self.path.insert(0, key.to_string());
        self
    }

    /// The same error seen from the array holding it at `index`.
    pub(crate) fn within_index(mut self, index: usize) -> Self {
        self.path.insert(0, format!("[{index}]"));
        self
    }

    /// `root.path: message`, the message of a table read as `root`.
    pub(crate) fn describe(&self, root: &str) -> String {
        format!("{}: {}", self.path_from(root), self.message)
    }

    /// The key path appended to `root` (`schedule` + `phases`, `[1]`, `gamma`).
    fn path_from(&self, root: &str) -> String {
        let mut at = root.to_string();
        for segment in &self.path {
            if !(at.is_empty() || segment.starts_with('[')) {
                at.push('.');
            }
            at.push_str(segment);
        }
        at
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            f.write_str(&self.describe(""))
        }
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
}

/// The refusal of a key that `kind` does not read, listing those it does.
pub(crate) fn not_a_parameter(key: &str, kind: ScheduleKind, parameters: &[&str]) -> PathError {
    let takes = if parameters.is_empty() {
        "none".to_string()
    } else {
        parameters
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    PathError::at(
        key,
        format!(
            "is not a parameter of kind = \"{}\" (it takes {takes})",
            kind.name()
        ),
    )
}

/// One value of a table, as the format gave it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// JSON's `null` (TOML has none): an absent optional value.
    Unit,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Value>),
    Map(Table),
}

/// A table's keys and values, in the order written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Table(Vec<(String, Value)>);

impl Table {
    /// Removes `key` and deserializes its value; `None` when absent.
    pub(crate) fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, PathError> {
        match self.take_value(key) {
            None => Ok(None),
            Some(value) => T::deserialize(Located::new(value))
                .map(Some)
                .map_err(|e| e.within(key)),
        }
    }

    /// Removes `key` and returns its raw value.
    pub(crate) fn take_value(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// The value of `key`, left in place.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Refuses the first key left, as one `kind` does not read.
    pub(crate) fn refuse_rest(
        &self,
        kind: ScheduleKind,
        parameters: &[&str],
    ) -> Result<(), PathError> {
        match self.0.first() {
            Some((key, _)) => Err(not_a_parameter(key, kind, parameters)),
            None => Ok(()),
        }
    }

    /// The rest of the table as `kind`'s parameter struct `T`; a key `T` does not declare is
    /// refused naming the kind.
    pub(crate) fn parameters<T: DeserializeOwned>(
        self,
        kind: ScheduleKind,
    ) -> Result<T, PathError> {
        T::deserialize(Located {
            value: Value::Map(self),
            parameters_of: Some(kind),
        })
    }
}

/// The tables of an array of tables (`[[phases]]`), each with its index for errors.
pub(crate) fn tables(value: Value) -> Result<Vec<Table>, PathError> {
    let Value::Seq(items) = value else {
        return Err(de::Error::custom("expected an array of tables"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Map(table) => Ok(table),
            _ => Err(PathError::custom("expected a table").within_index(i)),
        })
        .collect()
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Map(table) => Ok(table),
            _ => Err(D::Error::custom("expected a table")),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Unit)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Unit)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::UInt(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Value::Map(Table(entries)))
    }
}

/// A buffered value handed to a `Deserialize` impl. At a kind's table (`parameters_of`), a key
/// that the struct does not declare is refused naming the kind.
struct Located {
    value: Value,
    parameters_of: Option<ScheduleKind>,
}

impl Located {
    fn new(value: Value) -> Self {
        Self {
            value,
            parameters_of: None,
        }
    }
}

impl<'de> Deserializer<'de> for Located {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        match self.value {
            Value::Unit => visitor.visit_unit(),
            Value::Bool(v) => visitor.visit_bool(v),
            Value::Int(v) => visitor.visit_i64(v),
            Value::UInt(v) => visitor.visit_u64(v),
            Value::Float(v) => visitor.visit_f64(v),
            Value::Str(v) => visitor.visit_string(v),
            Value::Seq(items) => visitor.visit_seq(Items {
                items: items.into_iter().enumerate(),
            }),
            Value::Map(Table(entries)) => visitor.visit_map(Entries {
                entries: entries.into_iter(),
                current: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        match self.value {
            Value::Unit => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        match self.value {
            Value::Str(v) => {
                let access: StringDeserializer<PathError> = v.into_deserializer();
                access.deserialize_enum(name, variants, visitor)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        if let (Some(kind), Value::Map(Table(entries))) = (self.parameters_of, &self.value)
            && let Some((key, _)) = entries.iter().find(|(k, _)| !fields.contains(&k.as_str()))
        {
            return Err(not_a_parameter(key, kind, fields));
        }
        self.deserialize_any(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// The entries of a buffered table; a value's error gains its key.
struct Entries {
    entries: std::vec::IntoIter<(String, Value)>,
    current: Option<(String, Value)>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = PathError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PathError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let deserializer: StringDeserializer<PathError> = key.clone().into_deserializer();
        let parsed = seed.deserialize(deserializer)?;
        self.current = Some((key, value));
        Ok(Some(parsed))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, PathError> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| PathError::custom("a value was asked for before its key"))?;
        seed.deserialize(Located::new(value))
            .map_err(|e| e.within(&key))
    }
}

/// The items of a buffered array; an item's error gains its index.
struct Items {
    items: std::iter::Enumerate<std::vec::IntoIter<Value>>,
}

impl<'de> SeqAccess<'de> for Items {
    type Error = PathError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, PathError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, value)) => seed
                .deserialize(Located::new(value))
                .map(Some)
                .map_err(|e| e.within_index(i)),
        }
    }
}
