//! The error type of `kiln-transform`.

/// Everything that can go wrong when building, fitting, loading or applying
/// a pipeline.
///
/// Every message names the culprit: the feature, the output column, and the
/// row (position in the batch) when the problem is in one value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from `kiln-core` (JSON parsing, format tags, schemas, batches).
    #[error(transparent)]
    Core(#[from] kiln_core::Error),
    /// The pipeline is not valid for its input: a transform that cannot take
    /// the feature's type, bad parameters, duplicate output names, or a
    /// fitted document whose parts do not fit together.
    #[error("invalid pipeline: {0}")]
    InvalidPipeline(String),
    /// A feature the pipeline reads is absent from the record or batch.
    #[error("feature {feature:?} is missing from the input{}", row_suffix(*row))]
    MissingFeature {
        /// The feature.
        feature: String,
        /// The row, for batches.
        row: Option<usize>,
    },
    /// A value or column has a type the pipeline cannot read for this feature.
    #[error("feature {feature:?}{}: expected {expected}, got {got}", row_suffix(*row))]
    WrongType {
        /// The feature.
        feature: String,
        /// The row, when the problem is one value.
        row: Option<usize>,
        /// The type the pipeline was fitted on.
        expected: String,
        /// What was found.
        got: String,
    },
    /// A category not seen during fitting, under the `error` policy.
    #[error("feature {feature:?}{}: unknown category {value} (not seen during fitting)", row_suffix(*row))]
    UnknownCategory {
        /// The feature.
        feature: String,
        /// The row, for batches.
        row: Option<usize>,
        /// The category, as text.
        value: String,
    },
    /// A missing value (null or NaN) reached an output column: no imputer
    /// fills it and no transform on the way defines what a missing value means.
    #[error("feature {feature:?}{}: missing value reaches output {output:?}; add an imputer to this step", row_suffix(*row))]
    MissingValue {
        /// The step's input feature(s).
        feature: String,
        /// The output column.
        output: String,
        /// The row, for batches.
        row: Option<usize>,
    },
    /// An input value is infinite, or a transform computed an infinite or
    /// NaN value from it (for example `log1p` of a number below -1).
    #[error("feature {feature:?}{}: value {value} is not finite", row_suffix(*row))]
    NonFinite {
        /// The feature (or output column) where the value appeared.
        feature: String,
        /// The row, for batches.
        row: Option<usize>,
        /// The offending value.
        value: f64,
    },
    /// A fitting step found no rows at all.
    #[error("cannot fit a pipeline on no rows")]
    NoRows,
    /// A transform that learns from data saw no usable (non-missing) value
    /// of a feature.
    #[error("cannot fit {transform} on feature {feature:?}: it has no non-missing values")]
    NoValues {
        /// The feature (or intermediate column).
        feature: String,
        /// The transform.
        transform: &'static str,
    },
    /// The output buffer handed to a `*_into` method has the wrong length.
    #[error("output buffer holds {got} values, expected {expected}")]
    OutputLength {
        /// The length needed.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// Two partial fits of different pipelines or schemas cannot be merged.
    #[error("cannot merge partial fits: {0}")]
    Merge(String),
    /// An internal invariant did not hold; please report this as a bug.
    #[error("internal error in kiln-transform: {0}")]
    Internal(&'static str),
}

fn row_suffix(row: Option<usize>) -> String {
    row.map(|r| format!(" (row {r})")).unwrap_or_default()
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
