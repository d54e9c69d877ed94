//! Unfitted transform specifications: what to learn and how to apply it.
//!
//! A [`Transform`] says *what* to do ("median-impute, then standard-scale");
//! fitting it on data gives a [`FittedTransform`](crate::FittedTransform)
//! that holds *what was learned* (the median, the mean and scale).

use kiln_core::{DType, Role, Schema, Value};
use serde::{Deserialize, Serialize};

use crate::category::Category;

/// How an [`Imputer`] chooses the value that replaces a missing one.
///
/// As sklearn's `SimpleImputer(strategy=...)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImputeStrategy {
    /// The mean of the non-missing values (numeric features).
    Mean,
    /// The median of the non-missing values (numeric features): the middle
    /// value, or the mean of the two middle values for an even count.
    Median,
    /// The most frequent non-missing value; ties go to the smallest value
    /// (numeric order for numbers, code-point order for strings), as sklearn.
    MostFrequent,
    /// A fixed value (its type must fit the feature: a string for a
    /// categorical feature, a number for a numeric one, a boolean for a bool).
    Constant(Value),
}

/// Replaces missing values (null or NaN), optionally adding a 0/1
/// missing-indicator output column.
///
/// sklearn: `SimpleImputer(strategy, add_indicator)`. Differences: the
/// indicator column is always present when asked for (sklearn's default
/// `features="missing-only"` drops it for features without missing values in
/// the training data, which would make the output width depend on the data);
/// it is placed after the step's other outputs and no later transform of the
/// step applies to it. A feature with no non-missing value is an error
/// (sklearn drops the column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Imputer {
    /// How the fill value is chosen.
    pub strategy: ImputeStrategy,
    /// Whether to add a `<feature>__missing` output column (1 when the value was missing).
    #[serde(default)]
    pub add_indicator: bool,
}

impl Imputer {
    /// An imputer without indicator.
    #[must_use]
    pub fn new(strategy: ImputeStrategy) -> Self {
        Self {
            strategy,
            add_indicator: false,
        }
    }

    /// Adds (or not) the missing-indicator column.
    #[must_use]
    pub fn with_indicator(mut self, add_indicator: bool) -> Self {
        self.add_indicator = add_indicator;
        self
    }
}

/// Standardizes: `(x - mean) / std`.
///
/// sklearn: `StandardScaler(with_mean, with_std)`: population standard
/// deviation (ddof = 0); a feature whose variance is indistinguishable from
/// zero (sklearn's `_is_constant_feature` bound `var <= n*eps*var + (n*mean*eps)^2`)
/// gets scale 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StandardScaler {
    /// Subtract the mean (default true).
    pub with_mean: bool,
    /// Divide by the standard deviation (default true).
    pub with_std: bool,
}

impl Default for StandardScaler {
    fn default() -> Self {
        Self {
            with_mean: true,
            with_std: true,
        }
    }
}

impl StandardScaler {
    /// Centering and scaling.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to subtract the mean.
    #[must_use]
    pub fn with_mean(mut self, yes: bool) -> Self {
        self.with_mean = yes;
        self
    }

    /// Whether to divide by the standard deviation.
    #[must_use]
    pub fn with_std(mut self, yes: bool) -> Self {
        self.with_std = yes;
        self
    }
}

/// Scales to a range: `x * scale + min` with
/// `scale = (hi - lo) / (data_max - data_min)`, `min = lo - data_min * scale`.
///
/// sklearn: `MinMaxScaler(feature_range, clip)`, same formula and operation
/// order; a range below `10 * f64::EPSILON` counts as zero and gets scale
/// `hi - lo` (sklearn's `_handle_zeros_in_scale`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MinMaxScaler {
    /// The target range `(lo, hi)`, `lo < hi` (default `(0, 1)`).
    pub feature_range: (f64, f64),
    /// Clip the result to `feature_range` (default false).
    pub clip: bool,
}

impl Default for MinMaxScaler {
    fn default() -> Self {
        Self {
            feature_range: (0.0, 1.0),
            clip: false,
        }
    }
}

impl MinMaxScaler {
    /// Scaling to `[0, 1]`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the target range.
    #[must_use]
    pub fn with_range(mut self, lo: f64, hi: f64) -> Self {
        self.feature_range = (lo, hi);
        self
    }

    /// Clips results to the target range.
    #[must_use]
    pub fn with_clip(mut self, clip: bool) -> Self {
        self.clip = clip;
        self
    }
}

/// Scales robustly to outliers: `(x - median) / (q_hi - q_lo)`.
///
/// sklearn: `RobustScaler(with_centering, with_scaling, quantile_range)`.
/// The median is the middle value (mean of the two middle ones for an even
/// count, as `numpy.nanmedian`); the quantiles are `numpy.nanpercentile`'s
/// default linear interpolation; an IQR below `10 * f64::EPSILON` gets scale 1.
/// `unit_variance` is not implemented.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RobustScaler {
    /// Subtract the median (default true).
    pub with_centering: bool,
    /// Divide by the inter-quantile range (default true).
    pub with_scaling: bool,
    /// Percentiles of the range, `0 <= lo <= hi <= 100` (default `(25, 75)`).
    pub quantile_range: (f64, f64),
}

impl Default for RobustScaler {
    fn default() -> Self {
        Self {
            with_centering: true,
            with_scaling: true,
            quantile_range: (25.0, 75.0),
        }
    }
}

impl RobustScaler {
    /// Median centering and IQR scaling.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to subtract the median.
    #[must_use]
    pub fn with_centering(mut self, yes: bool) -> Self {
        self.with_centering = yes;
        self
    }

    /// Whether to divide by the inter-quantile range.
    #[must_use]
    pub fn with_scaling(mut self, yes: bool) -> Self {
        self.with_scaling = yes;
        self
    }

    /// Sets the percentiles of the range.
    #[must_use]
    pub fn with_quantile_range(mut self, lo: f64, hi: f64) -> Self {
        self.quantile_range = (lo, hi);
        self
    }
}

/// Limits values to `[min, max]` (either end may be open): `min(max(x, lo), hi)`,
/// as `numpy.clip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Clip {
    /// Lower bound.
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper bound.
    #[serde(default)]
    pub max: Option<f64>,
}

/// What a categorical encoder does with a category it did not see in fitting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HandleUnknown {
    /// Refuse the input with [`Error::UnknownCategory`](crate::Error::UnknownCategory)
    /// (sklearn's default `handle_unknown="error"`).
    #[default]
    Error,
    /// Encode as all zeros (`handle_unknown="ignore"`).
    Ignore,
    /// Send to the `<feature>=__other__` column, which then always exists
    /// (like `handle_unknown="infrequent_if_exist"` with the bucket forced to exist).
    Other,
}

/// The threshold under which a category is "infrequent" and goes to the
/// `<feature>=__other__` column (sklearn's `min_frequency`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MinFrequency {
    /// Categories seen fewer than this many times are infrequent (sklearn: an int).
    Count(u64),
    /// Categories seen fewer than `fraction * rows` times are infrequent (sklearn: a float).
    Fraction(f64),
}

/// One-hot encoding: one 0/1 column per category, `<feature>=<category>`.
///
/// sklearn: `OneHotEncoder(handle_unknown, min_frequency, max_categories, sparse_output=False)`.
/// Categories are sorted as sklearn sorts them (numbers numerically,
/// strings by code point, `false < true`). A missing value is a category of
/// its own (`<feature>=__null__`, sorted last) when the training data had
/// missing values, as sklearn treats `None`/`NaN`; otherwise a missing value
/// is unknown. Infrequent categories (by `min_frequency`, then
/// `max_categories`, exactly as sklearn picks them) share the last column,
/// `<feature>=__other__`. `drop` is not implemented.
///
/// With explicit `categories` (sklearn's `categories=[...]`), those are the
/// columns, in the order given, for each input of the step; under the
/// `error` policy a value outside them in the training data is an error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OneHotEncoder {
    /// Policy for categories not seen in fitting (default: error).
    pub handle_unknown: HandleUnknown,
    /// Rarer categories go to the other bucket.
    pub min_frequency: Option<MinFrequency>,
    /// At most this many output columns per feature, the other bucket included.
    pub max_categories: Option<usize>,
    /// The categories, in output order, instead of the sorted ones seen in fitting.
    pub categories: Option<Vec<Category>>,
}

impl OneHotEncoder {
    /// Unknown categories are an error; no infrequent grouping.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the unknown-category policy.
    #[must_use]
    pub fn with_handle_unknown(mut self, policy: HandleUnknown) -> Self {
        self.handle_unknown = policy;
        self
    }

    /// Groups categories rarer than `min` into the other bucket.
    #[must_use]
    pub fn with_min_frequency(mut self, min: MinFrequency) -> Self {
        self.min_frequency = Some(min);
        self
    }

    /// Keeps at most `max - 1` frequent categories plus the other bucket.
    #[must_use]
    pub fn with_max_categories(mut self, max: usize) -> Self {
        self.max_categories = Some(max);
        self
    }

    /// Uses these categories, in this order, instead of the sorted ones seen in fitting.
    #[must_use]
    pub fn with_categories<I, C>(mut self, categories: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Category>,
    {
        self.categories = Some(categories.into_iter().map(Into::into).collect());
        self
    }
}

/// What an [`OrdinalEncoder`] does with an unseen category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrdinalUnknown {
    /// Refuse the input (sklearn's default).
    #[default]
    Error,
    /// Encode as this value, e.g. `-1` (`handle_unknown="use_encoded_value"`).
    Value(f64),
}

/// Ordinal encoding: sorted categories (or the categories given, in their
/// order) become `0, 1, ..., k-1` in one column `<feature>__ordinal`.
///
/// sklearn: `OrdinalEncoder(categories, handle_unknown, unknown_value,
/// encoded_missing_value)`. Difference: a missing value is encoded as
/// `missing_value` when set; when not set it stays missing (so it must be
/// imputed by a later transform or it is an error), where sklearn would
/// output NaN. Explicit categories apply to each input of the step; under the
/// `error` policy a training value outside them is an error, and so is a
/// missing training value when `missing_value` is not set (sklearn refuses
/// it whatever `encoded_missing_value` is).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OrdinalEncoder {
    /// Policy for unseen categories.
    pub handle_unknown: OrdinalUnknown,
    /// The code of a missing value.
    pub missing_value: Option<f64>,
    /// The categories, in code order, instead of the sorted ones seen in fitting.
    pub categories: Option<Vec<Category>>,
}

impl OrdinalEncoder {
    /// Unknown categories are an error; missing values stay missing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the unknown-category policy.
    #[must_use]
    pub fn with_handle_unknown(mut self, policy: OrdinalUnknown) -> Self {
        self.handle_unknown = policy;
        self
    }

    /// Encodes missing values as `code`.
    #[must_use]
    pub fn with_missing_value(mut self, code: f64) -> Self {
        self.missing_value = Some(code);
        self
    }

    /// Uses these categories, coded `0, 1, ...` in this order, instead of
    /// the sorted ones seen in fitting.
    ///
    /// ```
    /// use kiln_transform::{OrdinalEncoder, Transform};
    /// let cut = OrdinalEncoder::new().with_categories(["Fair", "Good", "Very Good", "Premium", "Ideal"]);
    /// let t: Transform = cut.into();
    /// ```
    #[must_use]
    pub fn with_categories<I, C>(mut self, categories: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Category>,
    {
        self.categories = Some(categories.into_iter().map(Into::into).collect());
        self
    }
}

/// The hashing trick over all of a step's inputs: `n_features` columns
/// `<inputs joined by +>__hash=<k>`.
///
/// Exactly sklearn's `FeatureHasher(n_features, input_type="dict",
/// alternate_sign)` applied to `{feature: value}` per row: a string value
/// `v` of feature `f` hashes the UTF-8 token `"f=v"` with value 1; a numeric
/// or boolean value `x` hashes the token `"f"` with value `x`. The hash is
/// 32-bit MurmurHash3 (x86 variant) with seed 0 read as a signed integer `h`;
/// the column is `|h| mod n_features` (with sklearn's special case for
/// `h = -2^31`), the sign `+1` if `h >= 0` else `-1` when `alternate_sign`;
/// colliding tokens add up. Zero values and missing values add nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureHasher {
    /// Number of output columns (at least 1).
    pub n_features: usize,
    /// Alternate the sign by the hash's sign (default true, as sklearn).
    #[serde(default = "yes")]
    pub alternate_sign: bool,
}

fn yes() -> bool {
    true
}

impl FeatureHasher {
    /// A hasher into `n_features` columns with alternating signs.
    #[must_use]
    pub fn new(n_features: usize) -> Self {
        Self {
            n_features,
            alternate_sign: true,
        }
    }

    /// Whether the sign alternates with the hash.
    #[must_use]
    pub fn with_alternate_sign(mut self, yes: bool) -> Self {
        self.alternate_sign = yes;
        self
    }
}

/// How a binning transform writes the bin of a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BinEncode {
    /// One column `<feature>__bin` holding the bin index (sklearn `encode="ordinal"`).
    Ordinal,
    /// One 0/1 column per bin, `<feature>__bin=<k>` (sklearn `encode="onehot-dense"`).
    #[default]
    OneHot,
}

/// Fixed-edge binning: the bin of `x` is the number of boundaries `<= x`
/// (`numpy.digitize(x, boundaries)`), so `k` boundaries make `k + 1` bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bucketize {
    /// Finite, non-decreasing inner edges.
    pub boundaries: Vec<f64>,
    /// Output encoding (default ordinal).
    #[serde(default = "ordinal")]
    pub encode: BinEncode,
}

fn ordinal() -> BinEncode {
    BinEncode::Ordinal
}

impl Bucketize {
    /// Bins by `boundaries`, ordinal output.
    #[must_use]
    pub fn new(boundaries: impl Into<Vec<f64>>) -> Self {
        Self {
            boundaries: boundaries.into(),
            encode: BinEncode::Ordinal,
        }
    }

    /// Sets the output encoding.
    #[must_use]
    pub fn with_encode(mut self, encode: BinEncode) -> Self {
        self.encode = encode;
        self
    }
}

/// How quantiles are interpolated, as `numpy.percentile(method=...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QuantileMethod {
    /// numpy's default `"linear"`: virtual index `(n - 1) q`, linear
    /// interpolation (sklearn < 1.9's `KBinsDiscretizer` default).
    Linear,
    /// `"inverted_cdf"`: the smallest value whose empirical CDF reaches `q`.
    InvertedCdf,
    /// `"averaged_inverted_cdf"`: as inverted CDF, averaging the two
    /// neighbours where the CDF equals `q` exactly (sklearn >= 1.9's default).
    #[default]
    AveragedInvertedCdf,
}

/// Quantile binning: `n_bins` bins holding about the same number of values.
///
/// sklearn: `KBinsDiscretizer(n_bins, strategy="quantile", quantile_method,
/// encode="ordinal" | "onehot-dense")`. The edges are
/// `numpy.percentile(values, linspace(0, 100, n_bins + 1), method)`; edges
/// closer than `1e-8` to the previous one are removed (fewer bins, as
/// sklearn); the bin of `x` is the number of inner edges `<= x`. The default
/// method is `averaged_inverted_cdf`, sklearn 1.9's default. Differences:
/// sklearn subsamples 200 000 rows when fitting on more; Kiln uses every
/// value. A constant feature gets one bin with edges `[v, v]` (sklearn
/// stores `[-inf, inf]`, which JSON cannot hold; outputs are the same).
/// Missing values are skipped in fitting and stay missing when applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuantileBins {
    /// Number of bins (at least 2).
    pub n_bins: usize,
    /// Output encoding (default one-hot).
    #[serde(default)]
    pub encode: BinEncode,
    /// Quantile interpolation (default `averaged_inverted_cdf`).
    #[serde(default)]
    pub method: QuantileMethod,
}

impl QuantileBins {
    /// `n_bins` quantile bins, one-hot output, sklearn 1.9's default method.
    #[must_use]
    pub fn new(n_bins: usize) -> Self {
        Self {
            n_bins,
            encode: BinEncode::OneHot,
            method: QuantileMethod::default(),
        }
    }

    /// Sets the output encoding.
    #[must_use]
    pub fn with_encode(mut self, encode: BinEncode) -> Self {
        self.encode = encode;
        self
    }

    /// Sets the quantile interpolation method.
    #[must_use]
    pub fn with_method(mut self, method: QuantileMethod) -> Self {
        self.method = method;
        self
    }
}

/// Products of exactly two numeric inputs `a`, `b`: `a*b` only
/// (`interaction_only`), or `a^2, a*b, b^2`; optionally preceded by `a, b`.
///
/// sklearn: `PolynomialFeatures(degree=2, include_bias=False, interaction_only)`
/// with the linear terms optional (`include_linear`, default false, since
/// other steps usually output them). Squares are computed as `a*a`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Polynomial {
    /// Only `a*b`.
    pub interaction_only: bool,
    /// Also output `a` and `b` first.
    pub include_linear: bool,
}

impl Polynomial {
    /// Degree-2 terms `a^2, a*b, b^2`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the interaction `a*b`.
    #[must_use]
    pub fn interaction_only(mut self, yes: bool) -> Self {
        self.interaction_only = yes;
        self
    }

    /// Also output the linear terms `a, b`.
    #[must_use]
    pub fn with_linear(mut self, yes: bool) -> Self {
        self.include_linear = yes;
        self
    }
}

/// One transform of a [`Step`]'s chain, before fitting.
///
/// In JSON a transform is an object tagged by `kind`:
/// `{"kind": "standard_scaler", "with_mean": true, "with_std": true}`.
///
/// Element-wise transforms (imputers, scalers, `log1p`, `clip`,
/// `passthrough`) apply to each column of the step separately, each with its
/// own fitted statistics. Expanding transforms (one-hot, ordinal, hashing,
/// binning, polynomial) turn the columns into new ones; a step holds at most
/// one of them, and element-wise transforms after it apply to each of its
/// output columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Transform {
    /// Replace missing values.
    Impute(Imputer),
    /// `(x - mean) / std`.
    StandardScaler(StandardScaler),
    /// Scale to a range.
    MinMaxScaler(MinMaxScaler),
    /// `(x - median) / IQR`.
    RobustScaler(RobustScaler),
    /// `ln(1 + x)` (`numpy.log1p`); values below -1 are an error.
    Log1p,
    /// Limit to `[min, max]`.
    Clip(Clip),
    /// The value as a number unchanged (booleans become 0/1, integers floats).
    Passthrough,
    /// Output nothing for these features (they are not read).
    Drop,
    /// One column per category.
    OneHot(OneHotEncoder),
    /// Category index.
    Ordinal(OrdinalEncoder),
    /// The hashing trick.
    Hash(FeatureHasher),
    /// Fixed-edge bins.
    Bucketize(Bucketize),
    /// Quantile bins.
    QuantileBins(QuantileBins),
    /// Products of two features.
    Polynomial(Polynomial),
}

impl Transform {
    /// `StandardScaler()`.
    #[must_use]
    pub fn standard_scaler() -> Self {
        Self::StandardScaler(StandardScaler::new())
    }

    /// `MinMaxScaler()` to `[0, 1]`.
    #[must_use]
    pub fn min_max_scaler() -> Self {
        Self::MinMaxScaler(MinMaxScaler::new())
    }

    /// `RobustScaler()` (median, IQR 25-75).
    #[must_use]
    pub fn robust_scaler() -> Self {
        Self::RobustScaler(RobustScaler::new())
    }

    /// An imputer without indicator.
    #[must_use]
    pub fn impute(strategy: ImputeStrategy) -> Self {
        Self::Impute(Imputer::new(strategy))
    }

    /// An imputer with a `<feature>__missing` indicator column.
    #[must_use]
    pub fn impute_with_indicator(strategy: ImputeStrategy) -> Self {
        Self::Impute(Imputer::new(strategy).with_indicator(true))
    }

    /// One-hot encoding; unknown categories are an error.
    #[must_use]
    pub fn one_hot() -> Self {
        Self::OneHot(OneHotEncoder::new())
    }

    /// Ordinal encoding; unknown categories are an error.
    #[must_use]
    pub fn ordinal() -> Self {
        Self::Ordinal(OrdinalEncoder::new())
    }

    /// Feature hashing into `n_features` columns with alternating signs.
    #[must_use]
    pub fn hash(n_features: usize) -> Self {
        Self::Hash(FeatureHasher::new(n_features))
    }

    /// Fixed-edge bins, ordinal output.
    #[must_use]
    pub fn bucketize(boundaries: impl Into<Vec<f64>>) -> Self {
        Self::Bucketize(Bucketize::new(boundaries))
    }

    /// `n_bins` quantile bins, one-hot output.
    #[must_use]
    pub fn quantile_bins(n_bins: usize) -> Self {
        Self::QuantileBins(QuantileBins::new(n_bins))
    }

    /// `ln(1 + x)`.
    #[must_use]
    pub fn log1p() -> Self {
        Self::Log1p
    }

    /// Limits to `[min, max]`.
    #[must_use]
    pub fn clip(min: Option<f64>, max: Option<f64>) -> Self {
        Self::Clip(Clip { min, max })
    }

    /// `a*b` of a two-feature step.
    #[must_use]
    pub fn interaction() -> Self {
        Self::Polynomial(Polynomial::new().interaction_only(true))
    }

    /// `a^2, a*b, b^2` of a two-feature step.
    #[must_use]
    pub fn polynomial() -> Self {
        Self::Polynomial(Polynomial::new())
    }

    /// The value unchanged.
    #[must_use]
    pub fn passthrough() -> Self {
        Self::Passthrough
    }

    /// Outputs nothing.
    #[must_use]
    pub fn drop() -> Self {
        Self::Drop
    }

    /// The `kind` tag, for messages.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Impute(_) => "impute",
            Self::StandardScaler(_) => "standard_scaler",
            Self::MinMaxScaler(_) => "min_max_scaler",
            Self::RobustScaler(_) => "robust_scaler",
            Self::Log1p => "log1p",
            Self::Clip(_) => "clip",
            Self::Passthrough => "passthrough",
            Self::Drop => "drop",
            Self::OneHot(_) => "one_hot",
            Self::Ordinal(_) => "ordinal",
            Self::Hash(_) => "hash",
            Self::Bucketize(_) => "bucketize",
            Self::QuantileBins(_) => "quantile_bins",
            Self::Polynomial(_) => "polynomial",
        }
    }

    /// Whether fitting learns something from the data.
    #[must_use]
    pub fn is_stateful(&self) -> bool {
        match self {
            Self::Impute(i) => !matches!(i.strategy, ImputeStrategy::Constant(_)),
            Self::StandardScaler(_)
            | Self::MinMaxScaler(_)
            | Self::RobustScaler(_)
            | Self::OneHot(_)
            | Self::Ordinal(_)
            | Self::QuantileBins(_) => true,
            Self::Log1p | Self::Clip(_) | Self::Passthrough | Self::Drop | Self::Hash(_) => false,
            Self::Bucketize(_) | Self::Polynomial(_) => false,
        }
    }

    /// Whether the transform maps each column to one column on its own.
    #[must_use]
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Self::Impute(_)
                | Self::StandardScaler(_)
                | Self::MinMaxScaler(_)
                | Self::RobustScaler(_)
                | Self::Log1p
                | Self::Clip(_)
                | Self::Passthrough
        )
    }

    /// Checks the parameters on their own (ranges, counts, finiteness).
    pub(crate) fn check_params(&self) -> Result<(), String> {
        let finite = |x: f64, what: &str| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(format!("{} {what} must be finite, got {x}", self.name()))
            }
        };
        match self {
            Self::Impute(i) => match &i.strategy {
                ImputeStrategy::Constant(Value::Null) => Err("impute: the constant must not be null".to_owned()),
                ImputeStrategy::Constant(Value::Float(x)) => finite(*x, "constant"),
                _ => Ok(()),
            },
            Self::MinMaxScaler(m) => {
                let (lo, hi) = m.feature_range;
                finite(lo, "feature_range")?;
                finite(hi, "feature_range")?;
                if lo < hi {
                    Ok(())
                } else {
                    Err(format!("min_max_scaler: feature_range ({lo}, {hi}) must have lo < hi"))
                }
            }
            Self::RobustScaler(r) => {
                let (lo, hi) = r.quantile_range;
                if (0.0..=100.0).contains(&lo) && (0.0..=100.0).contains(&hi) && lo <= hi {
                    Ok(())
                } else {
                    Err(format!(
                        "robust_scaler: quantile_range ({lo}, {hi}) must satisfy 0 <= lo <= hi <= 100"
                    ))
                }
            }
            Self::Clip(c) => {
                for b in [c.min, c.max].into_iter().flatten() {
                    if b.is_nan() {
                        return Err("clip: bounds must not be NaN".to_owned());
                    }
                }
                match (c.min, c.max) {
                    (Some(lo), Some(hi)) if lo > hi => Err(format!("clip: min {lo} is above max {hi}")),
                    _ => Ok(()),
                }
            }
            Self::OneHot(o) => {
                check_categories(o.categories.as_deref(), "one_hot")?;
                match o.min_frequency {
                    Some(MinFrequency::Count(0)) => {
                        return Err("one_hot: min_frequency count must be at least 1".to_owned());
                    }
                    Some(MinFrequency::Fraction(f)) if !(f > 0.0 && f < 1.0) => {
                        return Err(format!("one_hot: min_frequency fraction {f} must be in (0, 1)"));
                    }
                    _ => {}
                }
                match o.max_categories {
                    Some(0) => Err("one_hot: max_categories must be at least 1".to_owned()),
                    _ => Ok(()),
                }
            }
            Self::Ordinal(o) => {
                check_categories(o.categories.as_deref(), "ordinal")?;
                if let OrdinalUnknown::Value(v) = o.handle_unknown {
                    finite(v, "unknown value")?;
                }
                if let Some(v) = o.missing_value {
                    finite(v, "missing value")?;
                }
                Ok(())
            }
            Self::Hash(h) => {
                if h.n_features == 0 || h.n_features > i32::MAX as usize {
                    Err(format!("hash: n_features {} must be in 1..=2^31-1", h.n_features))
                } else {
                    Ok(())
                }
            }
            Self::Bucketize(b) => {
                if b.boundaries.is_empty() {
                    return Err("bucketize: needs at least one boundary".to_owned());
                }
                for &x in &b.boundaries {
                    finite(x, "boundary")?;
                }
                if b.boundaries.windows(2).any(|w| w[0] > w[1]) {
                    return Err("bucketize: boundaries must be non-decreasing".to_owned());
                }
                Ok(())
            }
            Self::QuantileBins(q) => {
                if q.n_bins < 2 {
                    Err(format!("quantile_bins: n_bins {} must be at least 2", q.n_bins))
                } else {
                    Ok(())
                }
            }
            Self::StandardScaler(_) | Self::Log1p | Self::Passthrough | Self::Drop | Self::Polynomial(_) => Ok(()),
        }
    }
}

/// Explicit categories: at least one, distinct, not null.
fn check_categories(cats: Option<&[Category]>, what: &str) -> Result<(), String> {
    let Some(cats) = cats else { return Ok(()) };
    if cats.is_empty() {
        return Err(format!("{what}: the explicit category list is empty"));
    }
    if cats.contains(&Category::Null) {
        return Err(format!("{what}: null cannot be an explicit category"));
    }
    let mut sorted = cats.to_vec();
    sorted.sort();
    match sorted.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(format!("{what}: category {} is listed twice", w[0])),
        None => Ok(()),
    }
}

macro_rules! into_transform {
    ($($t:ident => $v:ident),* $(,)?) => {$(
        impl From<$t> for Transform {
            fn from(x: $t) -> Self {
                Self::$v(x)
            }
        }
    )*};
}

into_transform! {
    Imputer => Impute,
    StandardScaler => StandardScaler,
    MinMaxScaler => MinMaxScaler,
    RobustScaler => RobustScaler,
    Clip => Clip,
    OneHotEncoder => OneHot,
    OrdinalEncoder => Ordinal,
    FeatureHasher => Hash,
    Bucketize => Bucketize,
    QuantileBins => QuantileBins,
    Polynomial => Polynomial,
}

/// Input feature(s) and the chain of transforms applied to them in order.
///
/// ```
/// use kiln_transform::{ImputeStrategy, Step, Transform};
/// let step = Step::new(["bill_length_mm"])
///     .then(Transform::impute(ImputeStrategy::Median))
///     .then(Transform::standard_scaler());
/// assert_eq!(step.transforms().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    inputs: Vec<String>,
    #[serde(default)]
    transforms: Vec<Transform>,
}

impl Step {
    /// A step reading `inputs`, with no transform yet (a step without
    /// transforms passes its numeric inputs through).
    #[must_use]
    pub fn new<I, S>(inputs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            inputs: inputs.into_iter().map(Into::into).collect(),
            transforms: Vec::new(),
        }
    }

    /// Appends a transform to the chain.
    #[must_use]
    pub fn then(mut self, transform: impl Into<Transform>) -> Self {
        self.transforms.push(transform.into());
        self
    }

    /// The input features.
    #[must_use]
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The chain.
    #[must_use]
    pub fn transforms(&self) -> &[Transform] {
        &self.transforms
    }

    /// Whether the step outputs nothing (a `drop` step).
    #[must_use]
    pub fn is_drop(&self) -> bool {
        self.transforms.iter().any(|t| matches!(t, Transform::Drop))
    }
}

/// A column transformer: named features in, a dense numeric feature matrix
/// out, one [`Step`] after the other (outputs in step order).
///
/// See the [crate documentation](crate) for the output naming scheme and an
/// example.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    steps: Vec<Step>,
}

impl Pipeline {
    /// An empty pipeline.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a step.
    #[must_use]
    pub fn with_step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// The steps.
    #[must_use]
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// A sensible default for a schema, feature by feature in schema order:
    ///
    /// | feature | step | outputs |
    /// |---|---|---|
    /// | `float32`, `float64`, `int64` | median impute, standard scale | `x__scaled` |
    /// | `categorical` | most-frequent impute, one-hot ignoring unknown categories | `x=<category>`... |
    /// | `bool` | most-frequent impute, as 0/1 | `x` |
    ///
    /// Features whose role is not [`Role::Feature`] (label, id, weight,
    /// timestamp) and `string` and `timestamp` features are skipped.
    #[must_use]
    pub fn auto(schema: &Schema) -> Self {
        let mut p = Self::new();
        for f in schema.features() {
            if f.role != Role::Feature {
                continue;
            }
            let step = Step::new([f.name.as_str()]);
            let step = match f.dtype {
                DType::Float32 | DType::Float64 | DType::Int64 => step
                    .then(Transform::impute(ImputeStrategy::Median))
                    .then(Transform::standard_scaler()),
                DType::Categorical => step
                    .then(Transform::impute(ImputeStrategy::MostFrequent))
                    .then(OneHotEncoder::new().with_handle_unknown(HandleUnknown::Ignore)),
                DType::Bool => step.then(Transform::impute(ImputeStrategy::MostFrequent)),
                _ => continue,
            };
            p = p.with_step(step);
        }
        p
    }
}
