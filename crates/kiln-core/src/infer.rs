//! Schema inference: a first [`Schema`] guessed from data.
//!
//! Inference reads every column once and keeps a small summary per column
//! (null count, candidate types, observed range, up to `max_categories + 1`
//! distinct strings), so memory does not grow with the number of rows.
//!
//! # Type rules (CSV)
//!
//! Over the non-null cells of a column (null cells are the
//! [null tokens](InferOptions::with_null_tokens)), the first rule that holds
//! for every cell wins:
//!
//! 1. `bool`: the words `true`/`false`/`yes`/`no`, any case (not `1`/`0`,
//!    which make an integer column);
//! 2. `int64`: integers;
//! 3. `float64`: numbers;
//! 4. `timestamp`: RFC 3339 dates or date-times ([`parse_micros`]);
//! 5. otherwise text, which is `categorical` when it has at most
//!    [`max_categories`](InferOptions::with_max_categories) distinct values
//!    **and** each value appears twice on average (distinct values ≤ half the
//!    non-null cells), and `string` otherwise. The ratio test keeps names, ids
//!    and free text out of categorical features. It is skipped for the label
//!    (a text label is a class label) and for data already typed categorical
//!    (Arrow dictionaries, [`DType::Categorical`] batch columns); an
//!    [`Role::Id`] column is never categorical.
//!
//! A column with no non-null cell is a nullable `string` (with a warning).
//!
//! # Constraints
//!
//! * `nullable` is set when a null was seen.
//! * Numeric and timestamp features get the observed minimum and maximum as
//!   their range (timestamps in microseconds), unless
//!   [`with_ranges(false)`](InferOptions::with_ranges) or the column is an
//!   [`Role::Id`]. An infinite value leaves that end of the range open; NaN
//!   is ignored. Widen the ranges before using the schema as a contract for
//!   data that may move beyond what was observed (event times, say).
//! * Categorical features list their categories, sorted.
//!
//! ```
//! use kiln_core::{DType, InferOptions, Role, Schema};
//!
//! let csv = "id,island,mass,tagged,species\n\
//!            a1,Biscoe,3750,yes,Adelie\n\
//!            a2,Biscoe,NA,no,Gentoo\n\
//!            a3,Dream,4100.5,no,Adelie\n\
//!            a4,Dream,3900,yes,Chinstrap\n";
//! let options = InferOptions::default().with_label("species").with_role("id", Role::Id);
//! let schema = Schema::infer_csv_bytes(csv.as_bytes(), "birds.csv", &options)?;
//!
//! let mass = schema.feature("mass").unwrap();
//! assert_eq!((mass.dtype, mass.nullable), (DType::Float64, true));
//! assert_eq!((mass.min, mass.max), (Some(3750.0), Some(4100.5)));
//! assert_eq!(schema.feature("tagged").unwrap().dtype, DType::Bool);
//! let island = schema.feature("island").unwrap();
//! assert_eq!(island.categories.as_deref(), Some(&["Biscoe".to_owned(), "Dream".to_owned()][..]));
//! assert_eq!(schema.feature("id").unwrap().dtype, DType::String);
//! assert_eq!(schema.label().unwrap().name, "species");
//! assert_eq!(schema.label().unwrap().dtype, DType::Categorical);
//! # Ok::<(), kiln_core::Error>(())
//! ```
//!
//! [`parse_micros`]: crate::timestamp::parse_micros

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::Path;

use crate::batch::{Batch, Column, parse_float};
use crate::csv::{CsvReader, DEFAULT_NULL_TOKENS, cell_text, header_name, next_row, raw_reader, read_header};
use crate::schema::{DType, Feature, Role, Schema};
use crate::timestamp::parse_micros;
use crate::value::ValueRef;
use crate::{Error, Result};

/// The default of [`InferOptions::with_max_categories`].
pub const DEFAULT_MAX_CATEGORIES: usize = 64;

/// The default of [`InferOptions::with_max_columns`].
pub const DEFAULT_MAX_COLUMNS: usize = 100_000;

/// How to infer a schema; build with the `with_*` setters.
///
/// The CSV settings (delimiter, null tokens, trimming) should match the
/// [`CsvReader`] that later reads the data; [`InferOptions::csv_reader`]
/// builds one that does.
///
/// ```
/// use kiln_core::{DType, InferOptions, Role, Schema};
/// let options = InferOptions::default()
///     .with_label("species")
///     .with_role("row_id", Role::Id)
///     .with_max_categories(16)
///     .with_delimiter(b';')
///     .with_null_tokens(["", "?"])
///     .with_sample_rows(Some(10_000));
/// let data = b"row_id;species;mass\n1;Adelie;?\n2;Gentoo;5000\n";
/// let schema = Schema::infer_csv_bytes(data, "birds.csv", &options)?;
/// assert_eq!(schema.feature("row_id").unwrap().role, Role::Id);
/// assert_eq!(schema.feature("mass").unwrap().dtype, DType::Int64);
///
/// let batch = options.csv_reader(schema).read_bytes(data, "birds.csv")?;
/// assert_eq!(batch.column_by_name("mass").unwrap().null_count(), 1);
/// # Ok::<(), kiln_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct InferOptions {
    roles: Vec<(String, Role)>,
    max_categories: usize,
    max_columns: usize,
    null_tokens: Vec<String>,
    delimiter: u8,
    trim: bool,
    sample_rows: Option<usize>,
    ranges: bool,
}

impl Default for InferOptions {
    fn default() -> Self {
        Self {
            roles: Vec::new(),
            max_categories: DEFAULT_MAX_CATEGORIES,
            max_columns: DEFAULT_MAX_COLUMNS,
            null_tokens: DEFAULT_NULL_TOKENS.iter().map(|s| (*s).to_owned()).collect(),
            delimiter: b',',
            trim: false,
            sample_rows: None,
            ranges: true,
        }
    }
}

impl InferOptions {
    /// Makes the column `name` the label ([`Role::Label`]), replacing an
    /// earlier label.
    #[must_use]
    pub fn with_label(mut self, name: impl Into<String>) -> Self {
        self.roles.retain(|(_, r)| *r != Role::Label);
        self.with_role(name, Role::Label)
    }

    /// Gives the column `name` a role (columns not named get
    /// [`Role::Feature`]). Inference fails when the column does not exist.
    #[must_use]
    pub fn with_role(mut self, name: impl Into<String>, role: Role) -> Self {
        let name = name.into();
        self.roles.retain(|(n, _)| *n != name);
        self.roles.push((name, role));
        self
    }

    /// The most distinct values a text column may have to be categorical
    /// (default [`DEFAULT_MAX_CATEGORIES`]).
    #[must_use]
    pub fn with_max_categories(mut self, n: usize) -> Self {
        self.max_categories = n;
        self
    }

    /// The most columns a CSV header may have (default
    /// [`DEFAULT_MAX_COLUMNS`]); a wider file is an error rather than a
    /// schema too large to use.
    #[must_use]
    pub fn with_max_columns(mut self, n: usize) -> Self {
        self.max_columns = n;
        self
    }

    /// Replaces the cells read as null (default [`DEFAULT_NULL_TOKENS`]).
    #[must_use]
    pub fn with_null_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.null_tokens = tokens.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the CSV field delimiter (default `b','`).
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Trims white space around every CSV cell (off by default, as in [`CsvReader`]).
    #[must_use]
    pub fn with_trim(mut self, trim: bool) -> Self {
        self.trim = trim;
        self
    }

    /// Reads only the first `n` data rows (`None`, the default, reads all).
    /// Types, ranges and categories then describe the sample only, and the
    /// rest of the data may not fit the inferred schema.
    #[must_use]
    pub fn with_sample_rows(mut self, n: Option<usize>) -> Self {
        self.sample_rows = n;
        self
    }

    /// Whether numeric and timestamp features get the observed range as
    /// bounds (default `true`).
    #[must_use]
    pub fn with_ranges(mut self, ranges: bool) -> Self {
        self.ranges = ranges;
        self
    }

    /// A [`CsvReader`] for `schema` with these options' delimiter, null
    /// tokens and trimming, so that it reads the data as inference saw it.
    #[must_use]
    pub fn csv_reader(&self, schema: Schema) -> CsvReader {
        CsvReader::new(schema)
            .with_delimiter(self.delimiter)
            .with_null_tokens(self.null_tokens.iter().cloned())
            .with_trim(self.trim)
    }

    /// The role named for column `name`, if any.
    pub(crate) fn role_for(&self, name: &str) -> Option<Role> {
        self.roles.iter().find(|(n, _)| n == name).map(|(_, r)| *r)
    }

    /// How many of `rows` rows to read.
    pub(crate) fn sample_rows_of(&self, rows: usize) -> usize {
        self.sample_rows.map_or(rows, |n| n.min(rows))
    }

    /// The first column given a role that `has` does not know.
    pub(crate) fn missing_role_column(&self, has: impl Fn(&str) -> bool) -> Option<&str> {
        self.roles.iter().map(|(n, _)| n.as_str()).find(|n| !has(n))
    }
}

impl Schema {
    /// Infers a schema from a CSV file; see the [module docs](crate::infer)
    /// for the rules.
    ///
    /// Errors: [`Error::Io`] when the file cannot be opened, [`Error::Empty`]
    /// when it has no header or no data row, [`Error::Csv`] (with line and
    /// column) for ragged rows, invalid UTF-8, empty or duplicate header
    /// names, a header wider than
    /// [`max_columns`](InferOptions::with_max_columns) and a role given to a
    /// column that does not exist.
    pub fn infer_csv(path: impl AsRef<Path>, options: &InferOptions) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::infer_csv_reader(file, &path.display().to_string(), options)
    }

    /// Infers a schema from CSV bytes; `source_name` names them in errors.
    /// See [`Schema::infer_csv`].
    pub fn infer_csv_bytes(bytes: &[u8], source_name: &str, options: &InferOptions) -> Result<Self> {
        Self::infer_csv_reader(bytes, source_name, options)
    }

    /// Infers a schema from CSV read from `reader`, in one pass with memory
    /// bounded by the number of columns. See [`Schema::infer_csv`].
    pub fn infer_csv_reader<R: Read>(reader: R, source_name: &str, options: &InferOptions) -> Result<Self> {
        let _span = tracing::debug_span!("infer_csv", source = source_name).entered();
        let mut csv = raw_reader(reader, options.delimiter);
        let header = read_header(&mut csv, source_name)?;
        let header_error = |column: Option<String>, message: String| Error::Csv {
            source_name: source_name.to_owned(),
            line: 1,
            column,
            message,
        };
        if header.len() > options.max_columns {
            return Err(header_error(
                None,
                format!(
                    "the header has {} columns, more than the limit of {} (InferOptions::with_max_columns)",
                    header.len(),
                    options.max_columns
                ),
            ));
        }
        let mut names = Vec::with_capacity(header.len());
        let mut seen = HashSet::with_capacity(header.len());
        for (col, raw) in header.iter().enumerate() {
            let name = header_name(raw, col, source_name)?;
            if name.is_empty() {
                return Err(header_error(
                    Some(format!("#{}", col + 1)),
                    "the column has no name".to_owned(),
                ));
            }
            if !seen.insert(name) {
                return Err(header_error(
                    Some(name.to_owned()),
                    "column appears twice in the header".to_owned(),
                ));
            }
            names.push(name.to_owned());
        }
        if let Some(name) = options.missing_role_column(|n| seen.contains(n)) {
            return Err(header_error(
                Some(name.to_owned()),
                "the options give this column a role but the header has no such column".to_owned(),
            ));
        }
        drop(seen);

        let mut columns: Vec<TextColumn> = names.iter().map(|_| TextColumn::default()).collect();
        let mut record = ::csv::ByteRecord::new();
        let mut rows = 0usize;
        while options.sample_rows.is_none_or(|n| rows < n) {
            let Some(line) = next_row(&mut csv, &mut record, header.len(), source_name)? else {
                break;
            };
            for ((raw, column), name) in record.iter().zip(&mut columns).zip(&names) {
                let text = cell_text(raw, options.trim, source_name, line, name)?;
                if options.null_tokens.iter().any(|t| t == text) {
                    column.summary.nulls += 1;
                } else {
                    column.observe(text, options.max_categories);
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Err(Error::Empty(source_name.to_owned()));
        }
        tracing::debug!(rows, columns = names.len(), "inferred a schema from CSV");
        let features = names
            .into_iter()
            .zip(columns)
            .map(|(name, column)| {
                let role = options.role_for(&name).unwrap_or_default();
                column.into_feature(name, role, options)
            })
            .collect();
        Self::new(features)
    }

    /// Infers a schema from the values of a batch: dtypes stay as declared
    /// (text columns may turn categorical or string by the
    /// [category rule](crate::infer)), while nullability, ranges and
    /// categories come from the data. Roles come from `options`, else from
    /// the batch's schema; descriptions are kept.
    ///
    /// ```
    /// use kiln_core::{Batch, DType, Feature, InferOptions, Record, Schema};
    /// let loose = Schema::new(vec![
    ///     Feature::new("x", DType::Int64).with_nullable(true),
    ///     Feature::new("color", DType::String),
    /// ])?;
    /// let rows: Vec<Record> = [(Some(3), "red"), (None, "red"), (Some(-1), "blue"), (Some(7), "blue")]
    ///     .into_iter()
    ///     .map(|(x, c)| Record::new().with("x", x).with("color", c))
    ///     .collect();
    /// let batch = Batch::from_records(loose, &rows)?;
    /// let schema = Schema::infer_batch(&batch, &InferOptions::default())?;
    /// let x = schema.feature("x").unwrap();
    /// assert_eq!((x.min, x.max, x.nullable), (Some(-1.0), Some(7.0), true));
    /// assert_eq!(schema.feature("color").unwrap().dtype, DType::Categorical);
    /// # Ok::<(), kiln_core::Error>(())
    /// ```
    pub fn infer_batch(batch: &Batch, options: &InferOptions) -> Result<Self> {
        let schema = batch.schema();
        if let Some(name) = options.missing_role_column(|n| schema.index_of(n).is_some()) {
            return Err(Error::UnknownFeature(name.to_owned()));
        }
        let rows = options.sample_rows_of(batch.num_rows());
        if rows == 0 {
            return Err(Error::Empty("batch".to_owned()));
        }
        let features = schema
            .features()
            .iter()
            .zip(batch.columns())
            .map(|(f, column)| infer_feature(f, column, rows, options))
            .collect();
        Self::new(features)
    }
}

/// The feature the first `rows` values of `column` suggest, keeping the
/// dtype and description of `declared` and its role unless `options` names one.
pub(crate) fn infer_feature(declared: &Feature, column: &Column, rows: usize, options: &InferOptions) -> Feature {
    let summary = Summary::of_column(column, rows, options.max_categories);
    let role = options.role_for(&declared.name).unwrap_or(declared.role);
    let mut inferred = summary.into_feature(declared.name.clone(), Evidence::Typed(declared.dtype), role, options);
    inferred.description.clone_from(&declared.description);
    inferred
}

/// What inference knows of a column's type.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Evidence {
    /// Text cells that parse as no other type.
    Text,
    /// Values of a declared type (a batch or Arrow column).
    Typed(DType),
}

/// What inference keeps of one column: bounded in size, whatever the rows.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    nulls: u64,
    values: u64,
    range: Range,
    distinct: Distinct,
}

impl Summary {
    /// Summarizes the first `rows` values of `column`.
    pub(crate) fn of_column(column: &Column, rows: usize, max_categories: usize) -> Self {
        let mut s = Self::default();
        for row in 0..rows.min(column.len()) {
            s.observe(column.value(row), max_categories);
        }
        s
    }

    fn observe(&mut self, value: ValueRef<'_>, max_categories: usize) {
        match value {
            ValueRef::Null => {
                self.nulls += 1;
                return;
            }
            ValueRef::Str(s) => self.distinct.observe(s, max_categories),
            other => {
                if let Some(x) = other.as_f64() {
                    self.range.observe(x);
                }
            }
        }
        self.values += 1;
    }

    /// The feature this summary suggests; see the module docs for the rules.
    pub(crate) fn into_feature(self, name: String, evidence: Evidence, role: Role, options: &InferOptions) -> Feature {
        let nullable = self.nulls > 0;
        let dtype = match evidence {
            Evidence::Text => DType::String,
            Evidence::Typed(d) => d,
        };
        if self.values == 0 {
            tracing::warn!(
                feature = name.as_str(),
                dtype = dtype.as_str(),
                "every value of the column is null; inferred as a nullable {dtype}"
            );
            return Feature::new(name, dtype).with_nullable(true).with_role(role);
        }
        let feature = if dtype.is_string() {
            let n = self.distinct.len();
            let categorical = role != Role::Id
                && !self.distinct.overflow
                && (role == Role::Label || dtype == DType::Categorical || (n as u64).saturating_mul(2) <= self.values);
            if categorical {
                Feature::new(name, DType::Categorical).with_categories(self.distinct.values)
            } else {
                Feature::new(name, DType::String)
            }
        } else {
            let feature = Feature::new(name, dtype);
            let ordered = dtype.is_numeric() || dtype == DType::Timestamp;
            if ordered && options.ranges && role != Role::Id {
                let (min, max) = self.range.bounds();
                feature.with_range(min, max)
            } else {
                feature
            }
        };
        feature.with_nullable(nullable).with_role(role)
    }
}

/// The observed extent of finite values, and whether infinities were seen.
#[derive(Clone, Copy, Debug, Default)]
struct Range {
    min: Option<f64>,
    max: Option<f64>,
    neg_inf: bool,
    pos_inf: bool,
}

impl Range {
    fn observe(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        if x == f64::INFINITY {
            self.pos_inf = true;
        } else if x == f64::NEG_INFINITY {
            self.neg_inf = true;
        } else {
            self.min = Some(self.min.map_or(x, |m| m.min(x)));
            self.max = Some(self.max.map_or(x, |m| m.max(x)));
        }
    }

    /// The bounds: an end is open when an infinity was seen there.
    fn bounds(self) -> (Option<f64>, Option<f64>) {
        (self.min.filter(|_| !self.neg_inf), self.max.filter(|_| !self.pos_inf))
    }
}

/// Distinct strings, kept sorted until there are more than the limit.
#[derive(Debug, Default)]
struct Distinct {
    values: BTreeSet<String>,
    overflow: bool,
}

impl Distinct {
    fn observe(&mut self, s: &str, limit: usize) {
        if self.overflow || self.values.contains(s) {
            return;
        }
        if self.values.len() >= limit {
            self.overflow = true;
            self.values = BTreeSet::new();
        } else {
            self.values.insert(s.to_owned());
        }
    }

    fn len(&self) -> usize {
        self.values.len()
    }
}

const BOOL: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 4;
const TIMESTAMP: u8 = 8;

/// A CSV column under inference: which types every cell so far fits.
#[derive(Debug)]
struct TextColumn {
    summary: Summary,
    candidates: u8,
    numbers: Range,
    times: Range,
}

impl Default for TextColumn {
    fn default() -> Self {
        Self {
            summary: Summary::default(),
            candidates: BOOL | INT | FLOAT | TIMESTAMP,
            numbers: Range::default(),
            times: Range::default(),
        }
    }
}

impl TextColumn {
    /// Records a non-null cell.
    fn observe(&mut self, text: &str, max_categories: usize) {
        self.summary.values += 1;
        if self.candidates & BOOL != 0 && !is_bool_word(text) {
            self.candidates &= !BOOL;
        }
        // Parsed as `ColumnBuilder::push_text` does, so the data reads back.
        if self.candidates & INT != 0 && text.trim().parse::<i64>().is_err() {
            self.candidates &= !INT;
        }
        if self.candidates & FLOAT != 0 {
            match parse_float(text) {
                Some(x) => self.numbers.observe(x),
                None => self.candidates &= !FLOAT,
            }
        }
        if self.candidates & TIMESTAMP != 0 {
            match parse_micros(text) {
                #[allow(clippy::cast_precision_loss)] // bounds are f64 by design
                Some(t) => self.times.observe(t as f64),
                None => self.candidates &= !TIMESTAMP,
            }
        }
        self.summary.distinct.observe(text, max_categories);
    }

    fn into_feature(self, name: String, role: Role, options: &InferOptions) -> Feature {
        let Self {
            mut summary,
            candidates,
            numbers,
            times,
        } = self;
        let evidence = if candidates & BOOL != 0 {
            Evidence::Typed(DType::Bool)
        } else if candidates & INT != 0 {
            summary.range = numbers;
            Evidence::Typed(DType::Int64)
        } else if candidates & FLOAT != 0 {
            summary.range = numbers;
            Evidence::Typed(DType::Float64)
        } else if candidates & TIMESTAMP != 0 {
            summary.range = times;
            Evidence::Typed(DType::Timestamp)
        } else {
            Evidence::Text
        };
        // A column without values fits every candidate: it has no type.
        let evidence = if summary.values == 0 { Evidence::Text } else { evidence };
        summary.into_feature(name, evidence, role, options)
    }
}

/// `true`/`false`/`yes`/`no` in any case, surrounding white space ignored.
fn is_bool_word(text: &str) -> bool {
    let t = text.trim();
    ["true", "false", "yes", "no"].iter().any(|w| t.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(csv: &str) -> Result<Schema> {
        Schema::infer_csv_bytes(csv.as_bytes(), "t.csv", &InferOptions::default())
    }

    fn dtype(schema: &Schema, name: &str) -> Option<DType> {
        schema.feature(name).map(|f| f.dtype)
    }

    #[test]
    fn type_rules() {
        let s = infer(
            "b,i,f,t,s,z\nyes,1,1,2024-01-01,x,0\nNO,-2,2.5,2024-01-02T10:00:00Z,y,1\nTrue,3,1e3,2024-01-03,x,1\n",
        )
        .unwrap();
        assert_eq!(dtype(&s, "b"), Some(DType::Bool));
        assert_eq!(dtype(&s, "i"), Some(DType::Int64));
        assert_eq!(dtype(&s, "f"), Some(DType::Float64));
        assert_eq!(dtype(&s, "t"), Some(DType::Timestamp));
        assert_eq!(dtype(&s, "z"), Some(DType::Int64), "0/1 is an integer, not a bool");
        let t = s.feature("t").unwrap();
        assert_eq!(t.min, crate::timestamp::parse_micros("2024-01-01").map(|m| m as f64));
        let f = s.feature("f").unwrap();
        assert_eq!((f.min, f.max), (Some(1.0), Some(1000.0)));
        // 2 distinct values in 3 cells: more than half, so free text.
        assert_eq!(dtype(&s, "s"), Some(DType::String));
    }

    #[test]
    fn infinities_open_the_range_and_all_null_is_string() {
        let s = infer("x,n\n1,NA\ninf,\n-3,NA\n").unwrap();
        let x = s.feature("x").unwrap();
        assert_eq!((x.dtype, x.min, x.max), (DType::Float64, Some(-3.0), None));
        let n = s.feature("n").unwrap();
        assert_eq!((n.dtype, n.nullable), (DType::String, true));
    }

    #[test]
    fn category_limit_and_roles() {
        let mut csv = String::from("c,id\n");
        for i in 0..10 {
            csv.push_str(&format!("v{},{i}\n", i % 5));
        }
        let opts = InferOptions::default().with_role("id", Role::Id);
        let s = Schema::infer_csv_bytes(csv.as_bytes(), "t.csv", &opts).unwrap();
        assert_eq!(dtype(&s, "c"), Some(DType::Categorical));
        let id = s.feature("id").unwrap();
        assert_eq!((id.role, id.min, id.max), (Role::Id, None, None));
        let s = Schema::infer_csv_bytes(csv.as_bytes(), "t.csv", &opts.clone().with_max_categories(4)).unwrap();
        assert_eq!(dtype(&s, "c"), Some(DType::String));
        let e = Schema::infer_csv_bytes(csv.as_bytes(), "t.csv", &opts.with_label("nope")).unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
    }

    #[test]
    fn sample_rows_limits_reading() {
        let opts = InferOptions::default().with_sample_rows(Some(2));
        let s = Schema::infer_csv_bytes(b"x\n1\n2\nthree\n", "t.csv", &opts).unwrap();
        assert_eq!(dtype(&s, "x"), Some(DType::Int64));
        assert_eq!(s.feature("x").unwrap().max, Some(2.0));
    }
}
