//! Feature transforms fitted once on training data and applied by the very
//! same code to every serving request, so training-serving skew cannot happen.
//!
//! ```
//! use kiln_core::{CsvReader, InferOptions, Record, Schema};
//! use kiln_transform::{FittedPipeline, Pipeline};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/penguins/penguins.csv");
//! let schema = Schema::infer_csv(path, &InferOptions::default().with_label("species"))?;
//! let train = CsvReader::new(schema.clone()).read_path(path)?;
//!
//! // Numeric: median impute + standard scale; categorical: most-frequent impute + one-hot.
//! let fitted = Pipeline::auto(&schema).fit(&train)?;
//! assert_eq!(fitted.output_names()[..4], ["island=Biscoe", "island=Dream", "island=Torgersen", "bill_length_mm__scaled"]);
//!
//! // Training: a dense row-major f32 matrix.
//! let x = fitted.transform_batch(&train)?;
//! assert_eq!((x.rows, x.cols), (344, 10));
//!
//! // Serving: one record, from the JSON the training job saved; same kernel, same bits.
//! let served = FittedPipeline::from_json(&fitted.to_json())?;
//! let request = Record::new()
//!     .with("island", "Dream")
//!     .with("bill_length_mm", 46.5)
//!     .with("bill_depth_mm", None::<f64>) // missing: imputed with the training median
//!     .with("flipper_length_mm", 192)
//!     .with("body_mass_g", 3500)
//!     .with("sex", "female")
//!     .with("year", 2008);
//! let features: Vec<f32> = served.transform_record(&request)?;
//! assert_eq!(features[..3], [0.0, 1.0, 0.0]);
//! assert_eq!(served.transform_record(&train.record(7))?, x.row(7).unwrap());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `arrow` | no | `FittedPipeline::transform_arrow` (`_f64`, `_into`) for Arrow `RecordBatch`es, through `kiln_core::Batch::from_arrow` |
//!
//! # The parity guarantee
//!
//! Every transform has one kernel: a function of one value. The record path
//! ([`FittedPipeline::transform_record_into`]) reads each value as a
//! [`kiln_core::ValueRef`] and calls it. The batch path
//! ([`FittedPipeline::transform_batch_into`], parallel over chunks of rows
//! with rayon) calls the same functions over the typed column slices, a
//! tile of rows and one column at a time; whatever it does not specialize,
//! and any tile where something is off (a null where none is allowed, an
//! unknown category, a non-finite result), goes through the record path's
//! per-row code, which also names the error. The Arrow path converts to a
//! [`kiln_core::Batch`] without copying and takes the batch path. For the
//! same input all of them give bit-identical outputs, errors included
//! (property-tested over random schemas, data and pipelines, for `f32` and
//! `f64` outputs, on batches spanning many tiles and parallel chunks).
//! Reading is the same too: NaN is a missing value, `float32` features are
//! rounded to `f32` (what a [`kiln_core::Batch`] stores) before anything
//! else, integers are accepted for float features. Values are computed in
//! `f64` and converted once when written, so an `f32` output is the `f64`
//! output rounded to nearest ([`OutputFloat`]). A fitted pipeline is plain
//! data (JSON `kiln.pipeline/v1`, no code), and a reloaded one gives
//! bit-identical outputs (floats round-trip exactly).
//!
//! # Pipelines, steps and output names
//!
//! A [`Pipeline`] is a column transformer: a list of [`Step`]s, each reading
//! one or more input features and applying a chain of [`Transform`]s in
//! order. Outputs are the steps' outputs, in step order. Element-wise
//! transforms (imputers, scalers, `log1p`, `clip`, `passthrough`) apply to
//! each column of a step separately, with statistics of its own; a step has
//! at most one expanding transform (one-hot, ordinal, hashing, binning,
//! polynomial), after which element-wise transforms apply to each of its
//! output columns.
//!
//! Output names are stable and follow from the fitted chain:
//!
//! | transform | name of the output of column `x` |
//! |---|---|
//! | imputer, passthrough | `x` (unchanged) |
//! | standard, min-max, robust scaler | `x__scaled` |
//! | `log1p` | `x__log1p` |
//! | `clip` | `x__clipped` |
//! | imputer indicator | `x__missing` (after the step's other outputs) |
//! | one-hot | `x=<category>` per category; `x=__other__` (infrequent and unknown categories); `x=__null__` (the missing-value category) |
//! | ordinal | `x__ordinal` |
//! | binning | `x__bin` (ordinal) or `x__bin=0`, `x__bin=1`, ... (one-hot) |
//! | hashing of `x`, `y` | `x+y__hash=0` ... `x+y__hash=<n_features - 1>` |
//! | polynomial of `a`, `b` | `a`, `b` (with linear terms), `a^2`, `a*b`, `b^2` (or `a*b` alone) |
//!
//! Suffixes accumulate along a chain (`x__log1p__scaled`), and names of
//! transforms after an expander build on its names (`island=Biscoe__scaled`).
//! Category text is the category itself, integers in decimal, booleans
//! `true`/`false`. Two outputs with the same name are refused when fitting.
//!
//! # Transforms and their scikit-learn counterparts
//!
//! Fitted statistics follow scikit-learn 1.9 exactly, including numpy's
//! summation order where sklearn sees one contiguous column (so a
//! single-feature step's mean and variance are bit-identical to sklearn's).
//!
//! | Kiln | formula | sklearn | intentional differences |
//! |---|---|---|---|
//! | [`Imputer`] | missing -> mean, median (middle value or mean of the two middle ones), most frequent (ties to the smallest), or a constant | `SimpleImputer` | the indicator column always exists when asked for (sklearn's default adds it only for columns with missing training values) and no later transform applies to it; a column with no value is an error (sklearn drops it) |
//! | [`StandardScaler`] | `(x - mean) / std`, population std (ddof 0), std 1 for constant columns (`var <= n*eps*var + (n*mean*eps)^2`) | `StandardScaler` | - |
//! | [`MinMaxScaler`] | `x * scale + min`, `scale = (hi - lo) / (max - min)` (range below `10*eps` counts as 1), optional clip | `MinMaxScaler` | - |
//! | [`RobustScaler`] | `(x - median) / (q_hi - q_lo)`, linear-interpolated percentiles, IQR below `10*eps` counts as 1 | `RobustScaler` | `unit_variance` is not implemented |
//! | [`Transform::Log1p`] | `ln(1 + x)` | `FunctionTransformer(np.log1p)` | values below -1 are an error (numpy gives NaN or -inf) |
//! | [`Clip`] | `min(max(x, lo), hi)` | `np.clip` | - |
//! | [`OneHotEncoder`] | one 0/1 column per sorted category (or per given category, in order) | `OneHotEncoder(sparse_output=False)` with `categories`, `handle_unknown`, `min_frequency`, `max_categories` | unknown policy `other` forces the other bucket to exist; `drop` is not implemented; a float feature cannot be one-hot encoded |
//! | [`OrdinalEncoder`] | sorted (or given) categories -> `0..k-1` | `OrdinalEncoder` with `categories`, `handle_unknown`, `unknown_value`, `encoded_missing_value` | a missing value is `missing_value` when set, else stays missing (sklearn: NaN, or `unknown_value` with explicit categories) |
//! | [`FeatureHasher`] | see [Hashing](#hashing) | `FeatureHasher(input_type="dict")` | missing values add nothing (sklearn would hash `None`) |
//! | [`Bucketize`] | bin = number of boundaries `<= x` | `np.digitize` | - |
//! | [`QuantileBins`] | bin = number of inner quantile edges `<= x` | `KBinsDiscretizer(strategy="quantile", encode="ordinal" / "onehot-dense")`, `quantile_method` default `averaged_inverted_cdf` as in sklearn 1.9 ([`QuantileMethod`]) | no subsampling above 200 000 rows; a constant column has edges `[v, v]` (sklearn `[-inf, inf]`, not JSON) |
//! | [`Polynomial`] | `a*b`, or `a^2, a*b, b^2`, optional `a, b` first, for exactly two inputs | `PolynomialFeatures(degree=2, include_bias=False)` | linear terms off by default; no higher degrees |
//!
//! # Bad input
//!
//! Every case below is a documented policy or a typed [`Error`] naming the
//! feature (and output, and row for batches); nothing panics.
//!
//! | input | behaviour |
//! |---|---|
//! | null or NaN | missing: imputed by an imputer; a category of its own for one-hot (when seen in fitting); `missing_value` for ordinal; skipped by hashing; passes through numeric transforms; [`Error::MissingValue`] if it reaches an output |
//! | `inf`, `-inf` | [`Error::NonFinite`], in fitting and applying |
//! | a transform producing `inf`/NaN (`log1p(-2)`, overflow, `f32` overflow) | [`Error::NonFinite`] naming the output; an output is never NaN or infinite |
//! | unseen category | per [`HandleUnknown`] / [`OrdinalUnknown`]: [`Error::UnknownCategory`], all zeros, the other bucket, or a code |
//! | absent feature (record field or batch column) | [`Error::MissingFeature`] (send null for a missing value) |
//! | wrong type | [`Error::WrongType`]; batch columns of the same family are read as the fitted type (`float32`/`float64`/`int64`, `categorical`/`string`) |
//! | no rows to fit | [`Error::NoRows`]; a column without any value for a learning transform: [`Error::NoValues`] |
//! | constant column | sklearn's behaviour: scale 1 (standard, min-max, robust), one bin |
//! | a transform that cannot take the feature's type | [`Error::InvalidPipeline`] when fitting ([`Pipeline::validate`] checks earlier) |
//!
//! # Fitting in one go, in shards, or streamed
//!
//! [`Pipeline::fit`] fits each step as sklearn fits a `Pipeline` of its
//! transforms: one after the other, each on the output of the previous ones,
//! steps in parallel. For data that arrives in pieces,
//! [`Pipeline::partial_fit`], [`PartialFit::update`], [`PartialFit::merge`] and
//! [`PartialFit::finish`] (or [`Pipeline::fit_batches`]) keep mergeable
//! statistics: counts, minimums, maximums and categories exactly; means and
//! variances by Chan, Golub and LeVeque's pairwise update (per batch the
//! corrected two-pass algorithm, merged with `M2 = M2a + M2b + d^2 na nb / n`);
//! exact quantiles keep every value (8 bytes per non-missing value of those
//! columns) and select when finishing. Fitting two shards and merging equals
//! fitting the whole: bit for bit for counts, categories, minimums,
//! maximums and quantiles (unless computed from a mean, e.g. bins after a
//! standard scaler); means and variances within 1e-12 relative (variances
//! relative to the mean square). This is property-tested. See
//! [`PartialFit`] for which chains stream in one pass and which keep their
//! input columns.
//!
//! # Hashing
//!
//! [`FeatureHasher`] is sklearn's `FeatureHasher(input_type="dict")` over the
//! step's features, bit for bit: the string value `v` of feature `f` is the
//! token `f=v` with value 1, a number (or boolean, as 0/1) `x` is the token
//! `f` with value `x`; the token's UTF-8 bytes are hashed with 32-bit
//! MurmurHash3 (x86 variant, seed 0, [`murmurhash3_32`]) read as a signed
//! `i32` `h`; the column is `|h| mod n_features` (for `h = -2^31`,
//! `(2^31 - 1 - (n_features - 1)) mod n_features`), the sign is `-1` when
//! `h < 0` and `alternate_sign` is on, and colliding tokens add up. Zero and
//! missing values add nothing.
//!
//! # Serialization
//!
//! [`FittedPipeline::to_json`] writes a `kiln.pipeline/v1` document: the
//! input schema, each step's inputs, fitted transforms (the learned
//! statistics, per column) and output names. [`FittedPipeline::from_json`]
//! accepts minor revisions and unknown fields, refuses other major versions,
//! and checks the parts fit together (per-column vectors, sorted categories,
//! finite parameters, names) before anything runs.
//! [`FittedPipeline::digest`] is the SHA-256 of the canonical JSON (sorted
//! keys), the pipeline's identity in bundles.
//!
//! # Performance
//!
//! [`FittedPipeline::transform_record_into`] makes no heap allocation
//! (tested with dhat). Record fields are found by position (the training
//! schema's order, shifted by the offset seen in the last record, e.g. a
//! request without the label), then by a scan; names and string categories
//! are compared as [`kiln_core::StrKey`]s (no `memcmp` for names of up to 16
//! bytes), categories found through a collision-free hash table of their
//! keys. A 20-feature pipeline (17 scaled numbers, 3 one-hot columns) takes
//! about 360 ns per record on an idle 2-core machine (about 5,100
//! instructions).
//!
//! The batch path writes each tile of rows column by column into a
//! column-major buffer that stays in the L1 cache, then stores its rows in
//! order. A new output matrix is allocated with
//! [`kiln_core::buffer::zeroed`] (transparent huge pages on Linux, as NumPy
//! does): faulting in 4 KiB pages would cost as much as the transform.
//! [`FittedPipeline::transform_batch_into`] writes into a buffer the caller
//! reuses, which saves the allocation and the page faults altogether. On
//! the same machine, one core, 1,000,000 rows of the 20-feature pipeline
//! take about 72 ms into a new `f32` matrix (scikit-learn's
//! `ColumnTransformer`: about 530 ms) and 65 ms into a reused buffer; see
//! the repository's `benches/README.md`.

#[cfg(feature = "arrow")]
mod arrow;
mod category;
mod columnar;
mod error;
mod fit;
mod fitted;
mod hash;
mod kernel;
mod matrix;
mod spec;
mod stats;

pub use category::Category;
pub use error::{Error, Result};
pub use fit::PartialFit;
pub use fitted::{FittedPipeline, FittedStep, FittedTransform, PIPELINE_FORMAT};
pub use hash::murmurhash3_32;
pub use matrix::{Matrix, OutputFloat};
pub use spec::{
    BinEncode, Bucketize, Clip, FeatureHasher, HandleUnknown, ImputeStrategy, Imputer, MinFrequency, MinMaxScaler,
    OneHotEncoder, OrdinalEncoder, OrdinalUnknown, Pipeline, Polynomial, QuantileBins, QuantileMethod, RobustScaler,
    StandardScaler, Step, Transform,
};

#[cfg(test)]
mod tests {
    #[test]
    fn public_types_are_thread_safe() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::FittedPipeline>();
        send_sync::<crate::PartialFit>();
        send_sync::<crate::Pipeline>();
        send_sync::<crate::Error>();
    }
}
