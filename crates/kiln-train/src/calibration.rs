//! Probability calibration: expected calibration error (ECE), Brier score
//! and reliability-curve data.
//!
//! Bins are equal-width over [0, 1]: bin `b` of `n` holds confidences in
//! `[b/n, (b+1)/n)`, and a confidence of exactly 1 falls in the last bin.
//! ECE is `sum_b (n_b / N) * |accuracy_b - confidence_b|`.
//!
//! ```
//! use kiln_train::calibration;
//! let c = calibration::binary(&[false, true, true, true], &[0.1, 0.62, 0.65, 0.95], 10)?;
//! assert_eq!(c.bins.len(), 10);
//! assert_eq!(c.bins[6].count, 2); // 0.62 and 0.65
//! assert!((c.brier - (0.01 + 0.1444 + 0.1225 + 0.0025) / 4.0).abs() < 1e-12);
//! # Ok::<(), kiln_train::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::metrics::check_probabilities;
use crate::model::argmax;
use crate::{Error, Result};

/// The number of bins Kiln reports by default.
pub const DEFAULT_BINS: usize = 10;

/// One bin of a reliability curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive, except for the last bin).
    pub upper: f64,
    /// Rows whose confidence falls in the bin.
    pub count: usize,
    /// Mean confidence in the bin (`None` when empty).
    pub mean_confidence: Option<f64>,
    /// Observed frequency of the event (positive class, or top label
    /// correct) in the bin (`None` when empty).
    pub observed: Option<f64>,
}

/// Calibration summary of a set of probabilistic predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Expected calibration error over the bins.
    pub ece: f64,
    /// Brier score: mean squared difference between the probability vector
    /// and the one-hot truth (binary: `(p - y)^2`).
    pub brier: f64,
    /// The reliability curve.
    pub bins: Vec<ReliabilityBin>,
}

/// Bins `(confidence, hit)` pairs and computes the ECE.
fn reliability(confidence: &[f64], hit: &[bool], n_bins: usize) -> (f64, Vec<ReliabilityBin>) {
    let mut counts = vec![0usize; n_bins];
    let mut conf_sum = vec![0.0f64; n_bins];
    let mut hit_sum = vec![0.0f64; n_bins];
    for (&c, &h) in confidence.iter().zip(hit) {
        let b = ((c * n_bins as f64) as usize).min(n_bins - 1);
        counts[b] += 1;
        conf_sum[b] += c;
        hit_sum[b] += if h { 1.0 } else { 0.0 };
    }
    let n = confidence.len() as f64;
    let mut ece = 0.0;
    let bins = (0..n_bins)
        .map(|b| {
            let (mean_confidence, observed) = if counts[b] == 0 {
                (None, None)
            } else {
                let k = counts[b] as f64;
                let (c, o) = (conf_sum[b] / k, hit_sum[b] / k);
                ece += k / n * (o - c).abs();
                (Some(c), Some(o))
            };
            ReliabilityBin {
                lower: b as f64 / n_bins as f64,
                upper: (b + 1) as f64 / n_bins as f64,
                count: counts[b],
                mean_confidence,
                observed,
            }
        })
        .collect();
    (ece, bins)
}

fn check_bins(n_bins: usize) -> Result<()> {
    if n_bins == 0 {
        return Err(Error::metric("calibration", "n_bins must be > 0"));
    }
    Ok(())
}

/// Calibration of the positive-class probability `p` against `y_true`.
///
/// # Errors
/// [`Error::Metric`] for empty or mismatched inputs, a probability outside
/// [0, 1], or `n_bins == 0`.
pub fn binary(y_true: &[bool], p: &[f64], n_bins: usize) -> Result<Calibration> {
    check_bins(n_bins)?;
    if y_true.len() != p.len() || y_true.is_empty() {
        return Err(Error::metric(
            "calibration",
            format!("{} truths and {} probabilities", y_true.len(), p.len()),
        ));
    }
    if let Some(row) = p.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(Error::metric(
            "calibration",
            format!("probability {} at row {row} is outside [0, 1]", p[row]),
        ));
    }
    let brier = y_true
        .iter()
        .zip(p)
        .map(|(&y, &p)| (p - if y { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / p.len() as f64;
    let (ece, bins) = reliability(p, y_true, n_bins);
    Ok(Calibration { ece, brier, bins })
}

/// Calibration of the top-label confidence of a multi-class model: each row's
/// highest probability against whether that class is the true one. The
/// Brier score is the multi-class one, summed over classes.
///
/// # Errors
/// [`Error::Metric`] for malformed probabilities or a class `>= n_classes`.
pub fn top_label(y_true: &[usize], probs: &[f64], n_classes: usize, n_bins: usize) -> Result<Calibration> {
    check_bins(n_bins)?;
    if y_true.is_empty() {
        return Err(Error::metric("calibration", "no rows"));
    }
    check_probabilities("calibration", probs, y_true.len(), n_classes)?;
    if let Some(row) = y_true.iter().position(|&t| t >= n_classes) {
        return Err(Error::metric(
            "calibration",
            format!("class {} at row {row} is not below {n_classes}", y_true[row]),
        ));
    }
    let mut confidence = Vec::with_capacity(y_true.len());
    let mut hit = Vec::with_capacity(y_true.len());
    let mut brier = 0.0;
    for (&t, row) in y_true.iter().zip(probs.chunks(n_classes)) {
        let top = argmax(row);
        confidence.push(row[top]);
        hit.push(top == t);
        brier += row
            .iter()
            .enumerate()
            .map(|(c, &p)| (p - if c == t { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>();
    }
    let (ece, bins) = reliability(&confidence, &hit, n_bins);
    Ok(Calibration {
        ece,
        brier: brier / y_true.len() as f64,
        bins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn binary_ece_by_hand() {
        // bin 1 [0.1, 0.2): p 0.1, 0.15 with y 0, 1 -> conf 0.125, observed 0.5
        // bin 8 [0.8, 0.9): p 0.8, 0.85 with y 1, 1 -> conf 0.825, observed 1.0
        let y = [false, true, true, true];
        let p = [0.1, 0.15, 0.8, 0.85];
        let c = binary(&y, &p, 10).unwrap();
        close(c.ece, 0.5 * (0.5 - 0.125) + 0.5 * (1.0 - 0.825));
        assert_eq!(c.bins[1].count, 2);
        close(c.bins[1].mean_confidence.unwrap(), 0.125);
        close(c.bins[8].observed.unwrap(), 1.0);
        assert_eq!(c.bins[0].mean_confidence, None);
        close(c.brier, (0.01 + 0.7225 + 0.04 + 0.0225) / 4.0);
    }

    #[test]
    fn edges_go_to_the_right_bins() {
        let c = binary(&[true, false, true], &[1.0, 0.0, 0.5], 10).unwrap();
        assert_eq!(c.bins[9].count, 1);
        assert_eq!(c.bins[0].count, 1);
        assert_eq!(c.bins[5].count, 1);
        close(c.ece, (0.0 + 0.0 + 0.5) / 3.0);
    }

    #[test]
    fn perfectly_confident_and_right_is_calibrated() {
        let c = top_label(&[0, 2], &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0], 3, 10).unwrap();
        close(c.ece, 0.0);
        close(c.brier, 0.0);
    }

    #[test]
    fn top_label_by_hand() {
        // row 0: top 0.6 (class 0), true 0 -> hit; row 1: top 0.7 (class 1), true 2 -> miss
        let probs = [0.6, 0.3, 0.1, 0.2, 0.7, 0.1];
        let c = top_label(&[0, 2], &probs, 3, 10).unwrap();
        close(c.ece, 0.5 * (1.0 - 0.6) + 0.5 * 0.7);
        let b0 = 0.16 + 0.09 + 0.01;
        let b1 = 0.04 + 0.49 + 0.81;
        close(c.brier, (b0 + b1) / 2.0);
        assert!(top_label(&[3], &[0.5, 0.5, 0.0], 3, 10).is_err());
        assert!(binary(&[true], &[0.5], 0).is_err());
        assert!(binary(&[true], &[1.5], 10).is_err());
    }
}
