//! Violations: which rule a value broke, where, and how to say it.

use std::fmt;

use kiln_core::{DType, Value};
use serde::{Deserialize, Serialize};

use crate::severity::Severity;

/// The kinds of violation a [`Validator`](crate::Validator) detects.
///
/// At most one kind applies to a value: a null is not also of the wrong
/// type, a NaN is not also out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ViolationKind {
    /// A non-nullable feature is absent from the record (or its column from the batch).
    Missing,
    /// The record (or batch) has a field the schema does not declare.
    Unexpected,
    /// A null value for a feature that is not nullable.
    Null,
    /// A value of the wrong type (a string for an `int64` feature, ...).
    WrongType,
    /// A number (or timestamp) below the feature's `min`.
    BelowMin,
    /// A number (or timestamp) above the feature's `max`.
    AboveMax,
    /// A string that is not one of the feature's declared `categories`.
    UnknownCategory,
    /// A NaN or infinite float.
    NonFinite,
}

impl ViolationKind {
    /// Every kind, in report order.
    pub const ALL: [Self; 8] = [
        Self::Missing,
        Self::Unexpected,
        Self::Null,
        Self::WrongType,
        Self::BelowMin,
        Self::AboveMax,
        Self::UnknownCategory,
        Self::NonFinite,
    ];

    /// A short name for tables and messages (`"above max"`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Unexpected => "unexpected",
            Self::Null => "null",
            Self::WrongType => "wrong type",
            Self::BelowMin => "below min",
            Self::AboveMax => "above max",
            Self::UnknownCategory => "unknown category",
            Self::NonFinite => "non-finite",
        }
    }

    /// How urgent a violation of this kind is for monitoring.
    ///
    /// | kind | severity | why |
    /// |---|---|---|
    /// | missing, unexpected, wrong type | [`Severity::P0`] | schema mismatch: the producer no longer sends what the model was built for |
    /// | null (not nullable), unknown category, non-finite | [`Severity::P1`] | the model receives a value it cannot use meaningfully |
    /// | below min, above max | [`Severity::P2`] | the model extrapolates outside the range it was built for |
    ///
    /// ```
    /// use kiln_validate::{Severity, ViolationKind};
    /// assert_eq!(ViolationKind::WrongType.severity(), Severity::P0);
    /// assert_eq!(ViolationKind::UnknownCategory.severity(), Severity::P1);
    /// assert_eq!(ViolationKind::AboveMax.severity(), Severity::P2);
    /// ```
    #[must_use]
    pub const fn severity(self) -> Severity {
        match self {
            Self::Missing | Self::Unexpected | Self::WrongType => Severity::P0,
            Self::Null | Self::UnknownCategory | Self::NonFinite => Severity::P1,
            Self::BelowMin | Self::AboveMax => Severity::P2,
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a value broke, with its parameters (the bound, the expected type).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// The feature is required (not nullable) but absent.
    Required,
    /// Only declared features are allowed.
    Declared,
    /// The feature is not nullable.
    NotNullable,
    /// Values must have this type.
    Type {
        /// The feature's declared type.
        expected: DType,
    },
    /// Values must be at least this.
    Min(f64),
    /// Values must be at most this.
    Max(f64),
    /// Values must be one of the declared categories.
    Categories,
    /// Floats must be finite.
    Finite,
}

impl Rule {
    /// The kind of violation breaking this rule is.
    #[must_use]
    pub const fn kind(&self) -> ViolationKind {
        match self {
            Self::Required => ViolationKind::Missing,
            Self::Declared => ViolationKind::Unexpected,
            Self::NotNullable => ViolationKind::Null,
            Self::Type { .. } => ViolationKind::WrongType,
            Self::Min(_) => ViolationKind::BelowMin,
            Self::Max(_) => ViolationKind::AboveMax,
            Self::Categories => ViolationKind::UnknownCategory,
            Self::Finite => ViolationKind::NonFinite,
        }
    }
}

/// Strings longer than this many characters are cut in [`Violation::value`].
pub const MAX_VALUE_CHARS: usize = 256;

/// One broken rule: which feature, which row, which value, which rule.
///
/// ```
/// use kiln_core::{DType, Feature, Record, Schema};
/// use kiln_validate::{Validator, ViolationKind};
///
/// let schema = Schema::new(vec![Feature::new("age", DType::Int64).with_range(Some(0.0), Some(130.0))])?;
/// let outcome = Validator::for_serving(schema).check_record(&Record::new().with("age", 212), Some(17));
/// let v = &outcome.violations()[0];
/// assert_eq!(v.kind(), ViolationKind::AboveMax);
/// assert_eq!(v.to_string(), r#"feature "age": value 212 above max 130 (row 17)"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Violation {
    /// The feature (for [`Rule::Declared`], the unexpected field's name).
    pub feature: String,
    /// The row, when the caller gave one.
    pub row: Option<u64>,
    /// The value the rule was checked against (after coercion, when the
    /// feature's policy is coerce); `None` when the feature is absent.
    /// Strings longer than [`MAX_VALUE_CHARS`] characters are cut, so that
    /// hostile input cannot inflate error messages.
    pub value: Option<Value>,
    /// The rule broken.
    pub rule: Rule,
    /// Whether the violation rejects the record or row (policy reject or
    /// coerce) rather than only flagging it.
    pub rejecting: bool,
}

impl Violation {
    /// The kind of violation.
    #[must_use]
    pub fn kind(&self) -> ViolationKind {
        self.rule.kind()
    }

    pub(crate) fn new(feature: &str, row: Option<u64>, value: Option<Value>, rule: Rule, rejecting: bool) -> Self {
        let value = value.map(|v| match v {
            Value::Str(s) if s.len() > MAX_VALUE_CHARS => Value::Str(cut(&s, MAX_VALUE_CHARS)),
            v => v,
        });
        Self {
            feature: cut(feature, MAX_VALUE_CHARS),
            row,
            value,
            rule,
            rejecting,
        }
    }
}

/// `s`, cut to its first `max` characters.
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => s[..end].to_owned(),
        None => s.to_owned(),
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "feature {:?}: ", self.feature)?;
        let value = self.value.as_ref().map_or(kiln_core::ValueRef::Null, Value::as_ref);
        match &self.rule {
            Rule::Required => f.write_str("required feature is missing")?,
            Rule::Declared => f.write_str("unexpected feature, not in the schema")?,
            Rule::NotNullable => f.write_str("null, but the feature is not nullable")?,
            Rule::Type { expected } => write!(f, "wrong type: expected {expected}, got {} {value}", value.kind())?,
            Rule::Min(min) => write!(f, "value {value} below min {min}")?,
            Rule::Max(max) => write!(f, "value {value} above max {max}")?,
            Rule::Categories => write!(f, "unknown category {value}")?,
            Rule::Finite => write!(f, "value {value} is not finite")?,
        }
        if let Some(row) = self.row {
            write!(f, " (row {row})")?;
        }
        Ok(())
    }
}

/// The violations of one record, in the order they were found (the
/// record's fields in order, then absent features in schema order).
///
/// Displayed as the violations joined by `"; "`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// The violations.
    #[must_use]
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// The number of violations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violations, by value.
    #[must_use]
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    pub(crate) fn push(&mut self, v: Violation) {
        self.0.push(v);
    }
}

impl From<Vec<Violation>> for Violations {
    fn from(v: Vec<Violation>) -> Self {
        Self(v)
    }
}

impl std::ops::Deref for Violations {
    type Target = [Violation];

    fn deref(&self) -> &[Violation] {
        &self.0
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            v.fmt(f)?;
        }
        Ok(())
    }
}
