//! Reading CSV into [`Batch`]es, guided by a [`Schema`].
//!
//! The header row names the columns; they are matched to features by name,
//! in any order. Columns the schema does not know are skipped (their names
//! are kept: [`CsvBatches::unknown_columns`]); a feature with no column is
//! all-null when it is nullable and an error otherwise. Every error names the
//! source, the 1-based line and the column.
//!
//! # Strict and lenient reading
//!
//! By default the reader is strict: a cell that does not parse as its
//! feature's type, or a required column missing from the header, is an
//! [`Error::Csv`]. A lenient reader ([`CsvReader::with_lenient`]), which is
//! what validation uses, reads on instead and records what it found:
//!
//! | problem | strict | lenient |
//! |---|---|---|
//! | a cell that does not parse (`abc` in an `int64` column) | error | the cell is null in the batch and recorded as a [`BadCell`] ([`CsvBatches::next_with_issues`]) |
//! | a required column missing from the header | error | the column is all-null and named by [`CsvBatches::missing_columns`] |
//! | a column the schema does not declare | skipped, named by [`CsvBatches::unknown_columns`] | the same |
//! | a ragged row, invalid UTF-8, an unbalanced quote, a column named twice | error | error |
//!
//! The last row of the table stays an error in both modes: those are faults
//! of the file's structure, not of values. A row with too few or too many
//! fields cannot be lined up with the header, so no cell of it can be
//! attributed to a feature.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::batch::{Batch, ColumnBuilder};
use crate::schema::Schema;
use crate::{Error, Result};

/// Cells that mean "missing" unless configured otherwise (as pandas reads them).
pub const DEFAULT_NULL_TOKENS: &[&str] = &["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"];

/// A schema-guided CSV reader.
///
/// ```
/// use kiln_core::{CsvReader, DType, Feature, Schema};
/// let schema = Schema::new(vec![Feature::new("x", DType::Int64)])?;
/// let err = CsvReader::new(schema).read_bytes(b"x\n1\ntwo\n", "data.csv").unwrap_err();
/// assert_eq!(err.to_string(), "data.csv: line 3, column \"x\": expected an integer, got \"two\"");
/// # Ok::<(), kiln_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CsvReader {
    schema: Schema,
    delimiter: u8,
    null_tokens: Vec<String>,
    trim: bool,
    lenient: bool,
}

impl CsvReader {
    /// A strict reader for data of `schema`, comma-separated, with
    /// [`DEFAULT_NULL_TOKENS`].
    #[must_use]
    pub fn new(schema: Schema) -> Self {
        Self {
            schema,
            delimiter: b',',
            null_tokens: DEFAULT_NULL_TOKENS.iter().map(|s| (*s).to_owned()).collect(),
            trim: false,
            lenient: false,
        }
    }

    /// Sets the field delimiter (`b'\t'` for TSV).
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Replaces the cells read as null.
    #[must_use]
    pub fn with_null_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.null_tokens = tokens.into_iter().map(Into::into).collect();
        self
    }

    /// Trims white space around every cell (off by default).
    #[must_use]
    pub fn with_trim(mut self, trim: bool) -> Self {
        self.trim = trim;
        self
    }

    /// Reads leniently (off by default): a cell that does not parse as its
    /// feature's type becomes a null and is recorded as a [`BadCell`], and a
    /// required column missing from the header becomes an all-null column
    /// named by [`CsvBatches::missing_columns`]; see the [module
    /// documentation](self). Faults of the file's structure (ragged rows,
    /// invalid UTF-8, unbalanced quotes) are errors all the same.
    ///
    /// The bad cells of a batch come with it from
    /// [`CsvBatches::next_with_issues`]; the other ways of reading
    /// ([`read`](Self::read), iterating [`CsvBatches`]) drop them.
    ///
    /// ```
    /// use kiln_core::{CsvReader, DType, Feature, Schema, ValueRef};
    /// let schema = Schema::new(vec![Feature::new("x", DType::Int64), Feature::new("y", DType::Float64)])?;
    /// let reader = CsvReader::new(schema).with_lenient(true);
    /// let mut batches = reader.batches("x,tag\n1,a\ntwo,b\n".as_bytes(), "data.csv", 100)?;
    /// assert_eq!(batches.missing_columns(), ["y"]);
    /// assert_eq!(batches.unknown_columns(), ["tag"]);
    ///
    /// let (batch, issues) = batches.next_with_issues().unwrap()?;
    /// assert_eq!(batch.value(1, 0), ValueRef::Null);
    /// let bad = &issues.bad_cells[0];
    /// assert_eq!((bad.row, bad.line, bad.feature, bad.text.as_str()), (1, 3, 0, "two"));
    /// assert_eq!(bad.expected, "an integer");
    /// # Ok::<(), kiln_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_lenient(mut self, lenient: bool) -> Self {
        self.lenient = lenient;
        self
    }

    /// The schema the reader fills.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Whether the reader is lenient ([`with_lenient`](Self::with_lenient)).
    #[must_use]
    pub fn is_lenient(&self) -> bool {
        self.lenient
    }

    /// Reads a whole file into one batch.
    pub fn read_path(&self, path: impl AsRef<Path>) -> Result<Batch> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.read(file, &path.display().to_string())
    }

    /// Reads CSV bytes into one batch; `source_name` names them in errors.
    pub fn read_bytes(&self, bytes: &[u8], source_name: &str) -> Result<Batch> {
        self.read(bytes, source_name)
    }

    /// Reads everything from `reader` into one batch.
    pub fn read<R: Read>(&self, reader: R, source_name: &str) -> Result<Batch> {
        let mut batches = self.batches(reader, source_name, usize::MAX)?;
        let batch = batches.next().transpose()?;
        Ok(batch.unwrap_or_else(|| Batch::empty(self.schema.clone())))
    }

    /// Streams `reader` as batches of at most `batch_size` rows, for data
    /// larger than memory. Fails at once when the header does not fit the
    /// schema: a column named twice, or (unless lenient) a required column
    /// missing.
    pub fn batches<R: Read>(&self, reader: R, source_name: &str, batch_size: usize) -> Result<CsvBatches<R>> {
        let mut csv = raw_reader(reader, self.delimiter);
        let header = read_header(&mut csv, source_name)?;
        let mut map: Vec<Option<usize>> = Vec::with_capacity(header.len());
        let mut found = vec![false; self.schema.len()];
        let mut unknown: Vec<String> = Vec::new();
        // Headers may be very wide: a set to list each unknown name once.
        let mut unknown_seen: HashSet<&str> = HashSet::new();
        for (col, raw) in header.iter().enumerate() {
            let name = header_name(raw, col, source_name)?;
            let idx = self.schema.index_of(name);
            match idx {
                Some(i) if found[i] => {
                    return Err(Error::Csv {
                        source_name: source_name.to_owned(),
                        line: 1,
                        column: Some(name.to_owned()),
                        message: "column appears twice in the header".to_owned(),
                    });
                }
                Some(i) => found[i] = true,
                None => {
                    if unknown_seen.insert(name) {
                        unknown.push(name.to_owned());
                    }
                }
            }
            map.push(idx);
        }
        if !unknown.is_empty() {
            tracing::debug!(
                source = source_name,
                ?unknown,
                "CSV columns not in the schema are skipped"
            );
        }
        let mut absent = Vec::new();
        for (i, (f, present)) in self.schema.features().iter().zip(&found).enumerate() {
            if *present {
                continue;
            }
            if !f.nullable && !self.lenient {
                return Err(Error::Csv {
                    source_name: source_name.to_owned(),
                    line: 1,
                    column: Some(f.name.clone()),
                    message: "required column is missing from the header".to_owned(),
                });
            }
            absent.push(i);
        }
        let missing = absent.iter().map(|&i| self.schema.features()[i].name.clone()).collect();
        Ok(CsvBatches {
            reader: self.clone(),
            csv,
            source_name: source_name.to_owned(),
            map,
            absent,
            missing,
            unknown,
            header_len: header.len(),
            batch_size: batch_size.max(1),
            record: ::csv::ByteRecord::new(),
            done: false,
        })
    }
}

/// A cell a lenient reader could not read as its feature's type; it is null
/// in the batch. See [`CsvReader::with_lenient`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadCell {
    /// The row within its batch, from 0.
    pub row: usize,
    /// The 1-based line of the source where the row starts (the header is line 1).
    pub line: u64,
    /// The feature's index in the reader's schema.
    pub feature: usize,
    /// The cell's text, whole (trimmed when the reader trims), so that a
    /// validator can treat it exactly as it would the same string in a
    /// record. Cut it before showing it to anyone.
    pub text: String,
    /// What the feature's type expects (`"an integer"`, `"a number"`, ...).
    pub expected: &'static str,
}

/// What a lenient reader found in one batch besides its values; see
/// [`CsvBatches::next_with_issues`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsvIssues {
    /// The cells that did not parse, in reading order (by row, then by
    /// column of the file).
    pub bad_cells: Vec<BadCell>,
}

impl CsvIssues {
    /// Whether nothing was found.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bad_cells.is_empty()
    }
}

/// Batches streamed from a CSV source; see [`CsvReader::batches`].
///
/// Iterating gives the batches alone; [`next_with_issues`](Self::next_with_issues)
/// gives each with what a lenient reader recorded about it.
#[derive(Debug)]
pub struct CsvBatches<R> {
    reader: CsvReader,
    csv: RawReader<R>,
    source_name: String,
    /// The feature of each header column.
    map: Vec<Option<usize>>,
    /// Features without a column, ascending.
    absent: Vec<usize>,
    /// Their names.
    missing: Vec<String>,
    unknown: Vec<String>,
    header_len: usize,
    batch_size: usize,
    record: ::csv::ByteRecord,
    done: bool,
}

impl<R: Read> CsvBatches<R> {
    /// The header's columns that the reader's schema does not declare, in
    /// header order, each name once. Their cells are not read.
    #[must_use]
    pub fn unknown_columns(&self) -> &[String] {
        &self.unknown
    }

    /// The features of the reader's schema that have no column in the
    /// header, in schema order; their columns are all-null. A strict reader
    /// only lets nullable features go missing; a lenient one any.
    #[must_use]
    pub fn missing_columns(&self) -> &[String] {
        &self.missing
    }

    /// The next batch with what was recorded while reading it (bad cells
    /// of a lenient reader; always empty for a strict one, which fails on
    /// them instead). `None` at the end of the input or after an error.
    pub fn next_with_issues(&mut self) -> Option<Result<(Batch, CsvIssues)>> {
        if self.done {
            return None;
        }
        let out = self.next_batch();
        if out.is_err() {
            self.done = true;
        }
        out.transpose()
    }

    fn next_batch(&mut self) -> Result<Option<(Batch, CsvIssues)>> {
        let schema = self.reader.schema.clone();
        let mut builders: Vec<ColumnBuilder> = schema.features().iter().map(|f| ColumnBuilder::new(f.dtype)).collect();
        let mut issues = CsvIssues::default();
        let mut rows = 0usize;
        while rows < self.batch_size {
            let Some(line) = next_row(&mut self.csv, &mut self.record, self.header_len, &self.source_name)? else {
                self.done = true;
                break;
            };
            // Every row has a field per header column and every feature at
            // most one column: each feature gets one value per row.
            for (col, raw) in self.record.iter().enumerate() {
                let Some(fi) = self.map[col] else { continue };
                let feature = &schema.features()[fi];
                let text = cell_text(raw, self.reader.trim, &self.source_name, line, &feature.name)?;
                let b = &mut builders[fi];
                if self.reader.null_tokens.iter().any(|t| t == text) {
                    b.push_null();
                } else if let Err(expected) = b.push_text(text) {
                    if !self.reader.lenient {
                        return Err(Error::Csv {
                            source_name: self.source_name.clone(),
                            line,
                            column: Some(feature.name.clone()),
                            message: format!("expected {expected}, got {:?}", truncate(text)),
                        });
                    }
                    b.push_null();
                    issues.bad_cells.push(BadCell {
                        row: rows,
                        line,
                        feature: fi,
                        text: text.to_owned(),
                        expected,
                    });
                }
            }
            for &fi in &self.absent {
                builders[fi].push_null();
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
        Ok(Some((Batch::with_rows(schema, columns, rows)?, issues)))
    }
}

impl<R: Read> Iterator for CsvBatches<R> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_with_issues()?.map(|(batch, issues)| {
            if !issues.is_empty() {
                tracing::debug!(
                    source = self.source_name,
                    bad_cells = issues.bad_cells.len(),
                    "unparsable CSV cells read as null"
                );
            }
            batch
        }))
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        let mut t: String = s.chars().take(40).collect();
        t.push_str("...");
        t
    } else {
        s.to_owned()
    }
}

/// The input of a [`RawReader`]. It keeps what [`next_row`] needs beyond the
/// `csv` crate:
///
/// * whether the end was reached and the last byte other than a line break,
///   to tell a quoted field closed at the end of the input from one never
///   closed (which the `csv` crate accepts, silently merging the rest of the
///   file into it);
/// * the runs of line-break bytes not yet passed by the parser, to correct
///   record line numbers: the `csv` crate takes a record's position before
///   skipping the blank lines and the `\n` of a `\r\n` that precede it, so
///   its line lags there.
#[derive(Debug)]
pub(crate) struct Input<R> {
    inner: R,
    offset: u64,
    newlines: u64,
    runs: VecDeque<BreakRun>,
    last: Option<u8>,
    eof: bool,
}

/// Bytes `start..end` are all `\r` or `\n`; `newlines` counts the `\n`s of
/// the input before `end`.
#[derive(Debug)]
struct BreakRun {
    start: u64,
    end: u64,
    newlines: u64,
}

impl<R> Input<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            newlines: 0,
            runs: VecDeque::new(),
            last: None,
            eof: false,
        }
    }

    /// The 1-based line of the first byte of the record at `pos`. Records
    /// come in order, so runs before `pos` are dropped.
    fn line_of(&mut self, pos: &::csv::Position) -> u64 {
        let byte = pos.byte();
        while self.runs.front().is_some_and(|r| r.end <= byte) {
            self.runs.pop_front();
        }
        match self.runs.front() {
            // The record starts with skipped line breaks: its line is the
            // one after them.
            Some(run) if run.start <= byte => run.newlines + 1,
            _ => pos.line(),
        }
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof |= !buf.is_empty();
            return Ok(0);
        }
        let read = &buf[..n];
        for (at, &b) in (self.offset..).zip(read) {
            if b != b'\n' && b != b'\r' {
                continue;
            }
            self.newlines += u64::from(b == b'\n');
            match self.runs.back_mut() {
                Some(run) if run.end == at => {
                    run.end = at + 1;
                    run.newlines = self.newlines;
                }
                _ => self.runs.push_back(BreakRun {
                    start: at,
                    end: at + 1,
                    newlines: self.newlines,
                }),
            }
        }
        self.offset += n as u64;
        if let Some(&b) = read.iter().rev().find(|b| !matches!(b, b'\n' | b'\r')) {
            self.last = Some(b);
        }
        Ok(n)
    }
}

/// A `csv` reader over an [`Input`].
pub(crate) type RawReader<R> = ::csv::Reader<Input<R>>;

/// A reader of raw records: no header handling (the caller reads the header
/// with [`read_header`]) and no field-count check (done by [`next_row`], with
/// a better message).
pub(crate) fn raw_reader<R: Read>(reader: R, delimiter: u8) -> RawReader<R> {
    ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(Input::new(reader))
}

/// Reads the header row; [`Error::Empty`] when the input has none.
pub(crate) fn read_header<R: Read>(csv: &mut RawReader<R>, source_name: &str) -> Result<::csv::ByteRecord> {
    let mut header = ::csv::ByteRecord::new();
    let got_header = csv
        .read_byte_record(&mut header)
        .map_err(|e| csv_error(source_name, &e, None))?;
    if !got_header {
        return Err(Error::Empty(format!("{source_name} (no header row)")));
    }
    Ok(header)
}

/// The column name in header cell `col` (0-based): UTF-8, without a byte
/// order mark or surrounding white space.
pub(crate) fn header_name<'a>(raw: &'a [u8], col: usize, source_name: &str) -> Result<&'a str> {
    let name = std::str::from_utf8(raw).map_err(|_| Error::Csv {
        source_name: source_name.to_owned(),
        line: 1,
        column: Some(format!("#{}", col + 1)),
        message: "header is not valid UTF-8".to_owned(),
    })?;
    Ok(name.trim_start_matches('\u{feff}').trim())
}

/// Reads the next data row into `record`, skipping blank lines; returns its
/// 1-based line, or `None` at the end. A row whose field count differs from
/// the header's is an error, and so is a quoted field left open.
pub(crate) fn next_row<R: Read>(
    csv: &mut RawReader<R>,
    record: &mut ::csv::ByteRecord,
    header_len: usize,
    source_name: &str,
) -> Result<Option<u64>> {
    loop {
        let more = csv
            .read_byte_record(record)
            .map_err(|e| csv_error(source_name, &e, None))?;
        if !more {
            return Ok(None);
        }
        let line = record.position().map_or(0, |p| csv.get_mut().line_of(p));
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) && header_len > 1 {
            continue; // a blank line
        }
        if record.len() != header_len {
            // A quoted field that swallowed line breaks is the usual sign of
            // an unbalanced quote.
            let hint = if record.iter().any(|f| f.contains(&b'\n')) {
                " (a field spans several lines: is a quote unbalanced?)"
            } else {
                ""
            };
            return Err(Error::Csv {
                source_name: source_name.to_owned(),
                line,
                column: None,
                message: format!(
                    "expected {header_len} fields as in the header, found {}{hint}",
                    record.len()
                ),
            });
        }
        // A field with a line break was quoted; when it ends the input, the
        // input must end with its closing quote.
        let input = csv.get_ref();
        if input.eof
            && input.last != Some(b'"')
            && record
                .iter()
                .next_back()
                .is_some_and(|f| f.iter().any(|b| matches!(b, b'\n' | b'\r')))
        {
            return Err(Error::Csv {
                source_name: source_name.to_owned(),
                line,
                column: None,
                message: "a quoted field in the last column is never closed (unbalanced quote): \
                          it runs to the end of the input"
                    .to_owned(),
            });
        }
        return Ok(Some(line));
    }
}

/// A data cell as text, trimmed when `trim` is set.
pub(crate) fn cell_text<'a>(raw: &'a [u8], trim: bool, source_name: &str, line: u64, column: &str) -> Result<&'a str> {
    let text = std::str::from_utf8(raw).map_err(|e| Error::Csv {
        source_name: source_name.to_owned(),
        line,
        column: Some(column.to_owned()),
        message: format!("invalid UTF-8 at byte {} of the cell", e.valid_up_to()),
    })?;
    Ok(if trim { text.trim() } else { text })
}

pub(crate) fn csv_error(source_name: &str, e: &::csv::Error, column: Option<String>) -> Error {
    let line = e.position().map_or(0, ::csv::Position::line);
    let message = match e.kind() {
        ::csv::ErrorKind::Io(io) => format!("read error: {io}"),
        ::csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8: {err}"),
        ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields, found {len}")
        }
        _ => e.to_string(),
    };
    Error::Csv {
        source_name: source_name.to_owned(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DType, Feature};

    fn schema() -> Schema {
        Schema::new(vec![
            Feature::new("a", DType::Float64).with_nullable(true),
            Feature::new("b", DType::Categorical),
            Feature::new("c", DType::Bool).with_nullable(true),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_any_column_order_and_nulls() {
        let csv = "b,extra,a\nx,1,NA\n\"y,z\",2,2.5\n";
        let batch = CsvReader::new(schema()).read_bytes(csv.as_bytes(), "t.csv");
        let batch = batch.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.value(1, 1), crate::ValueRef::Str("y,z"));
        assert!(batch.value(0, 0).is_null());
        assert_eq!(batch.column(2).map(crate::Column::null_count), Some(2));
    }

    #[test]
    fn errors_name_line_and_column() {
        let r = CsvReader::new(schema());
        let e = r
            .read_bytes(b"a,b\n1,x\n2\n", "f.csv")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("found 1"), "{e}");
        let e = r.read_bytes(b"a\n1\n", "f.csv").map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("\"b\"") && e.contains("missing"), "{e}");
        let e = r
            .read_bytes(b"a,b\n1,\xff\n", "f.csv")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
        let e = r.read_bytes(b"", "f.csv").map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("no header"), "{e}");
        let e = r.read_bytes(b"a,b,a\n", "f.csv").map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn streams_in_batches() {
        let mut csv = String::from("a,b\n");
        for i in 0..10 {
            csv.push_str(&format!("{i},x\n"));
        }
        let r = CsvReader::new(schema());
        let sizes: Vec<usize> = r
            .batches(csv.as_bytes(), "s", 4)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|b| b.map(|b| b.num_rows()).unwrap_or(0))
            .collect();
        assert_eq!(sizes, vec![4, 4, 2]);
    }
}
