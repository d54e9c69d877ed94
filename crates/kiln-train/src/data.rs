//! Training data: a dense feature matrix and the targets.
//!
//! Kiln models train on the output of a fitted transform pipeline: a dense,
//! row-major `f32` matrix with one column per model input. [`Features`]
//! holds such a matrix (checked: the buffer length is `rows * cols` and every
//! value is finite); [`Targets`] holds class indices or regression values; a
//! [`Dataset`] pairs them.

use std::collections::BTreeSet;

use kiln_core::{Batch, Column, ColumnData, DType, Digest, Hasher, ValueRef};
use kiln_transform::{FittedPipeline, Matrix};

use crate::model::{ModelSpec, Task};
use crate::{Error, Result};

/// A dense, row-major `f32` feature matrix.
///
/// The output of a fitted pipeline, a [`kiln_transform::Matrix`], moves in
/// without a copy: [`Features::from_matrix`] (or `Features::try_from(m)`).
///
/// ```
/// use kiln_train::Features;
/// let x = Features::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2)?;
/// assert_eq!(x.row(1), &[3.0, 4.0]);
/// assert!(Features::new(vec![1.0, 2.0, 3.0], 2, 2).is_err());
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl Features {
    /// Wraps `data` as a `rows` x `cols` matrix.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when `data.len() != rows * cols`, when `cols` is
    /// 0, or when a value is NaN or infinite (the message names its row and
    /// column).
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        if cols == 0 {
            return Err(Error::InvalidData("feature matrix has 0 columns".into()));
        }
        let expected = rows
            .checked_mul(cols)
            .ok_or_else(|| Error::InvalidData(format!("{rows} rows x {cols} columns overflows")))?;
        if data.len() != expected {
            return Err(Error::InvalidData(format!(
                "feature buffer has {} values, but {rows} rows x {cols} columns need {expected}",
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "feature value at row {}, column {} is {}",
                i / cols,
                i % cols,
                data[i]
            )));
        }
        Ok(Self { data, rows, cols })
    }

    /// Takes over the buffer of a fitted pipeline's output matrix (no copy).
    ///
    /// ```
    /// use kiln_train::Features;
    /// use kiln_transform::Matrix;
    /// let m = Matrix { rows: 2, cols: 2, data: vec![0.5f32, 1.0, -1.0, 2.0] };
    /// let x = Features::from_matrix(m)?;
    /// assert_eq!(x.row(1), &[-1.0, 2.0]);
    /// # Ok::<(), kiln_train::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Features::new`]: a pipeline with no outputs, or a matrix whose
    /// fields were changed by hand to disagree.
    pub fn from_matrix(matrix: Matrix<f32>) -> Result<Self> {
        Self::new(matrix.data, matrix.rows, matrix.cols)
    }

    /// Copies a borrowed row-major buffer; see [`Features::new`].
    ///
    /// # Errors
    /// As [`Features::new`].
    pub fn from_slice(data: &[f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data.to_vec(), rows, cols)
    }

    /// Number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (model inputs).
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major values.
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Row `i`.
    ///
    /// # Panics
    /// When `i >= rows()`.
    #[must_use]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows at `indices`, in that order, as a new row-major buffer.
    #[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
    pub(crate) fn gather(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            out.extend_from_slice(self.row(i));
        }
        out
    }

    /// The rows at `indices` as a new matrix.
    #[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
    pub(crate) fn subset(&self, indices: &[usize]) -> Self {
        Self {
            data: self.gather(indices),
            rows: indices.len(),
            cols: self.cols,
        }
    }
}

impl TryFrom<Matrix<f32>> for Features {
    type Error = Error;

    /// [`Features::from_matrix`].
    fn try_from(matrix: Matrix<f32>) -> Result<Self> {
        Self::from_matrix(matrix)
    }
}

/// What a model predicts for each row.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Targets {
    /// Class indices into `classes`.
    Classes {
        /// One class index per row.
        labels: Vec<usize>,
        /// The class names, in index order.
        classes: Vec<String>,
    },
    /// One real value per row.
    Values(Vec<f32>),
}

impl Targets {
    /// Class targets. `labels[i]` indexes `classes`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] with fewer than 2 classes, duplicate class
    /// names, or a label out of range (the message names the row).
    pub fn classes(labels: Vec<usize>, classes: Vec<String>) -> Result<Self> {
        if classes.len() < 2 {
            return Err(Error::InvalidData(format!(
                "classification needs at least 2 classes, got {}",
                classes.len()
            )));
        }
        let unique: BTreeSet<&str> = classes.iter().map(String::as_str).collect();
        if unique.len() != classes.len() {
            return Err(Error::InvalidData("class names are not unique".into()));
        }
        if let Some(row) = labels.iter().position(|&l| l >= classes.len()) {
            return Err(Error::InvalidData(format!(
                "label at row {row} is class {}, but there are only {} classes",
                labels[row],
                classes.len()
            )));
        }
        Ok(Self::Classes { labels, classes })
    }

    /// Regression targets.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when a value is NaN or infinite.
    pub fn values(values: Vec<f32>) -> Result<Self> {
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!("target at row {row} is {}", values[row])));
        }
        Ok(Self::Values(values))
    }

    /// Reads the targets from the `label` column of `batch`: numeric labels
    /// become values; boolean, categorical and string labels become classes
    /// (see [`Targets::classes_from_batch`] for their order).
    ///
    /// # Errors
    /// [`Error::LabelNotInSchema`] when the batch has no such column;
    /// [`Error::InvalidLabel`] for a null, a value outside the declared
    /// categories, or a number that is not a finite `f32`;
    /// [`Error::InvalidData`] for a timestamp label.
    pub fn from_batch(batch: &Batch, label: &str) -> Result<Self> {
        let (feature, column) = label_column(batch, label)?;
        let encoding = if is_numeric(feature.dtype) {
            Encoding::Values
        } else {
            Encoding::Derive
        };
        read_label(feature, column, encoding, Nulls::Refuse).map(|(t, _)| t)
    }

    /// Reads class targets from the `label` column of `batch`, whatever its
    /// type (integers become class names through their text form).
    ///
    /// The class list is stable, so that it can be recorded and used again:
    /// `["false", "true"]` for a boolean label; the schema's declared
    /// categories, in their order, when there are some
    /// (`Feature::with_categories`; an inferred schema lists them sorted);
    /// otherwise the sorted distinct values.
    ///
    /// # Errors
    /// As [`Targets::from_batch`].
    pub fn classes_from_batch(batch: &Batch, label: &str) -> Result<Self> {
        let (feature, column) = label_column(batch, label)?;
        read_label(feature, column, Encoding::Derive, Nulls::Refuse).map(|(t, _)| t)
    }

    /// Reads regression targets from the numeric `label` column of `batch`.
    ///
    /// # Errors
    /// As [`Targets::from_batch`]; also [`Error::InvalidLabel`] for a
    /// non-numeric column.
    pub fn values_from_batch(batch: &Batch, label: &str) -> Result<Self> {
        let (feature, column) = label_column(batch, label)?;
        read_label(feature, column, Encoding::Values, Nulls::Refuse).map(|(t, _)| t)
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Classes { labels, .. } => labels.len(),
            Self::Values(values) => values.len(),
        }
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class names, or `None` for regression targets.
    #[must_use]
    pub fn class_names(&self) -> Option<&[String]> {
        match self {
            Self::Classes { classes, .. } => Some(classes),
            Self::Values(_) => None,
        }
    }

    #[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
    pub(crate) fn subset(&self, indices: &[usize]) -> Self {
        match self {
            Self::Classes { labels, classes } => Self::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                classes: classes.clone(),
            },
            Self::Values(values) => Self::Values(indices.iter().map(|&i| values[i]).collect()),
        }
    }
}

/// A value as plain text (no quotes, no shortening), for class and slice names.
fn value_text(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Str(s) => s.to_owned(),
        ValueRef::Bool(b) => b.to_string(),
        ValueRef::Int(i) => i.to_string(),
        ValueRef::Float(x) => x.to_string(),
        other => other.to_string(),
    }
}

fn invalid_label(label: &str, row: usize, reason: impl Into<String>) -> Error {
    Error::InvalidLabel {
        label: label.to_owned(),
        row,
        reason: reason.into(),
    }
}

fn label_column<'a>(batch: &'a Batch, label: &str) -> Result<(&'a kiln_core::Feature, &'a Column)> {
    let not_found = || Error::LabelNotInSchema {
        label: label.to_owned(),
    };
    let feature = batch.schema().feature(label).ok_or_else(not_found)?;
    let column = batch.column_by_name(label).ok_or_else(not_found)?;
    Ok((feature, column))
}

fn is_numeric(dtype: DType) -> bool {
    matches!(dtype, DType::Float32 | DType::Float64 | DType::Int64)
}

/// How label values become targets.
#[derive(Clone, Copy, Debug)]
enum Encoding<'a> {
    /// Classes in the stable order of [`Targets::classes_from_batch`].
    Derive,
    /// Class indices into these names (a trained model's classes).
    Classes(&'a [String]),
    /// Regression values.
    Values,
}

/// What to do with a missing label (null, or a float NaN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nulls {
    Refuse,
    Drop,
}

/// The targets of the rows whose label is present, and the indices of those rows.
fn read_label(
    feature: &kiln_core::Feature,
    column: &Column,
    encoding: Encoding<'_>,
    nulls: Nulls,
) -> Result<(Targets, Vec<usize>)> {
    let label = feature.name.as_str();
    if feature.dtype == DType::Timestamp {
        return Err(Error::InvalidData(format!(
            "label {label:?} is a timestamp; convert it to a number or a category first"
        )));
    }
    let mut rows = Vec::with_capacity(column.len());
    for row in 0..column.len() {
        match column.value(row) {
            ValueRef::Null => {}
            ValueRef::Float(x) if x.is_nan() => {}
            _ => {
                rows.push(row);
                continue;
            }
        }
        if nulls == Nulls::Refuse {
            return Err(invalid_label(label, row, "label is missing"));
        }
    }
    let targets = match encoding {
        Encoding::Values => {
            let mut values = Vec::with_capacity(rows.len());
            for &row in &rows {
                let value = column.value(row);
                match value.as_f64() {
                    Some(v) if (v as f32).is_finite() => values.push(v as f32),
                    Some(v) => return Err(invalid_label(label, row, format!("value {v} is not a finite f32"))),
                    None => {
                        return Err(invalid_label(
                            label,
                            row,
                            format!("{} value {value} is not a number", value.kind()),
                        ));
                    }
                }
            }
            Targets::Values(values)
        }
        Encoding::Classes(classes) => {
            let labels = class_indices(label, column, &rows, classes, "is not one of the model's classes")?;
            Targets::classes(labels, classes.to_vec())?
        }
        Encoding::Derive => {
            let classes: Vec<String> = match (&feature.dtype, &feature.categories) {
                (DType::Bool, _) => vec!["false".to_owned(), "true".to_owned()],
                (_, Some(categories)) => categories.clone(),
                _ => rows
                    .iter()
                    .map(|&row| value_text(column.value(row)))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            };
            let labels = class_indices(label, column, &rows, &classes, "is not a declared category")?;
            Targets::classes(labels, classes)?
        }
    };
    Ok((targets, rows))
}

/// The index in `classes` of the label of each of `rows`.
fn class_indices(
    label: &str,
    column: &Column,
    rows: &[usize],
    classes: &[String],
    unknown: &str,
) -> Result<Vec<usize>> {
    let index: std::collections::HashMap<&str, usize> =
        classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    rows.iter()
        .map(|&row| {
            let value = column.value(row);
            let found = match value {
                ValueRef::Str(text) => index.get(text),
                other => index.get(value_text(other).as_str()),
            };
            found
                .copied()
                .ok_or_else(|| invalid_label(label, row, format!("{:?} {unknown}", value_text(value))))
        })
        .collect()
}

/// Features and targets of the same rows.
///
/// ```
/// use kiln_train::{Dataset, Features, Targets};
/// let x = Features::new(vec![0.0, 1.0, 2.0, 3.0], 4, 1)?;
/// let y = Targets::classes(vec![0, 0, 1, 1], vec!["no".into(), "yes".into()])?;
/// let data = Dataset::new(x, y)?;
/// assert_eq!(data.len(), 4);
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    features: Features,
    targets: Targets,
    provenance: Option<Provenance>,
}

/// Where a [`Dataset`] read from a batch came from; the trainer copies it
/// into the run record.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Provenance {
    /// The label feature.
    pub label: String,
    /// Digest of the batch's schema (the whole contract, label included).
    pub schema_digest: Digest,
    /// Digest of the fitted pipeline that made the features.
    pub pipeline_digest: Digest,
    /// The pipeline's output names: the name of every feature column.
    pub feature_names: Vec<String>,
    /// Rows in the batch.
    pub rows_read: usize,
    /// Rows dropped because their label was missing.
    pub null_label_rows: usize,
}

impl Dataset {
    /// Pairs features and targets.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when they have different row counts.
    pub fn new(features: Features, targets: Targets) -> Result<Self> {
        if features.rows() != targets.len() {
            return Err(Error::InvalidData(format!(
                "{} feature rows but {} targets",
                features.rows(),
                targets.len()
            )));
        }
        Ok(Self {
            features,
            targets,
            provenance: None,
        })
    }

    /// The training data in `batch`: the features are `pipeline` applied to
    /// the batch, the targets its label (the feature whose role is `label`).
    ///
    /// Numeric labels become regression values; boolean, categorical and
    /// string labels become classes in a stable order, recorded in the
    /// targets and, through [`ModelSpec::for_dataset`], in the model (see
    /// [`Targets::classes_from_batch`]). Rows whose label is missing (null,
    /// or NaN) are dropped with a `tracing` warning and counted in
    /// [`Provenance::null_label_rows`]; they are transformed before being
    /// dropped, so they must still be valid input for the pipeline. The
    /// matrix moves from the pipeline's output without a copy.
    ///
    /// ```
    /// use kiln_core::{CsvReader, InferOptions, Schema};
    /// use kiln_train::{Dataset, ModelSpec};
    /// use kiln_transform::Pipeline;
    ///
    /// let csv = "size,colour,label\n1.0,red,cat\n2.5,blue,dog\n0.5,red,NA\n3.0,blue,dog\n";
    /// let schema = Schema::infer_csv_bytes(csv.as_bytes(), "t.csv", &InferOptions::default().with_label("label"))?;
    /// let batch = CsvReader::new(schema.clone()).read_bytes(csv.as_bytes(), "t.csv")?;
    /// let pipeline = Pipeline::auto(&schema).fit(&batch)?;
    ///
    /// let data = Dataset::from_batch(&pipeline, &batch)?;
    /// assert_eq!(data.len(), 3); // the row without a label is dropped
    /// assert_eq!(data.targets().class_names().unwrap(), ["cat", "dog"]);
    /// assert_eq!(data.provenance().unwrap().null_label_rows, 1);
    /// assert_eq!(ModelSpec::for_dataset(&data, []).family(), "logistic_regression");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NoLabel`] when no feature has the label role;
    /// [`Error::InvalidData`] when the pipeline reads the label (a leak), or
    /// for a timestamp label; [`Error::InvalidLabel`] for a label outside
    /// the declared categories or a non-finite number; [`Error::Transform`]
    /// when the pipeline cannot transform the batch.
    pub fn from_batch(pipeline: &FittedPipeline, batch: &Batch) -> Result<Self> {
        Self::read(pipeline, batch, Encoding::Derive)
    }

    /// The evaluation data in `batch` for a trained model: as
    /// [`Dataset::from_batch`], with the labels encoded as the model's:
    /// class indices into `spec.class_names`, or regression values.
    ///
    /// # Errors
    /// As [`Dataset::from_batch`]; [`Error::InvalidLabel`] for a class the
    /// model does not know; [`Error::InvalidModelSpec`] for a classifier
    /// without class names.
    pub fn for_model(pipeline: &FittedPipeline, batch: &Batch, spec: &ModelSpec) -> Result<Self> {
        let encoding = match spec.task {
            Task::Regression => Encoding::Values,
            _ if spec.class_names.is_empty() => {
                return Err(Error::InvalidModelSpec(
                    "the model has no class names to read labels with".into(),
                ));
            }
            _ => Encoding::Classes(&spec.class_names),
        };
        Self::read(pipeline, batch, encoding)
    }

    fn read(pipeline: &FittedPipeline, batch: &Batch, encoding: Encoding<'_>) -> Result<Self> {
        let feature = batch.schema().label().ok_or(Error::NoLabel)?;
        let label = feature.name.as_str();
        if pipeline.input_schema().feature(label).is_some() {
            return Err(Error::InvalidData(format!(
                "the pipeline reads the label {label:?} as an input; fit it on the features only"
            )));
        }
        let column = batch.column_by_name(label).ok_or_else(|| Error::LabelNotInSchema {
            label: label.to_owned(),
        })?;
        let encoding = match encoding {
            Encoding::Derive if is_numeric(feature.dtype) => Encoding::Values,
            other => other,
        };
        let (targets, kept) = read_label(feature, column, encoding, Nulls::Drop)?;
        let rows_read = batch.num_rows();
        let null_label_rows = rows_read - kept.len();
        if null_label_rows > 0 {
            tracing::warn!(
                label,
                dropped = null_label_rows,
                rows = rows_read,
                "rows without a label dropped"
            );
        }
        let mut matrix = pipeline.transform_batch(batch)?;
        if null_label_rows > 0 {
            keep_rows(&mut matrix, &kept);
        }
        let provenance = Provenance {
            label: label.to_owned(),
            schema_digest: batch.schema().digest(),
            pipeline_digest: pipeline.digest(),
            feature_names: pipeline.output_names().to_vec(),
            rows_read,
            null_label_rows,
        };
        Ok(Self {
            provenance: Some(provenance),
            ..Self::new(Features::from_matrix(matrix)?, targets)?
        })
    }

    /// Where the data came from, when it was read from a batch.
    #[must_use]
    pub fn provenance(&self) -> Option<&Provenance> {
        self.provenance.as_ref()
    }

    /// The feature matrix.
    #[must_use]
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The targets.
    #[must_use]
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.features.rows()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SHA-256 over the shape, the feature bytes (little-endian `f32`) and the
    /// targets, so a run record names exactly the matrix a model saw.
    #[must_use]
    pub fn digest(&self) -> Digest {
        let mut h = Hasher::new();
        h.update(b"kiln.dataset/v1\0");
        h.update(&(self.features.rows as u64).to_le_bytes());
        h.update(&(self.features.cols as u64).to_le_bytes());
        for v in &self.features.data {
            h.update(&v.to_le_bytes());
        }
        match &self.targets {
            Targets::Classes { labels, classes } => {
                h.update(b"classes\0");
                for c in classes {
                    h.update(&(c.len() as u64).to_le_bytes());
                    h.update(c.as_bytes());
                }
                for &l in labels {
                    h.update(&(l as u64).to_le_bytes());
                }
            }
            Targets::Values(values) => {
                h.update(b"values\0");
                for v in values {
                    h.update(&v.to_le_bytes());
                }
            }
        }
        h.finish()
    }

    #[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
    pub(crate) fn subset(&self, indices: &[usize]) -> Self {
        Self {
            features: self.features.subset(indices),
            targets: self.targets.subset(indices),
            provenance: None,
        }
    }
}

/// Keeps the rows `kept` (ascending) of `matrix`, moving them up in place.
fn keep_rows(matrix: &mut Matrix<f32>, kept: &[usize]) {
    let cols = matrix.cols;
    for (to, &from) in kept.iter().enumerate() {
        if to != from {
            matrix.data.copy_within(from * cols..(from + 1) * cols, to * cols);
        }
    }
    matrix.data.truncate(kept.len() * cols);
    matrix.rows = kept.len();
}

/// The distinct values of a column as slice keys: nulls become `"<null>"`.
///
/// Used for per-slice metrics ([`crate::metrics::SliceReport`]) on a
/// categorical, string, boolean or integer feature of the evaluation batch.
///
/// # Errors
/// [`Error::InvalidSlice`] when the feature is missing or is a float column.
pub fn slice_keys(batch: &Batch, feature: &str) -> Result<Vec<String>> {
    let invalid = |reason: &str| Error::InvalidSlice {
        feature: feature.to_owned(),
        reason: reason.to_owned(),
    };
    let column = batch
        .column_by_name(feature)
        .ok_or_else(|| invalid("not in the batch"))?;
    if matches!(column.data(), ColumnData::Float32(_) | ColumnData::Float64(_)) {
        return Err(invalid("a float column cannot name slices; bin it first"));
    }
    Ok((0..batch.num_rows())
        .map(|row| match column.value(row) {
            ValueRef::Null => "<null>".to_owned(),
            value => value_text(value),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_core::{Feature, Record, Role, Schema, Value};

    fn batch() -> Batch {
        let schema = Schema::new(vec![
            Feature::new("x", DType::Float64),
            Feature::new("species", DType::Categorical)
                .with_categories(["Gentoo", "Adelie", "Chinstrap"])
                .with_nullable(true),
            Feature::new("mass", DType::Int64).with_nullable(true),
        ])
        .unwrap();
        let records = [
            Record::new()
                .with("x", 1.0)
                .with("species", "Adelie")
                .with("mass", 3750_i64),
            Record::new()
                .with("x", 2.0)
                .with("species", "Gentoo")
                .with("mass", 5000_i64),
            Record::new()
                .with("x", 3.0)
                .with("species", "Adelie")
                .with("mass", Value::Null),
        ];
        Batch::from_records(schema, &records).unwrap()
    }

    #[test]
    fn features_reject_bad_shapes_and_values() {
        assert!(matches!(Features::new(vec![1.0; 5], 2, 3), Err(Error::InvalidData(_))));
        assert!(matches!(Features::new(vec![], 0, 0), Err(Error::InvalidData(_))));
        let err = Features::new(vec![1.0, f32::NAN, 0.0, 0.0], 2, 2).unwrap_err();
        assert!(err.to_string().contains("row 0, column 1"), "{err}");
        assert_eq!(Features::new(vec![], 0, 3).unwrap().rows(), 0);
    }

    #[test]
    fn class_targets_follow_declared_categories() {
        let b = batch();
        let t = Targets::from_batch(&b, "species").unwrap();
        let Targets::Classes { labels, classes } = t else {
            panic!("expected classes")
        };
        assert_eq!(classes, ["Gentoo", "Adelie", "Chinstrap"]);
        assert_eq!(labels, [1, 0, 1]);
    }

    #[test]
    fn label_errors_are_typed() {
        let b = batch();
        assert!(matches!(
            Targets::from_batch(&b, "nope"),
            Err(Error::LabelNotInSchema { label }) if label == "nope"
        ));
        assert!(matches!(
            Targets::from_batch(&b, "mass"),
            Err(Error::InvalidLabel { row: 2, .. })
        ));
        assert!(matches!(
            Targets::classes(vec![0, 3], vec!["a".into(), "b".into()]),
            Err(Error::InvalidData(_))
        ));
    }

    #[test]
    fn dataset_checks_lengths_and_digest_tracks_content() {
        let x = Features::new(vec![0.0, 1.0], 2, 1).unwrap();
        let y = Targets::values(vec![1.0, 2.0]).unwrap();
        let d = Dataset::new(x.clone(), y).unwrap();
        assert!(Dataset::new(x.clone(), Targets::values(vec![1.0]).unwrap()).is_err());
        let d2 = Dataset::new(x, Targets::values(vec![1.0, 2.5]).unwrap()).unwrap();
        assert_eq!(d.digest(), d.clone().digest());
        assert_ne!(d.digest(), d2.digest());
    }

    fn labelled(label: DType, values: Vec<Value>) -> Batch {
        let schema = Schema::new(vec![
            Feature::new("x", DType::Float64),
            Feature::new("y", label).with_nullable(true).with_role(Role::Label),
        ])
        .unwrap();
        let records: Vec<Record> = values
            .into_iter()
            .enumerate()
            .map(|(i, y)| Record::new().with("x", i as f64).with("y", y))
            .collect();
        Batch::from_records(schema, &records).unwrap()
    }

    fn fitted(batch: &Batch) -> FittedPipeline {
        kiln_transform::Pipeline::auto(batch.schema()).fit(batch).unwrap()
    }

    #[test]
    fn from_batch_drops_missing_labels_and_keeps_the_other_rows_in_order() {
        let b = labelled(
            DType::Float64,
            vec![1.5.into(), Value::Null, 2.5.into(), Value::Float(f64::NAN), 4.0.into()],
        );
        let p = fitted(&b);
        let d = Dataset::from_batch(&p, &b).unwrap();
        assert_eq!(d.targets(), &Targets::Values(vec![1.5, 2.5, 4.0]));
        let expected: Vec<f32> = [0, 2, 4]
            .iter()
            .flat_map(|&r| p.transform_record(&b.record(r)).unwrap())
            .collect();
        assert_eq!(d.features().as_slice(), expected.as_slice());
        let origin = d.provenance().unwrap();
        assert_eq!((origin.rows_read, origin.null_label_rows), (5, 2));
        assert_eq!(origin.label, "y");
        assert_eq!(origin.schema_digest, b.schema().digest());
        assert_eq!(origin.pipeline_digest, p.digest());
        assert_eq!(origin.feature_names, ["x__scaled"]);
        assert!(matches!(
            Targets::from_batch(&b, "y"),
            Err(Error::InvalidLabel { row: 1, .. })
        ));
    }

    #[test]
    fn bool_labels_are_false_then_true_even_when_one_is_absent() {
        let b = labelled(DType::Bool, vec![true.into(), true.into(), Value::Null]);
        let t = Targets::classes_from_batch(&b.slice(0..2).unwrap(), "y");
        // One class present: the class list still has both.
        assert!(matches!(t, Ok(Targets::Classes { ref classes, .. }) if classes == &["false", "true"]));
        let b = labelled(DType::Bool, vec![true.into(), false.into(), Value::Null, true.into()]);
        let d = Dataset::from_batch(&fitted(&b), &b).unwrap();
        let Targets::Classes { labels, classes } = d.targets() else {
            panic!("classes expected")
        };
        assert_eq!(
            (labels.as_slice(), classes.as_slice()),
            (&[1, 0, 1][..], &["false".to_owned(), "true".to_owned()][..])
        );
    }

    #[test]
    fn undeclared_classes_are_sorted_and_a_model_reads_them_back_by_name() {
        let b = labelled(DType::String, vec!["b".into(), "c".into(), "a".into(), "b".into()]);
        let p = fitted(&b);
        let d = Dataset::from_batch(&p, &b).unwrap();
        assert_eq!(d.targets().class_names().unwrap(), ["a", "b", "c"]);
        // A model's class order wins over the batch's.
        let spec = ModelSpec::softmax_regression(1, 3).with_class_names(["c", "b", "a"]);
        let e = Dataset::for_model(&p, &b, &spec).unwrap();
        assert!(matches!(e.targets(), Targets::Classes { labels, .. } if labels == &[1, 0, 2, 1]));
        let narrow = ModelSpec::logistic_regression(1).with_class_names(["a", "b"]);
        assert!(matches!(
            Dataset::for_model(&p, &b, &narrow),
            Err(Error::InvalidLabel { row: 1, .. })
        ));
        let unnamed = ModelSpec::logistic_regression(1);
        assert!(matches!(
            Dataset::for_model(&p, &b, &unnamed),
            Err(Error::InvalidModelSpec(_))
        ));
        let regression = Dataset::for_model(&p, &b, &ModelSpec::linear_regression(1));
        assert!(matches!(regression, Err(Error::InvalidLabel { row: 0, .. })));
    }

    #[test]
    fn from_batch_needs_a_label_the_pipeline_does_not_read() {
        let b = labelled(DType::Float64, vec![1.0.into(), 2.0.into()]);
        let features_only = Schema::new(vec![
            Feature::new("x", DType::Float64),
            Feature::new("y", DType::Float64).with_nullable(true),
        ])
        .unwrap();
        let no_label = Batch::from_records(features_only, &b.to_records()).unwrap();
        let leaky = fitted(&no_label);
        assert!(matches!(Dataset::from_batch(&leaky, &no_label), Err(Error::NoLabel)));
        assert!(matches!(Dataset::from_batch(&leaky, &b), Err(Error::InvalidData(m)) if m.contains("reads the label")));
        let t = labelled(DType::Timestamp, vec![Value::Int(1), Value::Int(2)]);
        assert!(matches!(
            Dataset::from_batch(&fitted(&t), &t),
            Err(Error::InvalidData(_))
        ));
    }

    #[test]
    fn matrices_move_in_without_a_copy() {
        let data = vec![1.0f32, 2.0, 3.0, 4.0];
        let ptr = data.as_ptr();
        let x = Features::try_from(Matrix { rows: 2, cols: 2, data }).unwrap();
        assert_eq!(x.as_slice().as_ptr(), ptr);
        assert!(
            Features::from_matrix(Matrix {
                rows: 3,
                cols: 2,
                data: vec![0.0; 4]
            })
            .is_err()
        );
    }

    #[test]
    fn slice_keys_mark_nulls() {
        let b = batch();
        assert_eq!(slice_keys(&b, "mass").unwrap(), ["3750", "5000", "<null>"]);
        assert!(slice_keys(&b, "x").is_err());
        assert!(slice_keys(&b, "zzz").is_err());
    }
}
