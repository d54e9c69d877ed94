//! Evaluation metrics over plain slices: no Burn, no tensors.
//!
//! Classification metrics take true class indices (`&[usize]`) and either
//! predicted classes or a row-major `rows x n_classes` probability matrix
//! (`&[f64]`); regression metrics take `&[f64]` truths and predictions.
//! Conventions follow scikit-learn: precision of a class never predicted is
//! 0, macro averages weigh every class equally (all `n_classes`, present or
//! not), ROC AUC counts ties as half.
//!
//! ```
//! use kiln_train::metrics::{accuracy, roc_auc, rmse};
//! assert_eq!(accuracy(&[0, 1, 1, 2], &[0, 1, 0, 2])?, 0.75);
//! assert_eq!(roc_auc(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8])?, 0.75);
//! assert_eq!(rmse(&[1.0, 2.0], &[1.0, 4.0])?, 2.0f64.sqrt());
//! # Ok::<(), kiln_train::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calibration::{self, Calibration};
use crate::data::Targets;
use crate::model::{ModelSpec, Predictions, argmax};
use crate::{Error, Result};

/// Probabilities are clipped to `[EPS, 1 - EPS]` before taking logs: the
/// machine epsilon of `f64`, as scikit-learn's `log_loss` does since 1.5.
pub const LOG_LOSS_EPS: f64 = f64::EPSILON;

fn same_len(metric: &'static str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::metric(metric, format!("{a} truths but {b} predictions")));
    }
    if a == 0 {
        return Err(Error::metric(metric, "no rows"));
    }
    Ok(())
}

fn check_classes(metric: &'static str, labels: &[usize], n_classes: usize) -> Result<()> {
    if let Some(row) = labels.iter().position(|&l| l >= n_classes) {
        return Err(Error::metric(
            metric,
            format!(
                "class {} at row {row} is not below n_classes = {n_classes}",
                labels[row]
            ),
        ));
    }
    Ok(())
}

/// Checks a row-major probability matrix: `rows x n_classes`, every value in [0, 1].
pub(crate) fn check_probabilities(metric: &'static str, probs: &[f64], rows: usize, n_classes: usize) -> Result<()> {
    if n_classes < 2 {
        return Err(Error::metric(
            metric,
            format!("n_classes = {n_classes}; need at least 2"),
        ));
    }
    if probs.len() != rows * n_classes {
        return Err(Error::metric(
            metric,
            format!("{} probabilities for {rows} rows x {n_classes} classes", probs.len()),
        ));
    }
    if let Some(i) = probs.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::metric(
            metric,
            format!(
                "probability {} at row {}, class {} is outside [0, 1]",
                probs[i],
                i / n_classes,
                i % n_classes
            ),
        ));
    }
    Ok(())
}

/// Fraction of rows whose predicted class is the true class.
///
/// # Errors
/// [`Error::Metric`] for empty or mismatched inputs.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    same_len("accuracy", y_true.len(), y_pred.len())?;
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use kiln_train::metrics::ConfusionMatrix;
/// let cm = ConfusionMatrix::new(&[0, 0, 1, 2], &[0, 1, 1, 1], 3)?;
/// assert_eq!(cm.get(0, 1), 1);
/// assert_eq!(cm.rows(), vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 1, 0]]);
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    n_classes: usize,
    /// Row `t`, column `p`: rows of true class `t` predicted as `p`.
    counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Tallies the pairs.
    ///
    /// # Errors
    /// [`Error::Metric`] for empty or mismatched inputs or a class `>= n_classes`.
    pub fn new(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<Self> {
        same_len("confusion_matrix", y_true.len(), y_pred.len())?;
        check_classes("confusion_matrix", y_true, n_classes)?;
        check_classes("confusion_matrix", y_pred, n_classes)?;
        let mut counts = vec![vec![0u64; n_classes]; n_classes];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            counts[t][p] += 1;
        }
        Ok(Self { n_classes, counts })
    }

    /// Number of classes.
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Rows of true class `t` predicted as `p`.
    ///
    /// # Panics
    /// When `t` or `p` is `>= n_classes()`.
    #[must_use]
    pub fn get(&self, t: usize, p: usize) -> u64 {
        self.counts[t][p]
    }

    /// The matrix, true classes as rows.
    #[must_use]
    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts.clone()
    }

    /// Precision, recall, F1 and support of every class.
    #[must_use]
    pub fn per_class(&self) -> Vec<ClassScores> {
        (0..self.n_classes)
            .map(|c| {
                let tp = self.counts[c][c] as f64;
                let support: u64 = self.counts[c].iter().sum();
                let predicted: u64 = self.counts.iter().map(|row| row[c]).sum();
                let precision = ratio(tp, predicted as f64);
                let recall = ratio(tp, support as f64);
                ClassScores {
                    precision,
                    recall,
                    f1: ratio(2.0 * precision * recall, precision + recall),
                    support,
                }
            })
            .collect()
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

/// Precision, recall and F1 of one class (0 where undefined).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// True positives / predicted positives.
    pub precision: f64,
    /// True positives / actual positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Rows of this class.
    pub support: u64,
}

/// Unweighted mean of per-class precision, recall and F1 (support is the total).
#[must_use]
pub fn macro_average(scores: &[ClassScores]) -> ClassScores {
    let n = scores.len().max(1) as f64;
    ClassScores {
        precision: scores.iter().map(|s| s.precision).sum::<f64>() / n,
        recall: scores.iter().map(|s| s.recall).sum::<f64>() / n,
        f1: scores.iter().map(|s| s.f1).sum::<f64>() / n,
        support: scores.iter().map(|s| s.support).sum(),
    }
}

/// Area under the ROC curve for a binary problem (Mann-Whitney statistic,
/// ties counted as half).
///
/// # Errors
/// [`Error::Metric`] for empty or mismatched inputs, a NaN score, or when
/// only one class is present.
pub fn roc_auc(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    same_len("roc_auc", y_true.len(), scores.len())?;
    if let Some(row) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::metric("roc_auc", format!("score at row {row} is NaN")));
    }
    let n_pos = y_true.iter().filter(|&&y| y).count();
    let n_neg = y_true.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(Error::metric("roc_auc", "undefined when only one class is present"));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average 1-based ranks over runs of equal scores.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j + 2) as f64 / 2.0;
        let positives = order[i..=j].iter().filter(|&&k| y_true[k]).count();
        rank_sum_pos += avg_rank * positives as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Ok((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// One-vs-rest ROC AUC of every class, from a row-major probability matrix.
///
/// # Errors
/// [`Error::Metric`] for malformed inputs or when a class is absent from
/// `y_true` (or is the only one present).
pub fn roc_auc_ovr(y_true: &[usize], probs: &[f64], n_classes: usize) -> Result<Vec<f64>> {
    check_probabilities("roc_auc", probs, y_true.len(), n_classes)?;
    check_classes("roc_auc", y_true, n_classes)?;
    (0..n_classes)
        .map(|c| {
            let truth: Vec<bool> = y_true.iter().map(|&t| t == c).collect();
            let scores: Vec<f64> = probs.chunks(n_classes).map(|row| row[c]).collect();
            roc_auc(&truth, &scores).map_err(|e| Error::metric("roc_auc", format!("class {c}: {e}")))
        })
        .collect()
}

/// Macro average of [`roc_auc_ovr`].
///
/// # Errors
/// As [`roc_auc_ovr`].
pub fn roc_auc_ovr_macro(y_true: &[usize], probs: &[f64], n_classes: usize) -> Result<f64> {
    let per_class = roc_auc_ovr(y_true, probs, n_classes)?;
    Ok(per_class.iter().sum::<f64>() / per_class.len() as f64)
}

/// Mean negative log probability of the true class (probabilities clipped
/// to [`LOG_LOSS_EPS`], `1 - LOG_LOSS_EPS`).
///
/// # Errors
/// [`Error::Metric`] for malformed inputs.
pub fn log_loss(y_true: &[usize], probs: &[f64], n_classes: usize) -> Result<f64> {
    if y_true.is_empty() {
        return Err(Error::metric("log_loss", "no rows"));
    }
    check_probabilities("log_loss", probs, y_true.len(), n_classes)?;
    check_classes("log_loss", y_true, n_classes)?;
    let total: f64 = y_true
        .iter()
        .zip(probs.chunks(n_classes))
        .map(|(&t, row)| -row[t].clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln())
        .sum();
    Ok(total / y_true.len() as f64)
}

fn check_finite(metric: &'static str, values: &[f64]) -> Result<()> {
    if let Some(row) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::metric(metric, format!("value at row {row} is {}", values[row])));
    }
    Ok(())
}

fn regression_inputs(metric: &'static str, y_true: &[f64], y_pred: &[f64]) -> Result<()> {
    same_len(metric, y_true.len(), y_pred.len())?;
    check_finite(metric, y_true)?;
    check_finite(metric, y_pred)
}

/// Root mean squared error.
///
/// # Errors
/// [`Error::Metric`] for empty, mismatched or non-finite inputs.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    regression_inputs("rmse", y_true, y_pred)?;
    let sq: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p)).sum();
    Ok((sq / y_true.len() as f64).sqrt())
}

/// Mean absolute error.
///
/// # Errors
/// As [`rmse`].
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    regression_inputs("mae", y_true, y_pred)?;
    let abs: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs()).sum();
    Ok(abs / y_true.len() as f64)
}

/// Coefficient of determination `1 - SS_res / SS_tot`; `None` when the truths
/// are constant (`SS_tot = 0`).
///
/// # Errors
/// As [`rmse`].
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<Option<f64>> {
    regression_inputs("r2", y_true, y_pred)?;
    let mean = y_true.iter().sum::<f64>() / y_true.len() as f64;
    let ss_tot: f64 = y_true.iter().map(|t| (t - mean) * (t - mean)).sum();
    let ss_res: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p)).sum();
    Ok((ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot))
}

/// Per-class scores with the class name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// Class name (or its index as text when unnamed).
    pub class: String,
    /// Precision, recall, F1, support.
    #[serde(flatten)]
    pub scores: ClassScores,
}

/// Every classification metric for one set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClassificationReport {
    /// Rows evaluated.
    pub rows: usize,
    /// Fraction of correct argmax predictions.
    pub accuracy: f64,
    /// Macro-averaged precision, recall and F1.
    pub macro_avg: ClassScores,
    /// Per-class precision, recall, F1 and support.
    pub per_class: Vec<ClassReport>,
    /// Binary ROC AUC (positive class 1), or one-vs-rest macro AUC for more
    /// classes; `None` when a class is absent.
    pub roc_auc: Option<f64>,
    /// Mean negative log likelihood of the true class.
    pub log_loss: f64,
    /// Calibration: ECE, Brier score, reliability curve (binary: of the
    /// positive-class probability; multi-class: of the top-label confidence,
    /// with the multi-class Brier score).
    pub calibration: Calibration,
    /// Confusion matrix, true classes as rows.
    pub confusion: ConfusionMatrix,
}

impl ClassificationReport {
    /// Computes the report from true classes and a row-major probability
    /// matrix (`rows x n_classes`); `class_names` may be empty.
    ///
    /// ```
    /// use kiln_train::metrics::ClassificationReport;
    /// let probs = [0.9, 0.1, 0.3, 0.7, 0.6, 0.4, 0.2, 0.8];
    /// let r = ClassificationReport::new(&[0, 1, 1, 1], &probs, 2, &[])?;
    /// assert_eq!(r.accuracy, 0.75);
    /// assert_eq!(r.roc_auc, Some(1.0));
    /// assert_eq!(r.per_class[1].class, "1");
    /// # Ok::<(), kiln_train::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Metric`] for malformed inputs, or class names that do not
    /// match `n_classes`.
    pub fn new(y_true: &[usize], probs: &[f64], n_classes: usize, class_names: &[String]) -> Result<Self> {
        if y_true.is_empty() {
            return Err(Error::metric("classification", "no rows"));
        }
        check_probabilities("classification", probs, y_true.len(), n_classes)?;
        check_classes("classification", y_true, n_classes)?;
        if !class_names.is_empty() && class_names.len() != n_classes {
            return Err(Error::metric(
                "classification",
                format!("{} class names for {n_classes} classes", class_names.len()),
            ));
        }
        let y_pred: Vec<usize> = probs.chunks(n_classes).map(argmax).collect();
        let confusion = ConfusionMatrix::new(y_true, &y_pred, n_classes)?;
        let scores = confusion.per_class();
        let (roc_auc, calibration) = if n_classes == 2 {
            let truth: Vec<bool> = y_true.iter().map(|&t| t == 1).collect();
            let p1: Vec<f64> = probs.chunks(2).map(|row| row[1]).collect();
            (
                roc_auc(&truth, &p1).ok(),
                calibration::binary(&truth, &p1, calibration::DEFAULT_BINS)?,
            )
        } else {
            (
                roc_auc_ovr_macro(y_true, probs, n_classes).ok(),
                calibration::top_label(y_true, probs, n_classes, calibration::DEFAULT_BINS)?,
            )
        };
        Ok(Self {
            rows: y_true.len(),
            accuracy: accuracy(y_true, &y_pred)?,
            macro_avg: macro_average(&scores),
            per_class: scores
                .into_iter()
                .enumerate()
                .map(|(i, scores)| ClassReport {
                    class: class_names.get(i).cloned().unwrap_or_else(|| i.to_string()),
                    scores,
                })
                .collect(),
            roc_auc,
            log_loss: log_loss(y_true, probs, n_classes)?,
            calibration,
            confusion,
        })
    }
}

/// Every regression metric for one set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegressionReport {
    /// Rows evaluated.
    pub rows: usize,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination (`None` for constant truths).
    pub r2: Option<f64>,
}

impl RegressionReport {
    /// Computes the report.
    ///
    /// # Errors
    /// As [`rmse`].
    pub fn new(y_true: &[f64], y_pred: &[f64]) -> Result<Self> {
        Ok(Self {
            rows: y_true.len(),
            rmse: rmse(y_true, y_pred)?,
            mae: mae(y_true, y_pred)?,
            r2: r2(y_true, y_pred)?,
        })
    }
}

/// A classification or regression report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Evaluation {
    /// Classification metrics.
    Classification(ClassificationReport),
    /// Regression metrics.
    Regression(RegressionReport),
}

impl Evaluation {
    /// Every metric of `predictions` against `targets`, with the class names
    /// of `spec`: a [`ClassificationReport`] for class targets, a
    /// [`RegressionReport`] for values.
    ///
    /// # Errors
    /// [`Error::Metric`] when the predictions and targets are of different
    /// tasks or do not fit together.
    pub fn of(spec: &ModelSpec, predictions: &Predictions, targets: &Targets) -> Result<Self> {
        match (targets, predictions.probabilities(), predictions.values()) {
            (Targets::Classes { labels, classes }, Some(probs), _) => Ok(Self::Classification(
                ClassificationReport::new(labels, probs, classes.len(), &spec.class_names)?,
            )),
            (Targets::Values(truth), _, Some(values)) => {
                let truth: Vec<f64> = truth.iter().map(|&v| f64::from(v)).collect();
                Ok(Self::Regression(RegressionReport::new(&truth, values)?))
            }
            _ => Err(Error::metric(
                "evaluation",
                "targets and predictions are of different tasks",
            )),
        }
    }

    /// The scalar metrics as `name -> value` (`accuracy`, `f1_macro`,
    /// `roc_auc`, `log_loss`, `ece`, `brier`, `rmse`, `mae`, `r2`, ...),
    /// for run comparison; undefined metrics are left out.
    #[must_use]
    pub fn scalars(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        match self {
            Evaluation::Classification(r) => {
                m.insert("accuracy".into(), r.accuracy);
                m.insert("precision_macro".into(), r.macro_avg.precision);
                m.insert("recall_macro".into(), r.macro_avg.recall);
                m.insert("f1_macro".into(), r.macro_avg.f1);
                if let Some(auc) = r.roc_auc {
                    m.insert("roc_auc".into(), auc);
                }
                m.insert("log_loss".into(), r.log_loss);
                m.insert("ece".into(), r.calibration.ece);
                m.insert("brier".into(), r.calibration.brier);
            }
            Evaluation::Regression(r) => {
                m.insert("rmse".into(), r.rmse);
                m.insert("mae".into(), r.mae);
                if let Some(r2) = r.r2 {
                    m.insert("r2".into(), r2);
                }
            }
        }
        m
    }
}

/// Metrics of one slice (rows sharing a value of the slice feature).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// The feature value (`"<null>"` for missing).
    pub value: String,
    /// Rows in the slice.
    pub rows: usize,
    /// The slice's metrics.
    pub evaluation: Evaluation,
}

/// Metrics per value of a categorical feature (e.g. per `island`), sorted by value.
///
/// ```
/// use kiln_train::metrics::SliceReport;
/// let keys = ["a", "a", "b", "b"];
/// let probs = [0.8, 0.2, 0.4, 0.6, 0.3, 0.7, 0.9, 0.1];
/// let r = SliceReport::classification("island", &keys, &[0, 1, 1, 1], &probs, 2, &[])?;
/// assert_eq!(r.slices.len(), 2);
/// assert_eq!(r.slices[1].value, "b");
/// assert_eq!(r.slices[1].rows, 2);
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceReport {
    /// The slice feature.
    pub feature: String,
    /// One entry per distinct value.
    pub slices: Vec<Slice>,
}

fn group_rows<S: AsRef<str>>(keys: &[S]) -> BTreeMap<&str, Vec<usize>> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (row, key) in keys.iter().enumerate() {
        groups.entry(key.as_ref()).or_default().push(row);
    }
    groups
}

impl SliceReport {
    /// Classification metrics per slice; `keys[i]` is row `i`'s slice (see
    /// [`crate::data::slice_keys`]).
    ///
    /// # Errors
    /// [`Error::Metric`] when `keys` and `y_true` differ in length, or as
    /// [`ClassificationReport::new`].
    pub fn classification<S: AsRef<str>>(
        feature: &str,
        keys: &[S],
        y_true: &[usize],
        probs: &[f64],
        n_classes: usize,
        class_names: &[String],
    ) -> Result<Self> {
        same_len("slices", keys.len(), y_true.len())?;
        check_probabilities("slices", probs, y_true.len(), n_classes)?;
        let slices = group_rows(keys)
            .into_iter()
            .map(|(value, rows)| {
                let t: Vec<usize> = rows.iter().map(|&r| y_true[r]).collect();
                let p: Vec<f64> = rows
                    .iter()
                    .flat_map(|&r| probs[r * n_classes..(r + 1) * n_classes].iter().copied())
                    .collect();
                Ok(Slice {
                    value: value.to_owned(),
                    rows: rows.len(),
                    evaluation: Evaluation::Classification(ClassificationReport::new(&t, &p, n_classes, class_names)?),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            feature: feature.to_owned(),
            slices,
        })
    }

    /// Regression metrics per slice.
    ///
    /// # Errors
    /// [`Error::Metric`] when the lengths differ, or as [`RegressionReport::new`].
    pub fn regression<S: AsRef<str>>(feature: &str, keys: &[S], y_true: &[f64], y_pred: &[f64]) -> Result<Self> {
        same_len("slices", keys.len(), y_true.len())?;
        same_len("slices", y_true.len(), y_pred.len())?;
        let slices = group_rows(keys)
            .into_iter()
            .map(|(value, rows)| {
                let t: Vec<f64> = rows.iter().map(|&r| y_true[r]).collect();
                let p: Vec<f64> = rows.iter().map(|&r| y_pred[r]).collect();
                Ok(Slice {
                    value: value.to_owned(),
                    rows: rows.len(),
                    evaluation: Evaluation::Regression(RegressionReport::new(&t, &p)?),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            feature: feature.to_owned(),
            slices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn precision_recall_f1_by_hand() {
        // true:  0 0 0 1 1 2
        // pred:  0 0 1 1 2 2
        let cm = ConfusionMatrix::new(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 3).unwrap();
        let s = cm.per_class();
        // class 0: tp 2, predicted 2, support 3
        close(s[0].precision, 1.0);
        close(s[0].recall, 2.0 / 3.0);
        close(s[0].f1, 0.8);
        // class 1: tp 1, predicted 2, support 2
        close(s[1].precision, 0.5);
        close(s[1].recall, 0.5);
        close(s[1].f1, 0.5);
        // class 2: tp 1, predicted 2, support 1
        close(s[2].precision, 0.5);
        close(s[2].recall, 1.0);
        close(s[2].f1, 2.0 / 3.0);
        let m = macro_average(&s);
        close(m.precision, 2.0 / 3.0);
        close(m.recall, (2.0 / 3.0 + 0.5 + 1.0) / 3.0);
        close(m.f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0);
        assert_eq!(m.support, 6);
    }

    #[test]
    fn never_predicted_class_scores_zero() {
        let cm = ConfusionMatrix::new(&[0, 1], &[0, 0], 2).unwrap();
        let s = cm.per_class();
        close(s[1].precision, 0.0);
        close(s[1].f1, 0.0);
        close(s[0].precision, 0.5);
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // positives 0.8 and 0.4; negatives 0.4 and 0.1:
        // pairs (0.8>0.4) (0.8>0.1) (0.4=0.4 -> 1/2) (0.4>0.1) = 3.5 / 4
        close(
            roc_auc(&[true, true, false, false], &[0.8, 0.4, 0.4, 0.1]).unwrap(),
            0.875,
        );
        close(roc_auc(&[true, false], &[0.1, 0.9]).unwrap(), 0.0);
        assert!(roc_auc(&[true, true], &[0.1, 0.9]).is_err());
        assert!(roc_auc(&[true, false], &[f64::NAN, 0.9]).is_err());
    }

    #[test]
    fn ovr_auc_by_hand() {
        let y = [0, 1, 2, 2];
        let p = [
            0.7, 0.2, 0.1, //
            0.2, 0.5, 0.3, //
            0.1, 0.3, 0.6, //
            0.5, 0.1, 0.4,
        ];
        let per = roc_auc_ovr(&y, &p, 3).unwrap();
        close(per[0], 1.0); // 0.7 beats 0.2, 0.1, 0.5
        close(per[1], 1.0); // 0.5 beats 0.2, 0.3, 0.1
        // class 2 positives 0.6, 0.4 vs negatives 0.1, 0.3: all 4 pairs won
        close(per[2], 1.0);
        let p2 = [0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 0.1, 0.3, 0.6, 0.5, 0.1, 0.4];
        // class 0: positive 0.2 vs 0.6, 0.1, 0.5 -> 1/3
        close(roc_auc_ovr(&y, &p2, 3).unwrap()[0], 1.0 / 3.0);
        assert!(roc_auc_ovr_macro(&[0, 0, 1, 1], &[0.5; 8][..], 2).is_ok());
        assert!(roc_auc_ovr(&[0, 0, 1, 1], &[0.3; 12], 3).is_err());
    }

    #[test]
    fn log_loss_by_hand() {
        let l = log_loss(&[0, 1], &[0.8, 0.2, 0.4, 0.6], 2).unwrap();
        close(l, -(0.8f64.ln() + 0.6f64.ln()) / 2.0);
        let clipped = log_loss(&[0], &[0.0, 1.0], 2).unwrap();
        close(clipped, -LOG_LOSS_EPS.ln());
        assert!(log_loss(&[0], &[1.2, -0.2], 2).is_err());
        assert!(log_loss(&[2], &[0.5, 0.5], 2).is_err());
    }

    #[test]
    fn regression_by_hand() {
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        close(mae(&t, &p).unwrap(), 0.5);
        close(rmse(&t, &p).unwrap(), (1.5f64 / 4.0).sqrt());
        // scikit-learn's r2_score docstring example: 0.948...
        close(r2(&t, &p).unwrap().unwrap(), 1.0 - 1.5 / 29.1875);
        assert_eq!(r2(&[1.0, 1.0], &[1.0, 2.0]).unwrap(), None);
        assert!(rmse(&[1.0], &[f64::NAN]).is_err());
        assert!(rmse(&[], &[]).is_err());
        assert!(mae(&[1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn report_scalars_and_slices() {
        let probs = [0.9, 0.1, 0.3, 0.7, 0.6, 0.4, 0.2, 0.8];
        let names = vec!["no".to_owned(), "yes".to_owned()];
        let r = ClassificationReport::new(&[0, 1, 1, 1], &probs, 2, &names).unwrap();
        let s = Evaluation::Classification(r.clone()).scalars();
        close(s["accuracy"], 0.75);
        close(s["roc_auc"], 1.0);
        assert_eq!(r.per_class[0].class, "no");
        let sl = SliceReport::classification("k", &["x", "y", "x", "y"], &[0, 1, 1, 1], &probs, 2, &names).unwrap();
        let Evaluation::Classification(x) = &sl.slices[0].evaluation else {
            panic!("classification")
        };
        // slice x = rows 0 (true 0, predicted 0) and 2 (true 1, predicted 0)
        close(x.accuracy, 0.5);
        assert_eq!(sl.slices[1].rows, 2);
        let reg = SliceReport::regression("k", &["a", "b", "a"], &[1.0, 2.0, 3.0], &[1.0, 2.5, 2.0]).unwrap();
        let Evaluation::Regression(a) = &reg.slices[0].evaluation else {
            panic!("regression")
        };
        close(a.mae, 0.5);
        assert!(SliceReport::regression("k", &["a"], &[1.0, 2.0], &[1.0, 2.0]).is_err());
    }

    proptest! {
        #[test]
        fn auc_matches_pair_counting(
            rows in proptest::collection::vec((any::<bool>(), 0u8..10), 2..40)
        ) {
            let y: Vec<bool> = rows.iter().map(|r| r.0).collect();
            let s: Vec<f64> = rows.iter().map(|r| f64::from(r.1) / 10.0).collect();
            let pos: Vec<f64> = y.iter().zip(&s).filter(|(y, _)| **y).map(|(_, s)| *s).collect();
            let neg: Vec<f64> = y.iter().zip(&s).filter(|(y, _)| !**y).map(|(_, s)| *s).collect();
            prop_assume!(!pos.is_empty() && !neg.is_empty());
            let mut wins = 0.0;
            for p in &pos {
                for n in &neg {
                    wins += if p > n { 1.0 } else if p == n { 0.5 } else { 0.0 };
                }
            }
            let expected = wins / (pos.len() * neg.len()) as f64;
            prop_assert!((roc_auc(&y, &s).unwrap() - expected).abs() < 1e-12);
        }

        #[test]
        fn accuracy_equals_confusion_trace(
            pairs in proptest::collection::vec((0usize..4, 0usize..4), 1..50)
        ) {
            let t: Vec<usize> = pairs.iter().map(|p| p.0).collect();
            let p: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            let cm = ConfusionMatrix::new(&t, &p, 4).unwrap();
            let trace: u64 = (0..4).map(|c| cm.get(c, c)).sum();
            prop_assert!((accuracy(&t, &p).unwrap() - trace as f64 / t.len() as f64).abs() < 1e-12);
        }
    }
}
