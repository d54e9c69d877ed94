//! Training data: a dense feature matrix and the targets.
//!
//! Kiln models train on the output of a fitted transform pipeline: a dense,
//! row-major `f32` matrix with one column per model input. [`Features`]
//! holds such a matrix (checked: the buffer length is `rows * cols` and every
//! value is finite); [`Targets`] holds class indices or regression values; a
//! [`Dataset`] pairs them.

use std::collections::BTreeSet;

use kiln_core::{Batch, ColumnData, DType, Digest, Hasher, ValueRef};

use crate::{Error, Result};

/// A dense, row-major `f32` feature matrix.
///
/// The output of a fitted pipeline (`kiln_transform::Matrix`, fields `rows`,
/// `cols`, `data`) moves in without a copy: `Features::new(m.data, m.rows, m.cols)`.
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

    /// Reads the targets from the `label` column of `batch`: categorical,
    /// string and boolean labels become classes, numeric labels become values.
    ///
    /// Class order is the schema's declared categories when present
    /// (`Feature::with_categories`), otherwise the sorted distinct values.
    ///
    /// # Errors
    /// [`Error::LabelNotInSchema`] when the batch has no such column;
    /// [`Error::InvalidLabel`] for a null, a value outside the declared
    /// categories, or a non-finite number.
    pub fn from_batch(batch: &Batch, label: &str) -> Result<Self> {
        let feature = batch.schema().feature(label).ok_or_else(|| Error::LabelNotInSchema {
            label: label.to_owned(),
        })?;
        match feature.dtype {
            DType::Float32 | DType::Float64 | DType::Int64 => Self::values_from_batch(batch, label),
            _ => Self::classes_from_batch(batch, label),
        }
    }

    /// Reads class targets from the `label` column of `batch`, whatever its type
    /// (integers and booleans become class names through their text form).
    ///
    /// # Errors
    /// As [`Targets::from_batch`].
    pub fn classes_from_batch(batch: &Batch, label: &str) -> Result<Self> {
        let (feature, column) = label_column(batch, label)?;
        let mut texts = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            match column.value(row) {
                ValueRef::Null => return Err(invalid_label(label, row, "label is null")),
                value => texts.push(value_text(value)),
            }
        }
        let classes: Vec<String> = match &feature.categories {
            Some(categories) => categories.clone(),
            None => texts
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        let mut labels = Vec::with_capacity(texts.len());
        for (row, text) in texts.iter().enumerate() {
            let index = classes
                .iter()
                .position(|c| c == text)
                .ok_or_else(|| invalid_label(label, row, format!("{text:?} is not a declared category")))?;
            labels.push(index);
        }
        Self::classes(labels, classes)
    }

    /// Reads regression targets from the numeric `label` column of `batch`.
    ///
    /// # Errors
    /// As [`Targets::from_batch`]; also [`Error::InvalidLabel`] for a
    /// non-numeric column.
    pub fn values_from_batch(batch: &Batch, label: &str) -> Result<Self> {
        let (_, column) = label_column(batch, label)?;
        let mut values = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let value = column.value(row);
            match value.as_f64() {
                Some(v) if v.is_finite() => values.push(v as f32),
                Some(v) => return Err(invalid_label(label, row, format!("value is {v}"))),
                None if value.is_null() => {
                    return Err(invalid_label(label, row, "label is null"));
                }
                None => {
                    return Err(invalid_label(
                        label,
                        row,
                        format!("{} value {value} is not a number", value.kind()),
                    ));
                }
            }
        }
        Ok(Self::Values(values))
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

fn label_column<'a>(batch: &'a Batch, label: &str) -> Result<(&'a kiln_core::Feature, &'a kiln_core::Column)> {
    let not_found = || Error::LabelNotInSchema {
        label: label.to_owned(),
    };
    let feature = batch.schema().feature(label).ok_or_else(not_found)?;
    let column = batch.column_by_name(label).ok_or_else(not_found)?;
    Ok((feature, column))
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
        Ok(Self { features, targets })
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
        }
    }
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
    use kiln_core::{Feature, Record, Schema, Value};

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

    #[test]
    fn slice_keys_mark_nulls() {
        let b = batch();
        assert_eq!(slice_keys(&b, "mass").unwrap(), ["3750", "5000", "<null>"]);
        assert!(slice_keys(&b, "x").is_err());
        assert!(slice_keys(&b, "zzz").is_err());
    }
}
