//! Severities and alerts derived from validation reports.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::report::{FeatureReport, ValidationReport};
use crate::violation::ViolationKind;

/// How urgent an alert is, from `P0` (act now) to `P3` (for information).
///
/// | severity | meaning | examples |
/// |---|---|---|
/// | `P0` critical | the data no longer matches the contract; predictions are unreliable; page someone | missing or unexpected feature, wrong type, null-rate spike |
/// | `P1` high | values the model cannot use meaningfully reach it; fix within the day | null in a non-nullable feature, unknown category, NaN/infinity |
/// | `P2` medium | values outside what the model was built for; investigate | below min, above max |
/// | `P3` info | worth knowing, no action needed | values fixed by coercion |
///
/// Severities order from most to least severe: `P0 < P1 < P2 < P3`, so
/// sorting alerts puts the most urgent first.
///
/// ```
/// use kiln_validate::Severity;
/// assert!(Severity::P0 < Severity::P2);
/// assert!(Severity::P0.is_at_least(Severity::P1));
/// assert_eq!(Severity::P1.to_string(), "P1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// Critical: act now.
    P0,
    /// High: fix soon.
    P1,
    /// Medium: investigate.
    P2,
    /// Information.
    P3,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Self; 4] = [Self::P0, Self::P1, Self::P2, Self::P3];

    /// `"P0"` .. `"P3"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::P0 => "P0",
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
        }
    }

    /// A one-word description (`"critical"`, `"high"`, `"medium"`, `"info"`).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::P0 => "critical",
            Self::P1 => "high",
            Self::P2 => "medium",
            Self::P3 => "info",
        }
    }

    /// Whether `self` is as severe as `other` or more.
    #[must_use]
    pub fn is_at_least(self, other: Self) -> bool {
        self <= other
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a report fact becomes an [`Alert`].
///
/// Schema mismatches (missing, unexpected, wrong type) alert at any count;
/// other violations when their rate exceeds `violation_rate`; a null-rate
/// spike when the null rate exceeds the baseline's by more than
/// `null_rate_increase`; coercions when their rate exceeds `coerced_rate`.
///
/// ```
/// use kiln_validate::AlertThresholds;
/// let t = AlertThresholds::default().with_null_rate_increase(0.02).with_violation_rate(0.001);
/// assert_eq!(t.null_rate_increase, 0.02);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlertThresholds {
    /// Largest allowed rise of a feature's null rate over the baseline's, as
    /// a fraction (0.05 = five percentage points). Default 0.05.
    pub null_rate_increase: f64,
    /// Largest rate of a P1/P2 violation kind that does not alert. Default 0
    /// (any violation alerts).
    pub violation_rate: f64,
    /// Largest rate of coerced values that does not alert. Default 0.01.
    pub coerced_rate: f64,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            null_rate_increase: 0.05,
            violation_rate: 0.0,
            coerced_rate: 0.01,
        }
    }
}

impl AlertThresholds {
    /// Sets [`null_rate_increase`](Self::null_rate_increase).
    #[must_use]
    pub fn with_null_rate_increase(mut self, x: f64) -> Self {
        self.null_rate_increase = x;
        self
    }

    /// Sets [`violation_rate`](Self::violation_rate).
    #[must_use]
    pub fn with_violation_rate(mut self, x: f64) -> Self {
        self.violation_rate = x;
        self
    }

    /// Sets [`coerced_rate`](Self::coerced_rate).
    #[must_use]
    pub fn with_coerced_rate(mut self, x: f64) -> Self {
        self.coerced_rate = x;
        self
    }
}

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertKind {
    /// Violations of one kind.
    Violation(ViolationKind),
    /// The null rate rose above the baseline's.
    NullRateSpike,
    /// Values were fixed by coercion.
    Coerced,
}

impl AlertKind {
    /// The severity of alerts of this kind: a violation's
    /// [`ViolationKind::severity`]; null-rate spikes are `P0`; coercions `P3`.
    #[must_use]
    pub const fn severity(self) -> Severity {
        match self {
            Self::Violation(k) => k.severity(),
            Self::NullRateSpike => Severity::P0,
            Self::Coerced => Severity::P3,
        }
    }
}

/// One alert: a feature, a severity and a message saying what was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Alert {
    /// How urgent.
    pub severity: Severity,
    /// The feature (or unexpected field) concerned.
    pub feature: String,
    /// What the alert is about.
    pub kind: AlertKind,
    /// The observed rate (fraction of rows) behind the alert.
    pub rate: f64,
    /// A sentence naming the feature and the numbers.
    pub message: String,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} {}] {}", self.severity, self.severity.label(), self.message)
    }
}

#[allow(clippy::cast_precision_loss)]
fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

impl ValidationReport {
    /// The alerts this report raises, most severe first (then by feature).
    ///
    /// `baseline` is a report of data known to be good (usually the training
    /// set's); without it no null-rate spike can be detected.
    ///
    /// ```
    /// use kiln_core::{Batch, DType, Feature, Record, Schema};
    /// use kiln_validate::{AlertKind, AlertThresholds, Severity, Validator};
    ///
    /// let schema = Schema::new(vec![Feature::new("sex", DType::Categorical).with_nullable(true)])?;
    /// let v = Validator::for_training(schema.clone());
    /// let rows = |nulls: usize| -> Vec<Record> {
    ///     (0..10).map(|i| Record::new().with("sex", (i >= nulls).then_some("male"))).collect()
    /// };
    /// let baseline = v.validate_batch(&Batch::from_records(schema.clone(), &rows(0))?).report;
    /// let today = v.validate_batch(&Batch::from_records(schema, &rows(4))?).report;
    /// let alerts = today.alerts(Some(&baseline), &AlertThresholds::default());
    /// assert_eq!(alerts[0].kind, AlertKind::NullRateSpike);
    /// assert_eq!(alerts[0].severity, Severity::P0);
    /// assert!(alerts[0].message.contains("40.0%"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn alerts(&self, baseline: Option<&ValidationReport>, thresholds: &AlertThresholds) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for f in self.features() {
            feature_alerts(f, thresholds, &mut alerts);
            if let Some(base) = baseline.and_then(|b| b.feature(f.name())) {
                let (now, before) = (f.null_rate(), base.null_rate());
                if f.rows() > 0 && now - before > thresholds.null_rate_increase {
                    alerts.push(alert(
                        f.name(),
                        AlertKind::NullRateSpike,
                        now,
                        format!(
                            "null rate {:.1}% against a baseline of {:.1}% ({} of {} rows null)",
                            now * 100.0,
                            before * 100.0,
                            f.nulls(),
                            f.rows()
                        ),
                    ));
                }
            }
        }
        for (name, n) in self.unexpected() {
            alerts.push(alert(
                name,
                AlertKind::Violation(ViolationKind::Unexpected),
                rate(n, self.rows()),
                format!("unexpected feature, not in the schema, in {n} of {} rows", self.rows()),
            ));
        }
        if self.unexpected_other() > 0 {
            alerts.push(alert(
                "(other unexpected features)",
                AlertKind::Violation(ViolationKind::Unexpected),
                rate(self.unexpected_other(), self.rows()),
                format!("{} more occurrences of unexpected features", self.unexpected_other()),
            ));
        }
        alerts.sort_by(|a, b| (a.severity, &a.feature, a.kind).cmp(&(b.severity, &b.feature, b.kind)));
        alerts
    }
}

fn feature_alerts(f: &FeatureReport, thresholds: &AlertThresholds, out: &mut Vec<Alert>) {
    for kind in ViolationKind::ALL {
        let n = f.count(kind);
        let r = rate(n, f.rows());
        let schema_mismatch = kind.severity() == Severity::P0;
        if n > 0 && (schema_mismatch || r > thresholds.violation_rate) {
            out.push(alert(
                f.name(),
                AlertKind::Violation(kind),
                r,
                format!("{kind} in {n} of {} rows ({:.1}%)", f.rows(), r * 100.0),
            ));
        }
    }
    let r = rate(f.coerced(), f.rows());
    if f.coerced() > 0 && r > thresholds.coerced_rate {
        out.push(alert(
            f.name(),
            AlertKind::Coerced,
            r,
            format!("{} of {} values coerced ({:.1}%)", f.coerced(), f.rows(), r * 100.0),
        ));
    }
}

fn alert(feature: &str, kind: AlertKind, rate: f64, detail: String) -> Alert {
    Alert {
        severity: kind.severity(),
        feature: feature.to_owned(),
        kind,
        rate,
        message: format!("feature {feature:?}: {detail}"),
    }
}
