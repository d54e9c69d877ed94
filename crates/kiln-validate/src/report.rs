//! Per-feature validation reports: counts, null rates, observed ranges and
//! the first offending rows; mergeable across shards.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, AddAssign};

use kiln_core::DType;
use serde::{Deserialize, Serialize};

use crate::compiled::Verdict;
use crate::violation::{ViolationKind, cut};
use crate::{Error, Result};

/// The format tag of validation report documents.
pub const REPORT_FORMAT: &str = "kiln.validation-report/v1";

/// At most this many distinct unexpected field names are counted by name;
/// the others are counted together (see [`ValidationReport::unexpected_other`]).
pub const MAX_UNEXPECTED_NAMES: usize = 32;

/// Unexpected field names longer than this many characters are cut.
const MAX_NAME_CHARS: usize = 128;

const KINDS: usize = ViolationKind::ALL.len();

/// What validation saw of one feature.
///
/// Null counts include absent values (a record without the feature); the
/// observed min/max cover every finite number the feature held, in range or
/// not, after coercion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureReport {
    name: String,
    dtype: DType,
    rows: u64,
    nulls: u64,
    coerced: u64,
    #[serde(with = "counts_serde")]
    violations: [u64; KINDS],
    min: Option<f64>,
    max: Option<f64>,
    offending_rows: Vec<u64>,
}

impl FeatureReport {
    pub(crate) fn new(name: &str, dtype: DType) -> Self {
        Self {
            name: name.to_owned(),
            dtype,
            rows: 0,
            nulls: 0,
            coerced: 0,
            violations: [0; KINDS],
            min: None,
            max: None,
            offending_rows: Vec::new(),
        }
    }

    /// The feature's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The feature's declared type.
    #[must_use]
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Rows seen.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Null or absent values (allowed or not). A CSV cell that does not
    /// parse as the feature's type is a wrong-type violation, not a null.
    #[must_use]
    pub fn nulls(&self) -> u64 {
        self.nulls
    }

    /// `nulls / rows`; 0 when no rows were seen.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn null_rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.nulls as f64 / self.rows as f64
        }
    }

    /// Values fixed by coercion.
    #[must_use]
    pub fn coerced(&self) -> u64 {
        self.coerced
    }

    /// Violations of `kind` (always 0 for [`ViolationKind::Unexpected`],
    /// which [`ValidationReport::unexpected`] counts).
    #[must_use]
    pub fn count(&self, kind: ViolationKind) -> u64 {
        self.violations[kind.index()]
    }

    /// Violations of every kind.
    #[must_use]
    pub fn violations(&self) -> u64 {
        self.violations.iter().sum()
    }

    /// The smallest finite number seen.
    #[must_use]
    pub fn observed_min(&self) -> Option<f64> {
        self.min
    }

    /// The largest finite number seen.
    #[must_use]
    pub fn observed_max(&self) -> Option<f64> {
        self.max
    }

    /// The first (smallest) row numbers with a violation of this feature, at
    /// most [`ValidationReport::max_offending_rows`] of them, ascending.
    #[must_use]
    pub fn offending_rows(&self) -> &[u64] {
        &self.offending_rows
    }

    /// Records one value's verdict; returns the violation kind, if any.
    #[inline]
    pub(crate) fn observe(&mut self, verdict: Verdict, num: f64, row: u64, limit: usize) -> Option<ViolationKind> {
        self.rows += 1;
        if num.is_finite() {
            self.see_range(num, num);
        }
        match verdict {
            Verdict::Valid => None,
            Verdict::Null => {
                self.nulls += 1;
                None
            }
            Verdict::Coerced => {
                self.coerced += 1;
                None
            }
            Verdict::Violation(kind) => {
                if matches!(kind, ViolationKind::Null | ViolationKind::Missing) {
                    self.nulls += 1;
                }
                self.violations[kind.index()] += 1;
                note_row(&mut self.offending_rows, row, limit);
                Some(kind)
            }
        }
    }

    /// Adds the summary of rows that hold no violation and no coercion.
    pub(crate) fn add_clean(&mut self, rows: u64, nulls: u64, min: f64, max: f64) {
        self.rows += rows;
        self.nulls += nulls;
        if min <= max {
            self.see_range(min, max);
        }
    }

    fn see_range(&mut self, lo: f64, hi: f64) {
        self.min = Some(self.min.map_or(lo, |m| m.min(lo)));
        self.max = Some(self.max.map_or(hi, |m| m.max(hi)));
    }

    fn merge(&mut self, other: &Self, limit: usize) {
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.coerced += other.coerced;
        for (a, b) in self.violations.iter_mut().zip(other.violations) {
            *a += b;
        }
        if let Some(lo) = other.min {
            self.min = Some(self.min.map_or(lo, |m| m.min(lo)));
        }
        if let Some(hi) = other.max {
            self.max = Some(self.max.map_or(hi, |m| m.max(hi)));
        }
        self.offending_rows.extend_from_slice(&other.offending_rows);
        self.offending_rows.sort_unstable();
        self.offending_rows.dedup();
        self.offending_rows.truncate(limit);
    }
}

/// Keeps the `limit` smallest distinct row numbers, ascending.
#[inline]
fn note_row(rows: &mut Vec<u64>, row: u64, limit: usize) {
    match rows.last() {
        _ if limit == 0 => {}
        None => rows.push(row),
        Some(&last) if row > last => {
            if rows.len() < limit {
                rows.push(row);
            }
        }
        Some(_) => {
            if let Err(at) = rows.binary_search(&row) {
                rows.insert(at, row);
                rows.truncate(limit);
            }
        }
    }
}

/// What validating records or batches found, feature by feature.
///
/// Reports merge: validating shards of a data set (each with its global
/// first row, see [`Validator::validate_batch_at`](crate::Validator::validate_batch_at))
/// and merging the reports gives the report of the whole data set. Merging
/// is associative and commutative: features are matched by name (features
/// only one side has are kept), counts add, observed ranges widen, the
/// offending rows are the smallest of both sides and the row limit is the
/// smaller of both.
///
/// Displayed as a per-feature table (what `kiln validate` prints); serialized
/// with serde, or as a versioned document with [`to_json`](Self::to_json).
///
/// ```
/// use kiln_core::{Batch, DType, Feature, Record, Schema};
/// use kiln_validate::{Validator, ViolationKind};
///
/// let schema = Schema::new(vec![
///     Feature::new("bill_length_mm", DType::Float64).with_nullable(true).with_range(Some(25.0), Some(65.0)),
/// ])?;
/// let rows: Vec<Record> = [Some(39.1), None, Some(212.0), Some(46.5)]
///     .into_iter()
///     .map(|x| Record::new().with("bill_length_mm", x))
///     .collect();
/// let batch = Batch::from_records(schema.clone(), &rows)?;
/// let validator = Validator::for_training(schema);
///
/// let whole = validator.validate_batch(&batch).report;
/// let f = whole.feature("bill_length_mm").unwrap();
/// assert_eq!((f.nulls(), f.count(ViolationKind::AboveMax)), (1, 1));
/// assert_eq!(f.offending_rows(), &[2]);
/// assert_eq!(f.observed_max(), Some(212.0));
///
/// // Two shards, each validated with its first row, merge into the whole.
/// let a = validator.validate_batch_at(&batch.slice(0..2)?, 0).report;
/// let b = validator.validate_batch_at(&batch.slice(2..4)?, 2).report;
/// assert_eq!(a + b, whole);
/// println!("{whole}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    rows: u64,
    rows_with_violations: u64,
    rejected_rows: u64,
    max_offending_rows: usize,
    features: Vec<FeatureReport>,
    unexpected: BTreeMap<String, u64>,
    unexpected_other: u64,
}

#[derive(Serialize, Deserialize)]
struct ReportDoc<R> {
    format: String,
    #[serde(flatten)]
    report: R,
}

impl ValidationReport {
    /// An empty report over `features` (name, type), keeping at most
    /// `max_offending_rows` rows per feature. Merging it into another report
    /// of the same features (and a limit at least as large) changes nothing.
    #[must_use]
    pub fn empty<'a>(features: impl IntoIterator<Item = (&'a str, DType)>, max_offending_rows: usize) -> Self {
        Self {
            rows: 0,
            rows_with_violations: 0,
            rejected_rows: 0,
            max_offending_rows,
            features: features.into_iter().map(|(n, d)| FeatureReport::new(n, d)).collect(),
            unexpected: BTreeMap::new(),
            unexpected_other: 0,
        }
    }

    /// Rows (records) seen.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows with at least one violation (flagged or rejecting).
    #[must_use]
    pub fn rows_with_violations(&self) -> u64 {
        self.rows_with_violations
    }

    /// Rows with at least one rejecting violation.
    #[must_use]
    pub fn rejected_rows(&self) -> u64 {
        self.rejected_rows
    }

    /// How many offending rows each feature keeps.
    #[must_use]
    pub fn max_offending_rows(&self) -> usize {
        self.max_offending_rows
    }

    /// The per-feature reports, in schema order.
    #[must_use]
    pub fn features(&self) -> &[FeatureReport] {
        &self.features
    }

    /// The report of the feature called `name`.
    #[must_use]
    pub fn feature(&self, name: &str) -> Option<&FeatureReport> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Undeclared fields and the number of rows that had each, by name (at
    /// most [`MAX_UNEXPECTED_NAMES`] names, the alphabetically first; names
    /// cut to 128 characters).
    pub fn unexpected(&self) -> impl ExactSizeIterator<Item = (&str, u64)> {
        self.unexpected.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Occurrences of unexpected fields beyond the first
    /// [`MAX_UNEXPECTED_NAMES`] names.
    #[must_use]
    pub fn unexpected_other(&self) -> u64 {
        self.unexpected_other
    }

    /// Violations of `kind` over all features (for
    /// [`ViolationKind::Unexpected`], occurrences of undeclared fields).
    #[must_use]
    pub fn total(&self, kind: ViolationKind) -> u64 {
        if kind == ViolationKind::Unexpected {
            self.unexpected.values().sum::<u64>() + self.unexpected_other
        } else {
            self.features.iter().map(|f| f.count(kind)).sum()
        }
    }

    /// Whether no violation was found.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.rows_with_violations == 0
    }

    /// Merges `other` into `self`; see the type's documentation.
    pub fn merge(&mut self, other: &Self) {
        self.rows += other.rows;
        self.rows_with_violations += other.rows_with_violations;
        self.rejected_rows += other.rejected_rows;
        self.max_offending_rows = self.max_offending_rows.min(other.max_offending_rows);
        let limit = self.max_offending_rows;
        for f in &mut self.features {
            f.offending_rows.truncate(limit);
        }
        for (i, theirs) in other.features.iter().enumerate() {
            let pos = match self.features.get(i) {
                Some(f) if f.name == theirs.name => Some(i),
                _ => self.features.iter().position(|f| f.name == theirs.name),
            };
            match pos {
                Some(p) => self.features[p].merge(theirs, limit),
                None => {
                    let mut f = theirs.clone();
                    f.offending_rows.truncate(limit);
                    self.features.push(f);
                }
            }
        }
        for (name, n) in &other.unexpected {
            self.add_unexpected(name, *n);
        }
        self.unexpected_other += other.unexpected_other;
    }

    /// The report as a pretty-printed `kiln.validation-report/v1` JSON document.
    #[must_use]
    pub fn to_json(&self) -> String {
        let doc = ReportDoc {
            format: REPORT_FORMAT.to_owned(),
            report: self,
        };
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| unreachable!("reports always serialize"))
    }

    /// Parses a `kiln.validation-report/v1` JSON document.
    pub fn from_json(json: &str) -> Result<Self> {
        let doc: ReportDoc<Self> =
            kiln_core::format::from_json_slice(json.as_bytes(), REPORT_FORMAT, "validation report")
                .map_err(Error::Core)?;
        Ok(doc.report)
    }

    pub(crate) fn features_mut(&mut self) -> &mut [FeatureReport] {
        &mut self.features
    }

    pub(crate) fn add_rows(&mut self, rows: u64, with_violations: u64, rejected: u64) {
        self.rows += rows;
        self.rows_with_violations += with_violations;
        self.rejected_rows += rejected;
    }

    /// Counts `n` occurrences of the undeclared field `name`, keeping the
    /// alphabetically first names (which makes merging associative).
    pub(crate) fn add_unexpected(&mut self, name: &str, n: u64) {
        *self.unexpected.entry(cut(name, MAX_NAME_CHARS)).or_insert(0) += n;
        while self.unexpected.len() > MAX_UNEXPECTED_NAMES {
            if let Some((_, dropped)) = self.unexpected.pop_last() {
                self.unexpected_other += dropped;
            }
        }
    }
}

impl AddAssign<&ValidationReport> for ValidationReport {
    fn add_assign(&mut self, rhs: &ValidationReport) {
        self.merge(rhs);
    }
}

impl AddAssign for ValidationReport {
    fn add_assign(&mut self, rhs: ValidationReport) {
        self.merge(&rhs);
    }
}

impl Add for ValidationReport {
    type Output = Self;

    fn add(mut self, rhs: Self) -> Self {
        self.merge(&rhs);
        self
    }
}

mod counts_serde {
    //! Violation counts as a map of kind to count, zeros left out.
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::KINDS;
    use crate::violation::ViolationKind;

    pub(super) fn serialize<S: Serializer>(counts: &[u64; KINDS], s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<ViolationKind, u64> = ViolationKind::ALL
            .iter()
            .filter(|k| counts[k.index()] > 0)
            .map(|k| (*k, counts[k.index()]))
            .collect();
        map.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u64; KINDS], D::Error> {
        let map = BTreeMap::<ViolationKind, u64>::deserialize(d)?;
        let mut counts = [0; KINDS];
        for (k, n) in map {
            counts[k.index()] = n;
        }
        Ok(counts)
    }
}

fn number(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

#[allow(clippy::cast_precision_loss)]
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rows, {} with violations ({}), {} rejected",
            self.rows,
            self.rows_with_violations,
            percent(self.rows_with_violations, self.rows),
            self.rejected_rows
        )?;
        let header = [
            "feature",
            "dtype",
            "nulls",
            "min",
            "max",
            "coerced",
            "violations",
            "first offending rows",
        ];
        let mut table: Vec<[String; 8]> = vec![header.map(str::to_owned)];
        for r in &self.features {
            let violations: Vec<String> = ViolationKind::ALL
                .iter()
                .filter(|k| r.count(**k) > 0)
                .map(|k| format!("{} {k}", r.count(*k)))
                .collect();
            let mut rows: Vec<String> = r.offending_rows.iter().map(u64::to_string).collect();
            if r.violations() > r.offending_rows.len() as u64 && !rows.is_empty() {
                rows.push("...".to_owned());
            }
            let or_dash = |s: String| if s.is_empty() { "-".to_owned() } else { s };
            table.push([
                r.name.clone(),
                r.dtype.to_string(),
                format!("{} ({})", r.nulls, percent(r.nulls, r.rows)),
                r.min.map_or_else(|| "-".to_owned(), number),
                r.max.map_or_else(|| "-".to_owned(), number),
                r.coerced.to_string(),
                or_dash(violations.join(", ")),
                or_dash(rows.join(", ")),
            ]);
        }
        let mut widths = [0usize; 8];
        for row in &table {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in &table {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  "));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        for (name, n) in &self.unexpected {
            writeln!(f, "unexpected feature {name:?}: {n} rows")?;
        }
        if self.unexpected_other > 0 {
            writeln!(f, "other unexpected features: {} occurrences", self.unexpected_other)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_row_keeps_smallest() {
        let mut rows = Vec::new();
        for r in [5, 3, 9, 3, 1, 7, 2] {
            note_row(&mut rows, r, 3);
        }
        assert_eq!(rows, vec![1, 2, 3]);
        let mut none = Vec::new();
        note_row(&mut none, 1, 0);
        assert!(none.is_empty());
    }

    #[test]
    fn unexpected_names_are_capped() {
        let mut r = ValidationReport::empty([], 10);
        for i in (0..40).rev() {
            r.add_unexpected(&format!("f{i:02}"), 1);
        }
        assert_eq!(r.unexpected().len(), MAX_UNEXPECTED_NAMES);
        assert_eq!(r.unexpected_other(), 8);
        assert_eq!(r.total(ViolationKind::Unexpected), 40);
        assert!(r.unexpected().all(|(n, _)| n < "f32"));
        r.add_unexpected(&"x".repeat(1000), 1);
        assert!(r.unexpected().all(|(n, _)| n.len() <= MAX_NAME_CHARS));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(212.0), "212");
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(-0.00001), "0");
    }
}
