//! Feature schemas: the contract every boundary checks data against.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::format::from_json_slice;
use crate::{Digest, Error, Result};

/// The format tag of schema documents.
pub const SCHEMA_FORMAT: &str = "kiln.schema/v1";

/// The type of a feature's values.
///
/// `String` and `Timestamp` are passthrough types: they are carried and
/// checked but not range- or category-constrained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DType {
    /// 32-bit float.
    Float32,
    /// 64-bit float.
    Float64,
    /// 64-bit signed integer.
    Int64,
    /// Boolean.
    Bool,
    /// A string from a (usually small) set of categories.
    Categorical,
    /// Free text (passthrough).
    String,
    /// A point in time, microseconds since the Unix epoch, UTC (passthrough).
    /// CSV cells and record strings may be RFC 3339 (`2024-05-01T12:00:00Z`).
    Timestamp,
}

impl DType {
    /// Every dtype, in declaration order (handy for exhaustive tests and
    /// property-test strategies).
    ///
    /// ```
    /// use kiln_core::DType;
    /// assert!(DType::ALL.contains(&DType::Categorical));
    /// assert_eq!(DType::ALL.len(), 7);
    /// ```
    pub const ALL: [DType; 7] = [
        Self::Float32,
        Self::Float64,
        Self::Int64,
        Self::Bool,
        Self::Categorical,
        Self::String,
        Self::Timestamp,
    ];

    /// The name used in JSON and messages (`"float32"`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Float32 => "float32",
            Self::Float64 => "float64",
            Self::Int64 => "int64",
            Self::Bool => "bool",
            Self::Categorical => "categorical",
            Self::String => "string",
            Self::Timestamp => "timestamp",
        }
    }

    /// Whether values are numbers with an order (floats and integers).
    #[must_use]
    pub const fn is_numeric(self) -> bool {
        matches!(self, Self::Float32 | Self::Float64 | Self::Int64)
    }

    /// Whether values are floats.
    #[must_use]
    pub const fn is_float(self) -> bool {
        matches!(self, Self::Float32 | Self::Float64)
    }

    /// Whether values are held as strings.
    #[must_use]
    pub const fn is_string(self) -> bool {
        matches!(self, Self::Categorical | Self::String)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a column is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// A model input (the default).
    #[default]
    Feature,
    /// The training target.
    Label,
    /// A row identifier; never a model input.
    Id,
    /// A per-row sample weight.
    Weight,
    /// The event time of a row.
    Timestamp,
}

impl Role {
    /// The name used in JSON and messages.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Feature => "feature",
            Self::Label => "label",
            Self::Id => "id",
            Self::Weight => "weight",
            Self::Timestamp => "timestamp",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named, typed column of a [`Schema`].
///
/// Build with [`Feature::new`] and the `with_*` setters:
///
/// ```
/// use kiln_core::{DType, Feature, Role};
/// let f = Feature::new("body_mass_g", DType::Float64)
///     .with_range(Some(2500.0), Some(6500.0))
///     .with_nullable(true)
///     .with_description("body mass in grams");
/// assert_eq!(f.role, Role::Feature);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Feature {
    /// Unique name within the schema.
    pub name: String,
    /// Value type.
    pub dtype: DType,
    /// Whether nulls are allowed.
    #[serde(default)]
    pub nullable: bool,
    /// Smallest allowed value (numeric and timestamp types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed value (numeric and timestamp types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Allowed values of a categorical feature, in a stable order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// What the column is for.
    #[serde(default)]
    pub role: Role,
    /// Free-form documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Feature {
    /// A non-nullable, unconstrained model input.
    #[must_use]
    pub fn new(name: impl Into<String>, dtype: DType) -> Self {
        Self {
            name: name.into(),
            dtype,
            nullable: false,
            min: None,
            max: None,
            categories: None,
            role: Role::Feature,
            description: None,
        }
    }

    /// Sets whether nulls are allowed.
    #[must_use]
    pub fn with_nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }

    /// Sets the allowed range (either end may be open).
    #[must_use]
    pub fn with_range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// Sets the allowed categories.
    #[must_use]
    pub fn with_categories<I, S>(mut self, categories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.categories = Some(categories.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the role.
    #[must_use]
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidSchema(format!("feature {:?}: {msg}", self.name)));
        if self.name.is_empty() {
            return Err(Error::InvalidSchema("a feature has an empty name".to_owned()));
        }
        for (what, bound) in [("min", self.min), ("max", self.max)] {
            if let Some(b) = bound {
                if b.is_nan() {
                    return bad(format!("{what} is NaN"));
                }
                if !self.dtype.is_numeric() && self.dtype != DType::Timestamp {
                    return bad(format!("{what} is set but dtype {} has no order", self.dtype));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max)
            && lo > hi
        {
            return bad(format!("min {lo} is above max {hi}"));
        }
        if let Some(cats) = &self.categories {
            if self.dtype != DType::Categorical {
                return bad(format!("categories are set but dtype is {}", self.dtype));
            }
            let mut seen = std::collections::HashSet::with_capacity(cats.len());
            if let Some(dup) = cats.iter().find(|c| !seen.insert(c.as_str())) {
                return bad(format!("category {dup:?} is listed twice"));
            }
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct SchemaDoc<F> {
    format: String,
    features: F,
}

/// A named, ordered set of [`Feature`]s: the data contract of a model.
///
/// Schemas are immutable and cheap to clone (shared behind an [`Arc`]).
///
/// ```
/// use kiln_core::{DType, Feature, Role, Schema};
/// let schema = Schema::new(vec![
///     Feature::new("bill_length_mm", DType::Float64).with_nullable(true),
///     Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream", "Torgersen"]),
///     Feature::new("species", DType::Categorical).with_role(Role::Label),
/// ])?;
/// let json = schema.to_json();
/// let back = Schema::from_json(&json)?;
/// assert_eq!(back, schema);
/// assert_eq!(back.digest(), schema.digest());
/// # Ok::<(), kiln_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Schema {
    inner: Arc<Inner>,
}

struct Inner {
    features: Vec<Feature>,
    index: HashMap<String, usize>,
}

impl Schema {
    /// Builds a schema, checking that names are unique and non-empty, bounds
    /// are ordered and not NaN, and categories appear once and only on
    /// categorical features.
    pub fn new(features: Vec<Feature>) -> Result<Self> {
        let mut index = HashMap::with_capacity(features.len());
        for (i, f) in features.iter().enumerate() {
            f.check()?;
            if index.insert(f.name.clone(), i).is_some() {
                return Err(Error::InvalidSchema(format!("feature {:?} is declared twice", f.name)));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner { features, index }),
        })
    }

    /// The features, in declaration order.
    #[must_use]
    pub fn features(&self) -> &[Feature] {
        &self.inner.features
    }

    /// The number of features.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.features.len()
    }

    /// Whether the schema has no features.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.features.is_empty()
    }

    /// The feature called `name`.
    #[must_use]
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.index_of(name).map(|i| &self.inner.features[i])
    }

    /// The position of the feature called `name`.
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.inner.index.get(name).copied()
    }

    /// The features with the given role, in order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Feature> {
        self.inner.features.iter().filter(move |f| f.role == role)
    }

    /// The label feature, if the schema has exactly one.
    #[must_use]
    pub fn label(&self) -> Option<&Feature> {
        let mut labels = self.with_role(Role::Label);
        let first = labels.next();
        if labels.next().is_some() { None } else { first }
    }

    /// A schema of the named features only, in the given order.
    pub fn select<S: AsRef<str>>(&self, names: &[S]) -> Result<Self> {
        let features = names
            .iter()
            .map(|n| {
                self.feature(n.as_ref())
                    .cloned()
                    .ok_or_else(|| Error::UnknownFeature(n.as_ref().to_owned()))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(features)
    }

    /// A schema without the features of the given roles (e.g. the label, to
    /// describe serving requests).
    #[must_use]
    pub fn without_roles(&self, roles: &[Role]) -> Self {
        let features = self
            .features()
            .iter()
            .filter(|f| !roles.contains(&f.role))
            .cloned()
            .collect();
        Self::new(features).unwrap_or_else(|_| unreachable!("a subset of a valid schema is valid"))
    }

    /// Parses a `kiln.schema/v1` JSON document. Unknown fields are ignored;
    /// another format or major version is an [`Error::UnsupportedFormat`].
    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_json_bytes(json.as_bytes())
    }

    /// Parses a `kiln.schema/v1` JSON document from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let doc: SchemaDoc<Vec<Feature>> = from_json_slice(bytes, SCHEMA_FORMAT, "schema")?;
        Self::new(doc.features)
    }

    /// Reads a schema file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json_bytes(&bytes)
    }

    /// The schema as pretty-printed `kiln.schema/v1` JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        let doc = SchemaDoc {
            format: SCHEMA_FORMAT.to_owned(),
            features: self.features(),
        };
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| unreachable!("schemas always serialize"))
    }

    /// The canonical form the digest is computed over: compact JSON with
    /// object keys sorted, features sorted by name and categories sorted.
    ///
    /// The digest identifies the contract, so neither JSON key order nor the
    /// order of features or categories changes it; any change of a name,
    /// type, bound, category, role, nullability or description does.
    #[must_use]
    pub fn canonical_json(&self) -> String {
        let mut features = self.features().to_vec();
        features.sort_by(|a, b| a.name.cmp(&b.name));
        for f in &mut features {
            if let Some(c) = &mut f.categories {
                c.sort();
            }
        }
        let doc = SchemaDoc {
            format: SCHEMA_FORMAT.to_owned(),
            features,
        };
        // serde_json's `Value` keeps object keys in a BTreeMap (sorted), which
        // gives the canonical key order.
        let value = serde_json::to_value(&doc).unwrap_or_else(|_| unreachable!("schemas always serialize"));
        value.to_string()
    }

    /// The SHA-256 of [`canonical_json`](Self::canonical_json).
    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(self.canonical_json().as_bytes())
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.features == other.inner.features
    }
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("features", &self.inner.features)
            .finish()
    }
}

impl Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        SchemaDoc {
            format: SCHEMA_FORMAT.to_owned(),
            features: self.features(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let doc = SchemaDoc::<Vec<Feature>>::deserialize(d)?;
        crate::format::check_format(&doc.format, SCHEMA_FORMAT).map_err(serde::de::Error::custom)?;
        Self::new(doc.features).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Schema {
        Schema::new(vec![
            Feature::new("a", DType::Float64).with_range(Some(0.0), Some(1.0)),
            Feature::new("b", DType::Categorical).with_categories(["x", "y"]),
            Feature::new("y", DType::Bool).with_role(Role::Label),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rejects_invalid() {
        let dup = Schema::new(vec![Feature::new("a", DType::Int64), Feature::new("a", DType::Bool)]);
        assert!(dup.is_err_and(|e| e.to_string().contains("declared twice")));
        let rev = Schema::new(vec![Feature::new("a", DType::Int64).with_range(Some(2.0), Some(1.0))]);
        assert!(rev.is_err_and(|e| e.to_string().contains("above max")));
        let cats = Schema::new(vec![Feature::new("a", DType::Int64).with_categories(["1"])]);
        assert!(cats.is_err());
        let nan = Schema::new(vec![Feature::new("a", DType::Float32).with_range(Some(f64::NAN), None)]);
        assert!(nan.is_err());
    }

    #[test]
    fn unknown_fields_ok_future_major_rejected() {
        let s = sample();
        let mut v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap_or_default();
        v["extra"] = serde_json::json!(1);
        v["features"][0]["future_field"] = serde_json::json!("x");
        assert_eq!(Schema::from_json(&v.to_string()).ok(), Some(s));
        v["format"] = serde_json::json!("kiln.schema/v2");
        assert!(matches!(
            Schema::from_json(&v.to_string()),
            Err(Error::UnsupportedFormat { .. })
        ));
    }

    #[test]
    fn digest_ignores_order_but_not_content() {
        let s = sample();
        let mut rev = s.features().to_vec();
        rev.reverse();
        if let Some(c) = &mut rev[1].categories {
            c.reverse();
        }
        let r = Schema::new(rev).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.digest(), r.digest());
        let mut changed = s.features().to_vec();
        changed[0].max = Some(2.0);
        assert_ne!(Schema::new(changed).map(|c| c.digest()).ok(), Some(s.digest()));
    }
}
