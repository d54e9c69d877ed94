//! The batch path: column at a time over typed slices.
//!
//! Each column first goes through a tight loop over its typed values that
//! only answers "is every value valid as given?" and gathers the null count
//! and observed range. Only a column where that fails is walked value by
//! value with [`Compiled::check`], the same verdicts the record path uses,
//! which keeps the batch and record paths in agreement by construction.

use kiln_core::csv::BadCell;
use kiln_core::{Batch, Bitmap, Column, ColumnData, DType, StringColumn, ValueRef};

use crate::compiled::Compiled;
use crate::config::Unexpected;
use crate::report::FeatureReport;
use crate::validator::{BatchOutcome, Validator};

/// Which rows have a violation, and which a rejecting one (Arrow bit layout).
struct RowFlags {
    violated: Vec<u8>,
    rejected: Vec<u8>,
    rows: usize,
}

impl RowFlags {
    fn new(rows: usize) -> Self {
        Self {
            violated: vec![0; rows.div_ceil(8)],
            rejected: vec![0; rows.div_ceil(8)],
            rows,
        }
    }

    #[inline]
    fn mark(&mut self, row: usize, rejects: bool) {
        let bit = 1u8 << (row % 8);
        self.violated[row / 8] |= bit;
        if rejects {
            self.rejected[row / 8] |= bit;
        }
    }

    fn mark_all(&mut self, rejects: bool) {
        let full = Bitmap::filled(self.rows, true).into_bytes();
        self.violated.copy_from_slice(&full);
        if rejects {
            self.rejected.copy_from_slice(&full);
        }
    }

    fn finish(self) -> (u64, Bitmap) {
        let violated = self.violated.iter().map(|b| u64::from(b.count_ones())).sum();
        let rejected = Bitmap::from_bytes(self.rejected, self.rows)
            .unwrap_or_else(|_| unreachable!("the flags hold one bit per row"));
        (violated, rejected)
    }
}

impl Validator {
    /// Validates a batch whose first row is row 0; see
    /// [`validate_batch_at`](Self::validate_batch_at).
    ///
    /// ```
    /// use kiln_core::{Batch, DType, Feature, Record, Schema};
    /// use kiln_validate::{Validator, ViolationKind};
    ///
    /// let schema = Schema::new(vec![Feature::new("body_mass_g", DType::Float64).with_range(Some(2500.0), Some(6500.0))])?;
    /// let rows: Vec<Record> = [3750.0, f64::NAN, 9000.0].iter().map(|x| Record::new().with("body_mass_g", *x)).collect();
    /// let batch = Batch::from_records(schema.clone(), &rows)?;
    ///
    /// let outcome = Validator::for_serving(schema).validate_batch(&batch);
    /// assert_eq!(outcome.rejected_rows().collect::<Vec<_>>(), vec![1, 2]);
    /// let f = outcome.report.feature("body_mass_g").unwrap();
    /// assert_eq!((f.count(ViolationKind::NonFinite), f.count(ViolationKind::AboveMax)), (1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn validate_batch(&self, batch: &Batch) -> BatchOutcome {
        self.validate_batch_at(batch, 0)
    }

    /// Validates a batch whose first row is row `first_row` of a larger data
    /// set (a shard, or a chunk of a stream): the report names rows by their
    /// global number, so the reports of all shards merge into the report of
    /// the whole. [`BatchOutcome::rejected`] is indexed from 0 within `batch`.
    ///
    /// The batch's schema may differ from the validator's: features the batch
    /// lacks are absent in every row (missing, or null when nullable), its
    /// columns the validator does not declare are unexpected in every row,
    /// and a column of another type is checked value by value as a record's
    /// field would be. The outcome equals
    /// [`validate_records`](Self::validate_records) of `batch.to_records()`.
    #[must_use]
    pub fn validate_batch_at(&self, batch: &Batch, first_row: u64) -> BatchOutcome {
        self.check_batch(batch, first_row, None)
    }

    /// The batch path, for a batch alone or for one read from CSV (then
    /// `csv` says what the file holds beyond the batch's values).
    pub(crate) fn check_batch(&self, batch: &Batch, first_row: u64, csv: Option<&CsvFacts<'_>>) -> BatchOutcome {
        let rows = batch.num_rows();
        let _span = tracing::debug_span!("validate_batch", rows, first_row).entered();
        let mut report = self.empty_report();
        let limit = report.max_offending_rows();
        let mut flags = RowFlags::new(rows);
        let theirs = batch.schema();
        let same = *theirs == self.schema;
        let bad_cells = csv.map_or(&[][..], |c| c.bad_cells);
        // The bad cells of each column of the batch, by row.
        let mut bad_by_column: Vec<Vec<&BadCell>> = Vec::new();
        if !bad_cells.is_empty() {
            bad_by_column.resize_with(theirs.len(), Vec::new);
            for b in bad_cells {
                if let Some(v) = bad_by_column.get_mut(b.feature) {
                    v.push(b);
                }
            }
        }
        for (i, (f, r)) in self.features.iter().zip(report.features_mut()).enumerate() {
            let absent = csv.is_some_and(|c| c.absent.get(i).copied().unwrap_or(false));
            let column = if absent {
                None
            } else if same {
                batch.column(i).map(|c| (i, f.dtype, c))
            } else {
                theirs
                    .index_of(&f.name)
                    .and_then(|j| Some((j, theirs.features()[j].dtype, batch.column(j)?)))
            };
            let ctx = Ctx {
                f,
                first_row,
                limit,
                rows,
            };
            match column {
                Some((j, dtype, c)) => {
                    let bad = bad_by_column.get(j).map_or(&[][..], Vec::as_slice);
                    match (bad.is_empty() && dtype == f.dtype).then(|| clean(f, c)).flatten() {
                        Some(s) => r.add_clean(rows as u64, s.nulls, s.min, s.max),
                        None => ctx.each_value(c, bad, r, &mut flags),
                    }
                }
                None => ctx.absent(r, &mut flags),
            }
        }
        let unexpected = self.config.unexpected;
        if unexpected != Unexpected::Ignore && rows > 0 {
            let mut extra = |name: &str| {
                report.add_unexpected(name, rows as u64);
                flags.mark_all(unexpected == Unexpected::Reject);
            };
            match csv {
                // Columns of the reader's schema that the validator does
                // not declare are known, so not unexpected.
                Some(c) => c.unexpected.iter().for_each(|name| extra(name)),
                None if !same => theirs
                    .features()
                    .iter()
                    .filter(|e| self.schema.index_of(&e.name).is_none())
                    .for_each(|e| extra(&e.name)),
                None => {}
            }
        }
        let (violated, rejected) = flags.finish();
        report.add_rows(rows as u64, violated, rejected.count_ones() as u64);
        tracing::debug!(violated, rejected = rejected.count_ones(), "batch validated");
        BatchOutcome { report, rejected }
    }
}

/// What a CSV file held beyond the values of a batch read from it leniently.
pub(crate) struct CsvFacts<'a> {
    /// Per feature of the validator: whether the file has no column for it
    /// (then it is absent, not null, in every row).
    pub(crate) absent: &'a [bool],
    /// Header columns that neither the reader's nor the validator's schema declares.
    pub(crate) unexpected: &'a [String],
    /// The batch's cells that did not parse; each is checked as the string
    /// it holds, as in a record.
    pub(crate) bad_cells: &'a [BadCell],
}

struct Ctx<'a> {
    f: &'a Compiled,
    first_row: u64,
    limit: usize,
    rows: usize,
}

impl Ctx<'_> {
    /// The slow path: every value through [`Compiled::check`]; a bad cell
    /// (`bad`, ascending by row) is checked as the string it holds, not as
    /// the null the batch has in its place.
    fn each_value(&self, c: &Column, bad: &[&BadCell], r: &mut FeatureReport, flags: &mut RowFlags) {
        let rejects = self.f.policy.rejects();
        let mut bad = bad.iter().peekable();
        for (row, global) in (0..self.rows).zip(self.first_row..) {
            let value = match bad.next_if(|b| b.row == row) {
                Some(b) => ValueRef::Str(&b.text),
                None => c.value(row),
            };
            let (verdict, num) = self.f.check(value);
            if r.observe(verdict, num, global, self.limit).is_some() {
                flags.mark(row, rejects);
            }
        }
    }

    /// A feature the batch has no column for.
    fn absent(&self, r: &mut FeatureReport, flags: &mut RowFlags) {
        let verdict = self.f.absent();
        let rejects = self.f.policy.rejects();
        for (row, global) in (0..self.rows).zip(self.first_row..) {
            if r.observe(verdict, f64::NAN, global, self.limit).is_some() {
                flags.mark(row, rejects);
            }
        }
    }
}

/// A column where every value is valid as given.
struct Clean {
    nulls: u64,
    min: f64,
    max: f64,
}

/// The fast path: `Some` when no value of `c` breaks a rule or needs
/// coercion (then no per-value verdict is needed), `None` otherwise.
fn clean(f: &Compiled, c: &Column) -> Option<Clean> {
    let nulls = c.null_count() as u64;
    if nulls > 0 && !f.nullable {
        return None;
    }
    let validity = c.validity();
    let (min, max) = match c.data() {
        ColumnData::Float64(v) => numeric(v, validity, f.lo, f.hi, |x| x)?,
        ColumnData::Float32(v) => numeric(v, validity, f.lo, f.hi, f64::from)?,
        #[allow(clippy::cast_precision_loss)]
        ColumnData::Int64(v) => numeric(v, validity, f.lo, f.hi, |i| i as f64)?,
        ColumnData::Bool(_) => (f64::INFINITY, f64::NEG_INFINITY),
        ColumnData::Utf8(s) if strings_clean(f, s, validity) => (f64::INFINITY, f64::NEG_INFINITY),
        _ => return None,
    };
    Some(Clean { nulls, min, max })
}

/// Whether every present value is finite and within `[lo, hi]`, and the
/// range of the present values. Branch-free over runs of present values so
/// that the compiler can vectorize it.
#[inline]
fn numeric<T: Copy>(
    data: &[T],
    validity: Option<&Bitmap>,
    lo: f64,
    hi: f64,
    to: impl Fn(T) -> f64,
) -> Option<(f64, f64)> {
    let mut ok = true;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut step = |x: f64| {
        ok &= x.is_finite() & (x >= lo) & (x <= hi);
        min = if x < min { x } else { min };
        max = if x > max { x } else { max };
    };
    match validity {
        None => data.iter().for_each(|&x| step(to(x))),
        Some(bits) => {
            for (chunk, &byte) in data.chunks(8).zip(bits.as_bytes()) {
                if byte == u8::MAX {
                    chunk.iter().for_each(|&x| step(to(x)));
                } else {
                    for (j, &x) in chunk.iter().enumerate() {
                        if byte >> j & 1 == 1 {
                            step(to(x));
                        }
                    }
                }
            }
        }
    }
    ok.then_some((min, max))
}

/// Whether every present string is valid as given: a declared category, and
/// without surrounding white space when the policy would trim it.
fn strings_clean(f: &Compiled, s: &StringColumn, validity: Option<&Bitmap>) -> bool {
    let present = |i: usize| validity.is_none_or(|v| v.get(i));
    match (&f.categories, f.dtype) {
        (Some(cats), DType::Categorical) => {
            // Categorical columns repeat a few values: remember the last one accepted.
            let mut last: Option<&str> = None;
            (0..s.len()).filter(|&i| present(i)).all(|i| {
                let v = s.get(i);
                if last == Some(v) {
                    return true;
                }
                let ok = cats.contains(v);
                last = Some(v);
                ok
            })
        }
        (None, DType::Categorical | DType::String) => {
            !f.coerces()
                || (0..s.len()).filter(|&i| present(i)).all(|i| {
                    let v = s.get(i);
                    v.trim().len() == v.len()
                })
        }
        _ => false,
    }
}
