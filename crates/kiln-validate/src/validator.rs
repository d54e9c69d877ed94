//! The validator and its record path.

use std::io::Read;
use std::path::Path;

use kiln_core::{Bitmap, CsvReader, Record, Schema, ValueRef};

use crate::batch::CsvFacts;
use crate::compiled::{Compiled, Verdict};
use crate::config::{Policy, Unexpected, ValidatorConfig};
use crate::report::ValidationReport;
use crate::violation::{Rule, Violation, Violations};
use crate::{Error, Result};

/// Rows per batch when validating CSV input.
const CSV_BATCH_ROWS: usize = 65_536;

/// Checks records and batches against a [`Schema`], with a [`Policy`] per
/// feature.
///
/// The checks are compiled when the validator is built (bounds, category
/// lookup, policy per feature), so that validating a valid record does not
/// allocate. Record fields are matched to features by position first (a
/// record whose fields follow the schema's order needs no hashing) and by
/// name otherwise.
///
/// ```
/// use kiln_core::{DType, Feature, Record, Schema};
/// use kiln_validate::{Policy, Validator, ValidatorConfig, ViolationKind};
///
/// let schema = Schema::new(vec![
///     Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream", "Torgersen"]),
///     Feature::new("bill_length_mm", DType::Float64).with_range(Some(25.0), Some(65.0)),
/// ])?;
/// let serving = Validator::for_serving(schema.clone());
/// assert!(serving.validate_record(&Record::new().with("island", "Dream").with("bill_length_mm", 39.1)).is_ok());
///
/// let err = serving.validate_record(&Record::new().with("island", "Mars").with("bill_length_mm", 39.1)).unwrap_err();
/// assert_eq!(err.to_string(), r#"record rejected: feature "island": unknown category "Mars""#);
///
/// // Coerce fixes what it can: case and white space of categories, numbers in strings.
/// let lenient = Validator::new(schema, ValidatorConfig::serving().with_default_policy(Policy::Coerce))?;
/// let fixed = lenient.coerce_record(Record::new().with("island", " dream").with("bill_length_mm", "39.1"))?;
/// assert_eq!(fixed, Record::new().with("island", "Dream").with("bill_length_mm", 39.1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Validator {
    pub(crate) schema: Schema,
    pub(crate) features: Vec<Compiled>,
    pub(crate) config: ValidatorConfig,
}

/// The result of checking one record: every violation found, whether one of
/// them rejects the record, and how many values coercion fixed.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct Outcome {
    violations: Violations,
    rejected: bool,
    coerced: usize,
}

impl Outcome {
    /// Every violation, flagged and rejecting.
    #[must_use]
    pub fn violations(&self) -> &Violations {
        &self.violations
    }

    /// Whether the record broke no rule (coerced values are not violations).
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether a violation rejects the record.
    #[must_use]
    pub fn is_rejected(&self) -> bool {
        self.rejected
    }

    /// How many values coercion fixes.
    #[must_use]
    pub fn coerced(&self) -> usize {
        self.coerced
    }

    /// `Err(Error::Rejected)` with every violation when the record is
    /// rejected, otherwise the (flagged) violations.
    pub fn into_result(self) -> Result<Violations> {
        if self.rejected {
            Err(Error::Rejected(self.violations))
        } else {
            Ok(self.violations)
        }
    }
}

/// The result of validating a batch (or a slice of records): the report,
/// and which rows a rejecting violation hit.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// What was found, feature by feature.
    pub report: ValidationReport,
    /// One bit per row of the input, set when the row is rejected.
    pub rejected: Bitmap,
}

impl BatchOutcome {
    /// Whether row `row` (of this input, counted from 0) is rejected.
    #[must_use]
    pub fn is_rejected(&self, row: usize) -> bool {
        self.rejected.get(row)
    }

    /// The rejected rows (of this input, counted from 0), ascending.
    pub fn rejected_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.rejected.iter().enumerate().filter_map(|(i, r)| r.then_some(i))
    }

    /// The number of rejected rows.
    #[must_use]
    pub fn rejected_count(&self) -> usize {
        self.rejected.count_ones()
    }
}

/// Which features a record has supplied: one bit per feature, in words
/// that the walk keeps on the stack for schemas of up to 256 features, so
/// that the record path does not allocate.
struct Seen<'w>(&'w mut [u64]);

impl Seen<'_> {
    /// Words inline for schemas of up to this many features.
    const INLINE: usize = 256;

    /// Marks feature `i`; false when it was already marked.
    #[inline]
    fn insert(&mut self, i: usize) -> bool {
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        let fresh = self.0[w] & bit == 0;
        self.0[w] |= bit;
        fresh
    }

    #[inline]
    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1u64 << (i % 64)) != 0
    }
}

/// Receives what the record walk finds.
trait Sink {
    fn value(&mut self, i: usize, f: &Compiled, v: ValueRef<'_>, verdict: Verdict, num: f64);
    fn absent(&mut self, i: usize, f: &Compiled, verdict: Verdict);
    fn unexpected(&mut self, name: &str, v: ValueRef<'_>, rejects: bool);
}

/// Collects violations; allocates only when one is found.
struct Collect {
    row: Option<u64>,
    outcome: Outcome,
}

impl Sink for Collect {
    #[inline]
    fn value(&mut self, _: usize, f: &Compiled, v: ValueRef<'_>, verdict: Verdict, _: f64) {
        match verdict {
            Verdict::Valid | Verdict::Null => {}
            Verdict::Coerced => self.outcome.coerced += 1,
            Verdict::Violation(kind) => {
                self.outcome.violations.push(f.violation(kind, Some(v), self.row));
                self.outcome.rejected |= f.policy.rejects();
            }
        }
    }

    #[inline]
    fn absent(&mut self, _: usize, f: &Compiled, verdict: Verdict) {
        if let Verdict::Violation(kind) = verdict {
            self.outcome.violations.push(f.violation(kind, None, self.row));
            self.outcome.rejected |= f.policy.rejects();
        }
    }

    fn unexpected(&mut self, name: &str, v: ValueRef<'_>, rejects: bool) {
        let violation = Violation::new(name, self.row, Some(v.to_owned()), Rule::Declared, rejects);
        self.outcome.violations.push(violation);
        self.outcome.rejected |= rejects;
    }
}

/// Collects violations and updates a report whose features are the
/// validator's, in order.
struct Reporting<'r> {
    collect: Collect,
    report: &'r mut ValidationReport,
    row: u64,
    limit: usize,
}

impl Sink for Reporting<'_> {
    fn value(&mut self, i: usize, f: &Compiled, v: ValueRef<'_>, verdict: Verdict, num: f64) {
        self.report.features_mut()[i].observe(verdict, num, self.row, self.limit);
        self.collect.value(i, f, v, verdict, num);
    }

    fn absent(&mut self, i: usize, f: &Compiled, verdict: Verdict) {
        self.report.features_mut()[i].observe(verdict, f64::NAN, self.row, self.limit);
        self.collect.absent(i, f, verdict);
    }

    fn unexpected(&mut self, name: &str, v: ValueRef<'_>, rejects: bool) {
        self.report.add_unexpected(name, 1);
        self.collect.unexpected(name, v, rejects);
    }
}

impl Validator {
    /// A validator of `schema` with `config`; fails when `config` sets a
    /// policy for a feature the schema does not have.
    pub fn new(schema: Schema, config: ValidatorConfig) -> Result<Self> {
        if let Some(name) = config.overrides.keys().find(|n| schema.index_of(n).is_none()) {
            return Err(Error::UnknownFeature(name.clone()));
        }
        Ok(Self::with_known_config(schema, config))
    }

    /// Compiles the checks; `config`'s overrides name only features of `schema`.
    fn with_known_config(schema: Schema, config: ValidatorConfig) -> Self {
        let features = schema
            .features()
            .iter()
            .map(|f| Compiled::new(f, config.policy_for(&f.name)))
            .collect();
        Self {
            schema,
            features,
            config,
        }
    }

    /// For serving: every violation rejects, unexpected fields reject
    /// ([`ValidatorConfig::serving`]).
    ///
    /// Serving requests carry no label: build the validator from
    /// `schema.without_roles(&[Role::Label])` when the schema declares one.
    #[must_use]
    pub fn for_serving(schema: Schema) -> Self {
        Self::with_known_config(schema, ValidatorConfig::serving())
    }

    /// For training and batch scoring: every violation is flagged,
    /// unexpected fields ignored ([`ValidatorConfig::training`]).
    #[must_use]
    pub fn for_training(schema: Schema) -> Self {
        Self::with_known_config(schema, ValidatorConfig::training())
    }

    /// The schema.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// The policy of the feature called `feature`, if the schema has it.
    #[must_use]
    pub fn policy(&self, feature: &str) -> Option<Policy> {
        self.schema.index_of(feature).map(|i| self.features[i].policy)
    }

    /// An empty report of this validator's features: the identity of
    /// [`ValidationReport::merge`] for its reports.
    #[must_use]
    pub fn empty_report(&self) -> ValidationReport {
        ValidationReport::empty(
            self.features.iter().map(|f| (f.name.as_str(), f.dtype)),
            self.config.max_offending_rows,
        )
    }

    /// Checks one record (the serving fast path): `Ok` when no violation
    /// rejects it, otherwise [`Error::Rejected`] listing every violation of
    /// the record. Flagged violations of an accepted record are only logged
    /// (`tracing`, debug level); use [`check_record`](Self::check_record) to
    /// see them.
    ///
    /// Does not allocate when the record is valid (and the schema has at
    /// most 256 features).
    pub fn validate_record(&self, record: &Record) -> Result<()> {
        let outcome = self.check_record(record, None);
        if outcome.rejected {
            return Err(Error::Rejected(outcome.violations));
        }
        if !outcome.violations.is_empty() {
            tracing::debug!(violations = %outcome.violations, "record flagged");
        }
        Ok(())
    }

    /// Checks one record and collects every violation; `row` (when given)
    /// is named in them.
    pub fn check_record(&self, record: &Record, row: Option<u64>) -> Outcome {
        let mut sink = Collect {
            row,
            outcome: Outcome::default(),
        };
        self.walk(record, &mut sink);
        sink.outcome
    }

    /// Checks one record as row `row` and adds what it finds to `report`.
    ///
    /// `report` should come from [`empty_report`](Self::empty_report) (or
    /// earlier calls); a report of other features is merged into by name.
    pub fn check_record_into(&self, record: &Record, row: u64, report: &mut ValidationReport) -> Outcome {
        let fits = report.features().len() == self.features.len()
            && report
                .features()
                .iter()
                .zip(&self.features)
                .all(|(r, f)| r.name() == f.name)
            && report.max_offending_rows() <= self.config.max_offending_rows;
        if !fits {
            let mut fresh = self.empty_report();
            let outcome = self.check_record_into(record, row, &mut fresh);
            report.merge(&fresh);
            return outcome;
        }
        let limit = report.max_offending_rows();
        let mut sink = Reporting {
            collect: Collect {
                row: Some(row),
                outcome: Outcome::default(),
            },
            report,
            row,
            limit,
        };
        self.walk(record, &mut sink);
        let outcome = sink.collect.outcome;
        sink.report.add_rows(
            1,
            u64::from(!outcome.violations.is_empty()),
            u64::from(outcome.rejected),
        );
        outcome
    }

    /// Validates records one by one, as rows 0, 1, ...: the record path's
    /// twin of [`validate_batch`](Self::validate_batch), which gives the same
    /// outcome for `batch.to_records()`.
    pub fn validate_records(&self, records: &[Record]) -> BatchOutcome {
        let _span = tracing::debug_span!("validate_records", rows = records.len()).entered();
        let mut report = self.empty_report();
        let mut rejected = Bitmap::new();
        for (row, record) in (0u64..).zip(records) {
            rejected.push(self.check_record_into(record, row, &mut report).rejected);
        }
        BatchOutcome { report, rejected }
    }

    /// Applies coercion (features whose policy is [`Policy::Coerce`]) and
    /// returns the fixed record, or [`Error::Rejected`] when a violation
    /// rejects it. Fields of other features, and unexpected fields, are
    /// returned unchanged.
    pub fn coerce_record(&self, mut record: Record) -> Result<Record> {
        let outcome = self.check_record(&record, None);
        if outcome.rejected {
            return Err(Error::Rejected(outcome.violations));
        }
        if outcome.coerced == 0 {
            return Ok(record);
        }
        for (j, (name, value)) in record.iter_mut().enumerate() {
            if let Some(f) = self.feature_at(j, name).filter(|f| f.coerces())
                && let Some(fixed) = f.coerced_value(value)
            {
                *value = fixed;
            }
        }
        Ok(record)
    }

    /// Validates CSV input, streaming it in batches, and reports every
    /// problem of its values instead of stopping at the first. Rows are
    /// numbered from 0 (the first data row).
    ///
    /// `reader` gives the reading options (delimiter, null tokens, trimming)
    /// and types the cells: each column is read as the reader's schema
    /// declares it, leniently whatever the reader's own mode
    /// ([`CsvReader::with_lenient`]). So, rather than an error:
    ///
    /// - a cell that does not parse as its type (`abc` in an `int64`
    ///   column) is checked as the string it holds, as a record field
    ///   `Value::Str("abc")` would be: a [wrong type](crate::ViolationKind::WrongType)
    ///   violation of that feature and row (or a coerced value, when the
    ///   feature's policy is coerce and the text can be fixed). It is not
    ///   counted as a null.
    /// - a feature without a column in the file is absent in every row:
    ///   [missing](crate::ViolationKind::Missing) when it is required, a
    ///   null otherwise.
    /// - a column that neither the validator's schema nor the reader's
    ///   declares is an [unexpected](crate::ViolationKind::Unexpected) field
    ///   of every row, under the validator's [`Unexpected`] policy. Columns
    ///   the reader's schema declares and the validator's does not (the
    ///   label, for a serving validator built from
    ///   `schema.without_roles(&[Role::Label])` beside a reader of the whole
    ///   schema) are read but not checked. Build the reader from a schema
    ///   that declares every feature of the validator: a column it does not
    ///   declare is not read, so its feature is absent.
    ///
    /// The report equals [`validate_records`](Self::validate_records) of the
    /// rows as records: each row's cells in the reader's types, with a cell
    /// that does not parse as its text, a null token as a null, the
    /// unexpected columns' cells as text, without the columns the reader
    /// declares and the validator does not, and without the features
    /// missing from the file.
    ///
    /// Faults of the file's structure are errors ([`Error::Core`] naming
    /// line and column): rows with more or fewer fields than the header,
    /// invalid UTF-8, an unbalanced quote, a column named twice.
    ///
    /// ```
    /// use kiln_core::{CsvReader, DType, Feature, Schema};
    /// use kiln_validate::{Validator, ViolationKind};
    ///
    /// let schema = Schema::new(vec![Feature::new("year", DType::Int64).with_range(Some(2007.0), Some(2009.0))])?;
    /// let report = Validator::for_training(schema.clone())
    ///     .validate_csv(&CsvReader::new(schema), "year\n2007\n2012\nsoon\n".as_bytes(), "penguins.csv")?;
    /// assert_eq!(report.rows_with_violations(), 2);
    /// let year = report.feature("year").unwrap();
    /// assert_eq!((year.count(ViolationKind::AboveMax), year.count(ViolationKind::WrongType)), (1, 1));
    /// assert_eq!(year.offending_rows(), &[1, 2]);
    /// assert_eq!(year.nulls(), 0);
    /// # Ok::<(), kiln_validate::Error>(())
    /// ```
    pub fn validate_csv<R: Read>(&self, reader: &CsvReader, input: R, source_name: &str) -> Result<ValidationReport> {
        let _span = tracing::debug_span!("validate_csv", source = source_name).entered();
        let reader = reader.clone().with_lenient(true);
        let mut batches = reader.batches(input, source_name, CSV_BATCH_ROWS)?;
        let missing = batches.missing_columns();
        let absent: Vec<bool> = self.features.iter().map(|f| missing.contains(&f.name)).collect();
        let unexpected: Vec<String> = batches
            .unknown_columns()
            .iter()
            .filter(|name| self.schema.index_of(name).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            tracing::debug!(?missing, ?unexpected, "CSV header differs from the schema");
        }
        let mut report = self.empty_report();
        let mut first_row = 0u64;
        let mut bad_cells = 0usize;
        while let Some(next) = batches.next_with_issues() {
            let (batch, issues) = next?;
            let facts = CsvFacts {
                absent: &absent,
                unexpected: &unexpected,
                bad_cells: &issues.bad_cells,
            };
            report.merge(&self.check_batch(&batch, first_row, Some(&facts)).report);
            first_row += batch.num_rows() as u64;
            bad_cells += issues.bad_cells.len();
        }
        tracing::debug!(
            rows = report.rows(),
            with_violations = report.rows_with_violations(),
            bad_cells,
            "CSV validated"
        );
        Ok(report)
    }

    /// [`validate_csv`](Self::validate_csv) of a file.
    pub fn validate_csv_path(&self, reader: &CsvReader, path: impl AsRef<Path>) -> Result<ValidationReport> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| kiln_core::Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.validate_csv(reader, std::io::BufReader::new(file), &path.display().to_string())
    }

    /// The feature of record field `j` called `name`: field `j` is tried as
    /// feature `j` first, which avoids hashing when the record follows the
    /// schema's order.
    #[inline]
    fn feature_index(&self, j: usize, name: &str) -> Option<(usize, &Compiled)> {
        match self.features.get(j) {
            Some(f) if f.is_named(name) => Some((j, f)),
            _ => self
                .schema
                .index_of(name)
                .and_then(|i| Some((i, self.features.get(i)?))),
        }
    }

    fn feature_at(&self, j: usize, name: &str) -> Option<&Compiled> {
        self.feature_index(j, name).map(|(_, f)| f)
    }

    /// Walks a record: every field in order, then the absent features.
    /// A field name repeated (only possible through
    /// [`Record::push_unchecked`]) counts once, at its first occurrence.
    #[inline]
    fn walk<S: Sink>(&self, record: &Record, sink: &mut S) {
        let n = self.features.len();
        let mut inline = [0u64; Seen::INLINE / 64];
        let mut heap = Vec::new();
        let mut seen = Seen(if n <= Seen::INLINE {
            &mut inline
        } else {
            heap.resize(n.div_ceil(64), 0);
            &mut heap
        });
        let mut matched = 0usize;
        let unexpected = self.config.unexpected;
        for (j, (name, value)) in record.iter().enumerate() {
            match self.feature_index(j, name) {
                Some((i, f)) => {
                    if seen.insert(i) {
                        matched += 1;
                        let v = value.as_ref();
                        let (verdict, num) = f.check(v);
                        sink.value(i, f, v, verdict, num);
                    }
                }
                None if unexpected == Unexpected::Ignore => {}
                None => sink.unexpected(name, value.as_ref(), unexpected == Unexpected::Reject),
            }
        }
        if matched < n {
            for (i, f) in self.features.iter().enumerate() {
                if !seen.contains(i) {
                    sink.absent(i, f, f.absent());
                }
            }
        }
    }
}
