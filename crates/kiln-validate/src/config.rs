//! Policies and the validator's configuration.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a violation of a feature's rules does.
///
/// | policy | a violation... | values changed |
/// |---|---|---|
/// | `Reject` | makes the record invalid (`Err`) / marks the batch row rejected | none |
/// | `Flag` | is reported; the record or row is kept | none |
/// | `Coerce` | is first fixed if it can be (see below); what cannot be fixed rejects, as `Reject` | fixable values |
///
/// Coercions (each counted in [`FeatureReport::coerced`](crate::FeatureReport::coerced)):
///
/// - integer -> float for float features; integral float (`3.0`) -> integer
///   for `int64` and `timestamp` features;
/// - a string holding a number (`" 3.5 "`) -> that number for numeric features;
/// - `"true"`/`"false"` (also `yes/no`, `t/f`, `y/n`, `1/0`, any case, as
///   [`kiln_core::batch::parse_bool`] reads them) -> a boolean;
/// - surrounding white space is trimmed from `categorical` and `string`
///   values, and a categorical value matching a declared category apart from
///   case (`"biscoe"`) takes the declared spelling (`"Biscoe"`), unless the
///   match is ambiguous because two categories differ only by case;
/// - an RFC 3339 string (or a string holding an integer) -> microseconds for
///   `timestamp` features.
///
/// Out-of-range values are **not** clipped and nulls are not filled: both
/// would hide a problem the model cannot recover from, so under `Coerce` they
/// reject. NaN and infinities are never fixed either.
///
/// Whatever the policy, an integer is a valid value of a float feature and an
/// RFC 3339 string a valid value of a `timestamp` feature (JSON clients
/// write both); only `Coerce` rewrites them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Policy {
    /// A violation rejects the record or row.
    Reject,
    /// A violation is reported, the record or row kept.
    Flag,
    /// Fixable values are fixed; the rest rejects.
    Coerce,
}

impl Policy {
    /// Whether an unfixed violation under this policy rejects.
    #[must_use]
    pub const fn rejects(self) -> bool {
        matches!(self, Self::Reject | Self::Coerce)
    }

    /// The name used in JSON and messages.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Flag => "flag",
            Self::Coerce => "coerce",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with fields the schema does not declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Unexpected {
    /// An unexpected field rejects the record or row.
    Reject,
    /// An unexpected field is reported; the record or row is kept.
    Flag,
    /// Unexpected fields are neither checked nor counted.
    Ignore,
}

/// How a [`Validator`](crate::Validator) treats violations: a default
/// [`Policy`], per-feature overrides, the [`Unexpected`] policy and how many
/// offending rows a report keeps per feature.
///
/// ```
/// use kiln_validate::{Policy, Unexpected, ValidatorConfig};
/// let config = ValidatorConfig::serving()
///     .with_policy("island", Policy::Coerce)
///     .with_unexpected(Unexpected::Flag)
///     .with_max_offending_rows(5);
/// assert_eq!(config.policy_for("island"), Policy::Coerce);
/// assert_eq!(config.policy_for("sex"), Policy::Reject);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidatorConfig {
    /// The policy of features without an override.
    pub default_policy: Policy,
    /// Per-feature policies, by feature name.
    pub overrides: BTreeMap<String, Policy>,
    /// What to do with undeclared fields.
    pub unexpected: Unexpected,
    /// How many offending rows a report keeps per feature (the smallest row numbers).
    pub max_offending_rows: usize,
}

/// The number of offending rows a report keeps per feature unless configured.
pub const DEFAULT_MAX_OFFENDING_ROWS: usize = 10;

impl ValidatorConfig {
    /// For serving: every violation rejects, unexpected fields reject.
    #[must_use]
    pub fn serving() -> Self {
        Self {
            default_policy: Policy::Reject,
            overrides: BTreeMap::new(),
            unexpected: Unexpected::Reject,
            max_offending_rows: DEFAULT_MAX_OFFENDING_ROWS,
        }
    }

    /// For training and batch scoring: every violation is flagged,
    /// unexpected fields are ignored.
    #[must_use]
    pub fn training() -> Self {
        Self {
            default_policy: Policy::Flag,
            unexpected: Unexpected::Ignore,
            ..Self::serving()
        }
    }

    /// Sets the policy of features without an override.
    #[must_use]
    pub fn with_default_policy(mut self, policy: Policy) -> Self {
        self.default_policy = policy;
        self
    }

    /// Sets the policy of one feature. [`Validator::new`](crate::Validator::new)
    /// fails when the schema has no such feature.
    #[must_use]
    pub fn with_policy(mut self, feature: impl Into<String>, policy: Policy) -> Self {
        self.overrides.insert(feature.into(), policy);
        self
    }

    /// Sets what happens to undeclared fields.
    #[must_use]
    pub fn with_unexpected(mut self, unexpected: Unexpected) -> Self {
        self.unexpected = unexpected;
        self
    }

    /// Sets how many offending rows a report keeps per feature.
    #[must_use]
    pub fn with_max_offending_rows(mut self, n: usize) -> Self {
        self.max_offending_rows = n;
        self
    }

    /// The policy of the feature called `feature`.
    #[must_use]
    pub fn policy_for(&self, feature: &str) -> Policy {
        self.overrides.get(feature).copied().unwrap_or(self.default_policy)
    }
}

impl Default for ValidatorConfig {
    /// [`ValidatorConfig::serving`]: strict unless asked otherwise.
    fn default() -> Self {
        Self::serving()
    }
}
