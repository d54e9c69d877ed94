//! Typed values and records (one request's named values).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One value of a feature.
///
/// In JSON a value is written plainly: `null`, `true`, `3`, `2.5`, `"Biscoe"`.
/// Timestamps are [`Value::Int`] microseconds since the Unix epoch or
/// RFC 3339 strings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Value {
    /// Missing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (categorical, text or an RFC 3339 timestamp).
    Str(String),
}

/// A borrowed [`Value`]: what kernels read from a [`Record`] or a
/// [`Batch`](crate::Batch) row alike, so both paths run the same code.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ValueRef<'a> {
    /// Missing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'a str),
}

impl Value {
    /// Borrows the value.
    #[must_use]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Self::Null => ValueRef::Null,
            Self::Bool(b) => ValueRef::Bool(*b),
            Self::Int(i) => ValueRef::Int(*i),
            Self::Float(x) => ValueRef::Float(*x),
            Self::Str(s) => ValueRef::Str(s),
        }
    }

    /// Whether the value is [`Value::Null`].
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl ValueRef<'_> {
    /// Copies into an owned [`Value`].
    #[must_use]
    pub fn to_owned(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Int(i) => Value::Int(i),
            Self::Float(x) => Value::Float(x),
            Self::Str(s) => Value::Str(s.to_owned()),
        }
    }

    /// Whether the value is null.
    #[must_use]
    pub fn is_null(self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value as a float when it is a number (integers convert).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Self::Float(x) => Some(x),
            Self::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// A short description of the value's kind, for messages.
    #[must_use]
    pub fn kind(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a float",
            Self::Str(_) => "a string",
        }
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Str(s) => {
                // Long strings are shortened in messages.
                if s.chars().count() > 40 {
                    let short: String = s.chars().take(40).collect();
                    write!(f, "{short:?}...")
                } else {
                    write!(f, "{s:?}")
                }
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident via $conv:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Self {
                Value::$v($conv(x))
            }
        }
    )*};
}

value_from! {
    bool => Bool via std::convert::identity,
    i32 => Int via i64::from,
    i64 => Int via std::convert::identity,
    u32 => Int via i64::from,
    f32 => Float via f64::from,
    f64 => Float via std::convert::identity,
    String => Str via std::convert::identity,
    &str => Str via str::to_owned,
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(x: Option<T>) -> Self {
        x.map_or(Self::Null, Into::into)
    }
}

/// One request's named values, in insertion order.
///
/// In JSON a record is an object: `{"island": "Biscoe", "bill_length_mm": 39.1}`.
///
/// ```
/// use kiln_core::{Record, Value};
/// let r = Record::new().with("island", "Biscoe").with("bill_length_mm", 39.1).with("sex", None::<&str>);
/// assert_eq!(r.get("island"), Some(&Value::Str("Biscoe".into())));
/// assert_eq!(r.get("sex"), Some(&Value::Null));
/// assert_eq!(r.len(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    fields: Vec<(String, Value)>,
}

impl Record {
    /// An empty record.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty record with room for `n` fields.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self {
            fields: Vec::with_capacity(n),
        }
    }

    /// Sets a field (replacing an existing one of that name) and returns the record.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets a field, replacing an existing one of that name; returns the old value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.fields.push((name, value));
                None
            }
        }
    }

    /// Appends a field without checking for an existing one of that name
    /// (the caller guarantees names are distinct, as when converting a batch row).
    pub fn push_unchecked(&mut self, name: impl Into<String>, value: Value) {
        self.fields.push((name.into(), value));
    }

    /// The value of the field called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Removes a field; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.remove(i).1)
    }

    /// The field at position `i` (insertion order).
    #[must_use]
    pub fn field_at(&self, i: usize) -> Option<(&str, &Value)> {
        self.fields.get(i).map(|(n, v)| (n.as_str(), v))
    }

    /// The fields in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Mutable access to the values in insertion order.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Value)> {
        self.fields.iter_mut().map(|(n, v)| (n.as_str(), v))
    }

    /// The number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the record has no fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Removes every field, keeping the allocation.
    pub fn clear(&mut self) {
        self.fields.clear();
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Record {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut r = Self::new();
        for (k, v) in iter {
            r.insert(k, v);
        }
        r
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = Record;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of feature names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
                let mut r = Record::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if r.get(&k).is_some() {
                        return Err(serde::de::Error::custom(format!("field {k:?} appears twice")));
                    }
                    r.fields.push((k, v));
                }
                Ok(r)
            }
        }
        d.deserialize_map(RecordVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_order_and_types() {
        let r = Record::new()
            .with("b", 1)
            .with("a", 2.5)
            .with("c", "x")
            .with("d", true)
            .with("e", Value::Null);
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert_eq!(json, r#"{"b":1,"a":2.5,"c":"x","d":true,"e":null}"#);
        let back: Record = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, r);
        assert!(serde_json::from_str::<Record>(r#"{"a":1,"a":2}"#).is_err());
    }

    #[test]
    fn insert_replaces() {
        let mut r = Record::new().with("a", 1);
        assert_eq!(r.insert("a", 2), Some(Value::Int(1)));
        assert_eq!(r.len(), 1);
        assert_eq!(r.remove("a"), Some(Value::Int(2)));
        assert!(r.is_empty());
    }
}
