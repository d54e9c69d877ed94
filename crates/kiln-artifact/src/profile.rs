//! The baseline profile (`profile.json`, `kiln.profile/v1`): what the
//! training data and the model's predictions on it looked like, for drift
//! monitoring.
//!
//! A [`Profile`] holds, per feature of the training batch, row and null
//! counts and either a [`NumericSummary`] (moments, min/max, reference
//! decile edges and the counts per bin) or [`CategoryCounts`]; the
//! kiln-validate [`ValidationReport`] of the batch (the baseline that
//! [`ValidationReport::alerts`] compares serving reports with); and a
//! [`PredictionProfile`] of the model's outputs on the batch.
//!
//! Every count is mergeable (merge = add, with the reference edges fixed),
//! as the monitoring design asks. The monitoring crate (issue "kiln-monitor")
//! will extend this format with a quantile sketch and windowed accumulators
//! as minor revisions (`kiln.profile/v1.1`, ...): readers ignore fields they
//! do not know.
//!
//! ```
//! use kiln_artifact::profile::Profile;
//! use kiln_core::{Batch, DType, Feature, Record, Schema};
//!
//! let schema = Schema::new(vec![
//!     Feature::new("x", DType::Float64).with_nullable(true),
//!     Feature::new("c", DType::Categorical).with_categories(["a", "b"]),
//! ])?;
//! let rows: Vec<Record> = (0..20)
//!     .map(|i| Record::new().with("x", if i == 3 { None } else { Some(f64::from(i)) }).with("c", if i % 4 == 0 { "a" } else { "b" }))
//!     .collect();
//! let profile = Profile::from_batch(&Batch::from_records(schema, &rows)?);
//! let x = profile.feature("x").unwrap();
//! assert_eq!((x.rows, x.nulls), (20, 1));
//! let numeric = x.numeric.as_ref().unwrap();
//! assert_eq!((numeric.min, numeric.max), (0.0, 19.0));
//! assert_eq!(numeric.bins.iter().sum::<u64>(), 19);
//! assert_eq!(profile.feature("c").unwrap().categories.as_ref().unwrap().counts["a"], 5);
//! let back = Profile::from_json(profile.to_json().as_bytes())?;
//! assert_eq!(back, profile);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};

use kiln_core::format::from_json_slice;
use kiln_core::{Batch, Column, DType, Role, ValueRef};
use kiln_train::Predictions;
use kiln_validate::{ValidationReport, Validator};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The format tag of `profile.json`.
pub const PROFILE_FORMAT: &str = "kiln.profile/v1";

/// Reference bins per numeric feature (deciles), besides the two
/// out-of-range bins.
pub const DEFAULT_QUANTILE_BINS: usize = 10;

/// At most this many categories are counted by name per feature (the most
/// frequent; ties to the smallest name); the rest are counted together in
/// [`CategoryCounts::other`].
pub const MAX_PROFILE_CATEGORIES: usize = 256;

/// Moments, range and reference bins of a numeric column (finite values only).
///
/// `edges` are the `n + 1` reference quantiles `0, 1/n, ..., 1` computed as
/// `numpy.quantile`'s default (linear) method does, repeated edges kept;
/// `bins` has `n + 2` counts: below `edges[0]`, the `n` inner bins, above
/// `edges[n]` (see [`bin_of`](Self::bin_of)). For the reference data itself
/// the two outer bins are empty; windows of serving data binned on the same
/// edges use them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NumericSummary {
    /// Finite values counted.
    pub count: u64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean (Welford's `M2`; population
    /// variance = `m2 / count`). Saturates at `f64::MAX`.
    pub m2: f64,
    /// Reference quantile edges.
    pub edges: Vec<f64>,
    /// Counts per bin (`edges.len() + 1` of them).
    pub bins: Vec<u64>,
}

impl NumericSummary {
    /// The summary of `values` (non-finite ones are skipped) with `n_bins`
    /// reference bins; `None` when no value is finite or `n_bins` is 0.
    #[must_use]
    pub fn of(values: &[f64], n_bins: usize) -> Option<Self> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() || n_bins == 0 {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let (mut mean, mut m2, mut n) = (0.0f64, 0.0f64, 0.0f64);
        for &x in &sorted {
            n += 1.0;
            let delta = x - mean;
            mean += delta / n;
            m2 += delta * (x - mean);
        }
        let edges: Vec<f64> = (0..=n_bins)
            .map(|j| linear_quantile(&sorted, j as f64 / n_bins as f64))
            .collect();
        let mut summary = Self {
            count: sorted.len() as u64,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            mean: saturate(mean),
            m2: saturate(m2),
            bins: vec![0; edges.len() + 1],
            edges,
        };
        for &x in &sorted {
            let b = summary.bin_of(x);
            summary.bins[b] += 1;
        }
        Some(summary)
    }

    /// The bin of `x`: 0 below `edges[0]`, `edges.len()` above the last
    /// edge, otherwise 1 + the number of inner edges (all but the first and
    /// last) that are `<= x` (as `numpy.digitize` on the inner edges). NaN
    /// goes to the last bin.
    #[must_use]
    pub fn bin_of(&self, x: f64) -> usize {
        let last = self.edges.len().saturating_sub(1);
        match (self.edges.first(), self.edges.last()) {
            (Some(&lo), _) if x < lo => 0,
            (_, Some(&hi)) if x <= hi => 1 + self.edges.get(1..last).unwrap_or(&[]).partition_point(|&e| e <= x),
            _ => last + 1,
        }
    }

    /// Checks the parts fit together: at least two edges, in order, and one
    /// more bin than edges.
    fn check(&self) -> std::result::Result<(), String> {
        if self.edges.len() < 2 || self.bins.len() != self.edges.len() + 1 {
            return Err(format!("{} edges and {} bins", self.edges.len(), self.bins.len()));
        }
        if !self.edges.windows(2).all(|w| w[0] <= w[1]) {
            return Err("edges are not in ascending order".to_owned());
        }
        Ok(())
    }

    /// Population variance (`m2 / count`).
    #[must_use]
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.m2 / self.count as f64
        }
    }

    /// Population standard deviation.
    #[must_use]
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }
}

/// `numpy.quantile(sorted, q)` with the default linear method.
fn linear_quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor();
    let i = lo as usize;
    match sorted.get(i + 1) {
        Some(&next) => {
            let a = sorted[i];
            a + (h - lo) * (next - a)
        }
        None => sorted[sorted.len() - 1],
    }
}

fn saturate(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(-f64::MAX, f64::MAX) }
}

/// Counts per category (at most [`MAX_PROFILE_CATEGORIES`] by name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CategoryCounts {
    /// Count per category name.
    pub counts: BTreeMap<String, u64>,
    /// Values of categories not counted by name.
    pub other: u64,
}

impl CategoryCounts {
    /// Counts `values`, keeping the [`MAX_PROFILE_CATEGORIES`] most frequent by name.
    pub fn of<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut all: HashMap<&str, u64> = HashMap::new();
        for v in values {
            *all.entry(v).or_insert(0) += 1;
        }
        let mut ranked: Vec<(&str, u64)> = all.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let other = ranked.iter().skip(MAX_PROFILE_CATEGORIES).map(|(_, n)| n).sum();
        let counts = ranked
            .into_iter()
            .take(MAX_PROFILE_CATEGORIES)
            .map(|(k, n)| (k.to_owned(), n))
            .collect();
        Self { counts, other }
    }

    /// All values counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.values().sum::<u64>() + self.other
    }
}

/// What one feature of the training batch looked like.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureProfile {
    /// The feature.
    pub name: String,
    /// Its type.
    pub dtype: DType,
    /// Its role (the label is profiled too: its distribution is the prior).
    pub role: Role,
    /// Rows seen.
    pub rows: u64,
    /// Null values.
    pub nulls: u64,
    /// NaN or infinite values of float features (not in `numeric`).
    #[serde(default)]
    pub non_finite: u64,
    /// Numeric features (`float32`, `float64`, `int64`, `timestamp` in
    /// microseconds): the summary of the finite values, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericSummary>,
    /// `categorical`, `string` and `bool` (`"true"`/`"false"`) features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<CategoryCounts>,
}

impl FeatureProfile {
    fn of(name: &str, dtype: DType, role: Role, column: &Column) -> Self {
        let rows = column.len();
        let nulls = column.null_count() as u64;
        let mut profile = Self {
            name: name.to_owned(),
            dtype,
            role,
            rows: rows as u64,
            nulls,
            non_finite: 0,
            numeric: None,
            categories: None,
        };
        let present = (0..rows).map(|r| column.value(r)).filter(|v| !v.is_null());
        match dtype {
            DType::Categorical | DType::String | DType::Bool => {
                let texts = present.filter_map(|v| match v {
                    ValueRef::Str(s) => Some(s),
                    ValueRef::Bool(b) => Some(if b { "true" } else { "false" }),
                    _ => None,
                });
                profile.categories = Some(CategoryCounts::of(texts));
            }
            _ => {
                let values: Vec<f64> = present.filter_map(ValueRef::as_f64).collect();
                profile.non_finite = values.iter().filter(|v| !v.is_finite()).count() as u64;
                profile.numeric = NumericSummary::of(&values, DEFAULT_QUANTILE_BINS);
            }
        }
        profile
    }
}

/// The model's outputs on the training batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PredictionProfile {
    /// A classifier: how often each class was predicted, and the
    /// distribution of the top probability (confidence).
    Classification {
        /// Predicted labels (class names, or indices when unnamed).
        labels: CategoryCounts,
        /// The top-class probability of each row.
        confidence: NumericSummary,
    },
    /// A regressor: the distribution of predicted values.
    Regression {
        /// The predicted values.
        values: NumericSummary,
    },
}

impl PredictionProfile {
    /// The profile of `predictions`, naming classes with `class_names`
    /// (indices when empty); `None` for no rows.
    #[must_use]
    pub fn of(predictions: &Predictions, class_names: &[String]) -> Option<Self> {
        if let Some(values) = predictions.values() {
            return NumericSummary::of(values, DEFAULT_QUANTILE_BINS).map(|values| Self::Regression { values });
        }
        let probs = predictions.probabilities()?;
        let k = predictions.task().n_classes()?;
        let confidence: Vec<f64> = probs
            .chunks(k)
            .map(|row| row.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect();
        let names: Vec<String> = predictions
            .classes()
            .into_iter()
            .map(|c| class_names.get(c).cloned().unwrap_or_else(|| c.to_string()))
            .collect();
        Some(Self::Classification {
            labels: CategoryCounts::of(names.iter().map(String::as_str)),
            confidence: NumericSummary::of(&confidence, DEFAULT_QUANTILE_BINS)?,
        })
    }
}

/// `profile.json` (`kiln.profile/v1`). See the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// Always [`PROFILE_FORMAT`] (or a minor revision of it).
    pub format: String,
    /// Rows profiled.
    pub rows: u64,
    /// One profile per feature of the batch's schema, in order.
    pub features: Vec<FeatureProfile>,
    /// The training-policy validation report of the batch.
    pub validation: ValidationReport,
    /// The model's outputs on the batch, when profiled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<PredictionProfile>,
}

impl Profile {
    /// Profiles every feature of `batch` (its own schema) and validates it
    /// with [`Validator::for_training`].
    #[must_use]
    pub fn from_batch(batch: &Batch) -> Self {
        let _span = tracing::debug_span!("profile", rows = batch.num_rows()).entered();
        let schema = batch.schema();
        let features = schema
            .features()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| FeatureProfile::of(&f.name, f.dtype, f.role, c))
            .collect();
        Self {
            format: PROFILE_FORMAT.to_owned(),
            rows: batch.num_rows() as u64,
            features,
            validation: Validator::for_training(schema.clone()).validate_batch(batch).report,
            predictions: None,
        }
    }

    /// Adds the profile of the model's predictions on the same rows.
    #[must_use]
    pub fn with_predictions(mut self, predictions: &Predictions, class_names: &[String]) -> Self {
        self.predictions = PredictionProfile::of(predictions, class_names);
        self
    }

    /// The profile of the feature called `name`.
    #[must_use]
    pub fn feature(&self, name: &str) -> Option<&FeatureProfile> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Parses `profile.json`: another major version is an error, unknown
    /// fields are ignored.
    ///
    /// # Errors
    /// [`Error::Core`] for invalid JSON or an unsupported format tag;
    /// [`Error::InvalidBundle`] when a numeric summary's edges and bins do
    /// not fit together.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let profile: Self = from_json_slice(bytes, PROFILE_FORMAT, "profile")?;
        let numeric = profile
            .features
            .iter()
            .filter_map(|f| f.numeric.as_ref().map(|n| (f.name.as_str(), n)))
            .chain(profile.predictions.iter().map(|p| match p {
                PredictionProfile::Classification { confidence, .. } => ("<confidence>", confidence),
                PredictionProfile::Regression { values } => ("<predictions>", values),
            }));
        for (name, summary) in numeric {
            summary
                .check()
                .map_err(|reason| Error::InvalidBundle(format!("profile of {name:?}: {reason}")))?;
        }
        Ok(profile)
    }

    /// Pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Every float is finite (non-finite values are counted, not stored):
        // serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn deciles_match_numpy() {
        // numpy.quantile(np.arange(1, 11), np.linspace(0, 1, 11))
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = NumericSummary::of(&v, 10).unwrap_or_else(|| panic!("no summary"));
        let expected = [1.0, 1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1, 10.0];
        for (a, b) in s.edges.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(s.bins, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        assert!((s.mean - 5.5).abs() < 1e-12 && (s.variance() - 8.25).abs() < 1e-12);
        assert_eq!(s.bin_of(0.0), 0);
        assert_eq!(s.bin_of(10.0), 10);
        assert_eq!(s.bin_of(10.5), 11);
        assert_eq!(s.bin_of(f64::NAN), 11);
    }

    #[test]
    fn extreme_values_stay_finite() {
        let s = NumericSummary::of(&[f64::MAX, -f64::MAX, f64::NAN, f64::INFINITY], 4)
            .unwrap_or_else(|| panic!("no summary"));
        assert_eq!(s.count, 2);
        assert!(s.mean.is_finite() && s.m2.is_finite());
        assert!(NumericSummary::of(&[f64::NAN], 10).is_none());
    }

    #[test]
    fn categories_are_capped_deterministically() {
        let names: Vec<String> = (0..MAX_PROFILE_CATEGORIES + 10).map(|i| format!("c{i:04}")).collect();
        let mut values: Vec<&str> = names.iter().map(String::as_str).collect();
        values.push("c0260");
        let c = CategoryCounts::of(values);
        assert_eq!(c.counts.len(), MAX_PROFILE_CATEGORIES);
        assert_eq!(c.counts["c0260"], 2);
        assert_eq!(c.other, 10);
        assert_eq!(c.total(), MAX_PROFILE_CATEGORIES as u64 + 11);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn bins_count_every_value(values in proptest::collection::vec(-1e6f64..1e6, 1..200), n in 1usize..12) {
            let s = NumericSummary::of(&values, n).unwrap_or_else(|| panic!("no summary"));
            prop_assert_eq!(s.bins.iter().sum::<u64>(), values.len() as u64);
            prop_assert_eq!(s.bins[0] + s.bins[n + 1], 0);
            prop_assert!(s.edges.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
