//! The model card: `MODEL_CARD.md` for people, and its machine-readable part
//! in `manifest.json` (`card`).
//!
//! A [`ModelCard`] holds what only its owner can say (intended use,
//! limitations, owner) and what the training run measured (training data
//! source and digests, overall metrics, per-slice metrics, calibration).
//! [`BundleWriter`](crate::bundle::BundleWriter) fills the measured part from
//! the run record and renders `MODEL_CARD.md` with [`render_markdown`].
//!
//! ```
//! use kiln_artifact::card::ModelCard;
//! let card = ModelCard::new()
//!     .with_intended_use("Rank support tickets for triage; not for automated closing.")
//!     .with_owner("ml-platform@example.com")
//!     .with_limitation("Trained on English tickets only.");
//! assert_eq!(card.limitations.len(), 1);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kiln_core::Digest;
use kiln_train::RunRecord;
use kiln_train::calibration::ReliabilityBin;
use kiln_train::metrics::{Evaluation, SliceReport};
use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;

/// Where the training data came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainingData {
    /// The source file or table, as the trainer was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// SHA-256 of the source file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<Digest>,
    /// SHA-256 of the exact feature matrix and targets trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_sha256: Option<Digest>,
    /// Rows in the training data set (training and validation splits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// The label feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The metrics of one slice (rows sharing a value of a feature).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SliceMetrics {
    /// The slice feature.
    pub feature: String,
    /// The feature's value.
    pub value: String,
    /// Rows in the slice.
    pub rows: usize,
    /// Scalar metrics ([`Evaluation::scalars`]).
    pub metrics: BTreeMap<String, f64>,
}

/// How well the predicted probabilities match observed frequencies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CalibrationSummary {
    /// The split measured: `test`, `validation` or `train`.
    pub split: String,
    /// Expected calibration error.
    pub ece: f64,
    /// Brier score.
    pub brier: f64,
    /// The reliability curve.
    pub bins: Vec<ReliabilityBin>,
}

/// The measured part of the card.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CardMetrics {
    /// Overall metrics, flattened as in the run record (`validation.accuracy`, ...).
    #[serde(default)]
    pub overall: BTreeMap<String, f64>,
    /// Metrics per slice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SliceMetrics>,
    /// Calibration of the most held-out split measured (classifiers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationSummary>,
}

/// A model card. See the [module documentation](self).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelCard {
    /// What the model is for and not for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_use: Option<String>,
    /// Who answers for the model (a person, team or address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Known limitations, one per entry.
    #[serde(default)]
    pub limitations: Vec<String>,
    /// Where the training data came from.
    #[serde(default)]
    pub training_data: TrainingData,
    /// What was measured.
    #[serde(default)]
    pub metrics: CardMetrics,
}

impl ModelCard {
    /// An empty card.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Says what the model is for (and not for).
    #[must_use]
    pub fn with_intended_use(mut self, text: impl Into<String>) -> Self {
        self.intended_use = Some(text.into());
        self
    }

    /// Names the owner.
    #[must_use]
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Adds a known limitation.
    #[must_use]
    pub fn with_limitation(mut self, text: impl Into<String>) -> Self {
        self.limitations.push(text.into());
        self
    }

    /// Adds the metrics of every slice of `report` (non-finite values are left out).
    #[must_use]
    pub fn with_slices(mut self, report: &SliceReport) -> Self {
        self.metrics.slices.extend(report.slices.iter().map(|s| SliceMetrics {
            feature: report.feature.clone(),
            value: s.value.clone(),
            rows: s.rows,
            metrics: finite(s.evaluation.scalars()),
        }));
        self
    }

    /// Fills what the run measured and the card does not say yet: training
    /// data, overall metrics and calibration (of the test split if there is
    /// one, else validation, else train).
    #[must_use]
    pub fn with_run(mut self, run: &RunRecord) -> Self {
        let data = &mut self.training_data;
        data.source = data.source.take().or_else(|| run.data.source.clone());
        data.source_sha256 = data.source_sha256.or(run.data.source_sha256);
        data.matrix_sha256 = data.matrix_sha256.or(Some(run.data.matrix_sha256));
        data.rows = data.rows.or(Some(run.data.rows));
        data.label = data.label.take().or_else(|| run.data.label.clone());
        if self.metrics.overall.is_empty() {
            self.metrics.overall = finite(run.metrics.clone());
        }
        if self.metrics.calibration.is_none() {
            let splits = [
                ("test", run.test_evaluation.as_ref()),
                ("validation", run.validation_evaluation.as_ref()),
                ("train", Some(&run.train_evaluation)),
            ];
            self.metrics.calibration = splits.into_iter().find_map(|(split, e)| match e? {
                Evaluation::Classification(r) if r.calibration.ece.is_finite() && r.calibration.brier.is_finite() => {
                    Some(CalibrationSummary {
                        split: split.to_owned(),
                        ece: r.calibration.ece,
                        brier: r.calibration.brier,
                        bins: r.calibration.bins.clone(),
                    })
                }
                _ => None,
            });
        }
        self
    }
}

/// JSON has no NaN or infinity: metrics that are not finite are left out.
fn finite(metrics: BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    metrics.into_iter().filter(|(_, v)| v.is_finite()).collect()
}

/// Renders `MODEL_CARD.md` from a manifest and its card.
///
/// The card is part of the signed bundle, so it cannot hold the bundle
/// digest (the digest of the signed files); it names the schema, pipeline
/// and training-data digests instead.
#[must_use]
pub fn render_markdown(manifest: &Manifest) -> String {
    let card = &manifest.card;
    let mut md = String::new();
    let title = match (&manifest.name, manifest.version) {
        (Some(n), Some(v)) => format!("{n} v{v}"),
        (Some(n), None) => n.to_string(),
        _ => manifest.model.family.clone(),
    };
    let m = &manifest.model;
    // Writing to a String cannot fail: the results are ignored.
    let _ = writeln!(md, "# Model card: {title}\n");
    let _ = writeln!(md, "## Model details\n");
    let _ = writeln!(
        md,
        "- Family: `{}` ({} parameters, {} weights)",
        m.family, m.parameters, m.dtype
    );
    let _ = writeln!(md, "- Task: {}", task_text(manifest));
    let _ = writeln!(
        md,
        "- Inputs: {} features, {} model inputs after the fitted pipeline",
        manifest.signature.inputs.len(),
        m.n_inputs
    );
    let _ = writeln!(md, "- Trained on backend: `{}`", m.backend);
    let _ = writeln!(
        md,
        "- Written: {} by Kiln {}",
        manifest.created_at, manifest.kiln_version
    );
    let _ = writeln!(md, "- Schema digest: `{}`", manifest.digests.schema);
    let _ = writeln!(md, "- Pipeline digest: `{}`", manifest.digests.pipeline);
    let _ = writeln!(md, "- Owner: {}\n", card.owner.as_deref().unwrap_or("_not stated_"));

    let _ = writeln!(md, "## Intended use\n");
    let _ = writeln!(md, "{}\n", card.intended_use.as_deref().unwrap_or("_Not stated._"));

    let _ = writeln!(md, "## Inputs\n");
    let _ = writeln!(md, "| feature | type | nullable |\n|---|---|---|");
    for f in &manifest.signature.inputs {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            cell(&f.name),
            f.dtype,
            if f.nullable { "yes" } else { "no" }
        );
    }
    md.push('\n');

    let d = &card.training_data;
    let _ = writeln!(md, "## Training data\n");
    let _ = writeln!(
        md,
        "- Source: {}",
        d.source
            .as_deref()
            .map_or_else(|| "_not recorded_".to_owned(), |s| format!("`{s}`"))
    );
    if let Some(s) = &d.source_sha256 {
        let _ = writeln!(md, "- Source digest: `{s}`");
    }
    if let Some(s) = &d.matrix_sha256 {
        let _ = writeln!(md, "- Training matrix digest: `{s}`");
    }
    if let Some(r) = d.rows {
        let _ = writeln!(md, "- Rows: {r}");
    }
    if let Some(l) = &d.label {
        let _ = writeln!(md, "- Label: `{l}`");
    }
    md.push('\n');

    let _ = writeln!(md, "## Metrics\n");
    if card.metrics.overall.is_empty() {
        let _ = writeln!(md, "_No metrics recorded._\n");
    } else {
        let _ = writeln!(md, "| metric | value |\n|---|---|");
        for (k, v) in &card.metrics.overall {
            let _ = writeln!(md, "| {} | {v:.4} |", cell(k));
        }
        md.push('\n');
    }
    if !card.metrics.slices.is_empty() {
        let _ = writeln!(md, "### Per slice\n");
        let _ = writeln!(md, "| feature | value | rows | metrics |\n|---|---|---|---|");
        for s in &card.metrics.slices {
            let metrics: Vec<String> = s.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&s.feature),
                cell(&s.value),
                s.rows,
                cell(&metrics.join(", "))
            );
        }
        md.push('\n');
    }
    if let Some(c) = &card.metrics.calibration {
        let _ = writeln!(md, "### Calibration ({} split)\n", c.split);
        let _ = writeln!(md, "ECE {:.4}, Brier score {:.4}.\n", c.ece, c.brier);
        let _ = writeln!(
            md,
            "| confidence | rows | mean confidence | observed |\n|---|---|---|---|"
        );
        for b in c.bins.iter().filter(|b| b.count > 0) {
            let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
            let _ = writeln!(
                md,
                "| {:.1}-{:.1} | {} | {} | {} |",
                b.lower,
                b.upper,
                b.count,
                opt(b.mean_confidence),
                opt(b.observed)
            );
        }
        md.push('\n');
    }

    let _ = writeln!(md, "## Limitations\n");
    if card.limitations.is_empty() {
        let _ = writeln!(
            md,
            "_None recorded. The owner should list known limitations (populations, ranges, failure modes) before publishing._"
        );
    } else {
        for l in &card.limitations {
            let _ = writeln!(md, "- {}", l.replace('\n', " "));
        }
    }
    md
}

fn task_text(manifest: &Manifest) -> String {
    let classes = manifest
        .signature
        .outputs
        .iter()
        .find_map(|o| o.categories.as_ref())
        .map(|c| {
            format!(
                " ({})",
                c.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            )
        })
        .unwrap_or_default();
    match manifest.model.task.n_classes() {
        None => "regression".to_owned(),
        Some(2) => format!("binary classification{classes}"),
        Some(k) => format!("{k}-class classification{classes}"),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_keep_finite_scalars() {
        let keys = ["a", "a", "b", "b"];
        let probs = [0.8, 0.2, 0.4, 0.6, 0.3, 0.7, 0.9, 0.1];
        let report = SliceReport::classification("island", &keys, &[0, 1, 1, 1], &probs, 2, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let card = ModelCard::new().with_slices(&report);
        assert_eq!(card.metrics.slices.len(), 2);
        assert_eq!(card.metrics.slices[1].value, "b");
        assert!(
            card.metrics
                .slices
                .iter()
                .all(|s| s.metrics.values().all(|v| v.is_finite()))
        );
        assert!(card.metrics.slices[0].metrics.contains_key("accuracy"));
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
