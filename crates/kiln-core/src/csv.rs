//! Reading CSV into [`Batch`]es, guided by a [`Schema`].
//!
//! The header row names the columns; they are matched to features by name,
//! in any order. Columns the schema does not know are skipped; a feature with
//! no column is all-null when it is nullable and an error otherwise. Every
//! error names the source, the 1-based line and the column.

use std::collections::VecDeque;
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
}

impl CsvReader {
    /// A reader for data of `schema`, comma-separated, with
    /// [`DEFAULT_NULL_TOKENS`].
    #[must_use]
    pub fn new(schema: Schema) -> Self {
        Self {
            schema,
            delimiter: b',',
            null_tokens: DEFAULT_NULL_TOKENS.iter().map(|s| (*s).to_owned()).collect(),
            trim: false,
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

    /// The schema the reader fills.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
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
    /// larger than memory. Fails at once when the header does not fit the schema.
    pub fn batches<R: Read>(&self, reader: R, source_name: &str, batch_size: usize) -> Result<CsvBatches<R>> {
        let mut csv = raw_reader(reader, self.delimiter);
        let header = read_header(&mut csv, source_name)?;
        let mut map: Vec<Option<usize>> = Vec::with_capacity(header.len());
        let mut found = vec![false; self.schema.len()];
        for (col, raw) in header.iter().enumerate() {
            let name = header_name(raw, col, source_name)?;
            let idx = self.schema.index_of(name);
            if let Some(i) = idx {
                if found[i] {
                    return Err(Error::Csv {
                        source_name: source_name.to_owned(),
                        line: 1,
                        column: Some(name.to_owned()),
                        message: "column appears twice in the header".to_owned(),
                    });
                }
                found[i] = true;
            }
            map.push(idx);
        }
        let skipped = map.iter().filter(|m| m.is_none()).count();
        if skipped > 0 {
            tracing::debug!(source = source_name, skipped, "CSV columns not in the schema are skipped");
        }
        for (f, present) in self.schema.features().iter().zip(&found) {
            if !present && !f.nullable {
                return Err(Error::Csv {
                    source_name: source_name.to_owned(),
                    line: 1,
                    column: Some(f.name.clone()),
                    message: "required column is missing from the header".to_owned(),
                });
            }
        }
        Ok(CsvBatches {
            reader: self.clone(),
            csv,
            source_name: source_name.to_owned(),
            map,
            header_len: header.len(),
            batch_size: batch_size.max(1),
            record: ::csv::ByteRecord::new(),
            done: false,
        })
    }
}

/// Batches streamed from a CSV source; see [`CsvReader::batches`].
#[derive(Debug)]
pub struct CsvBatches<R> {
    reader: CsvReader,
    csv: RawReader<R>,
    source_name: String,
    map: Vec<Option<usize>>,
    header_len: usize,
    batch_size: usize,
    record: ::csv::ByteRecord,
    done: bool,
}

impl<R: Read> CsvBatches<R> {
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let schema = self.reader.schema.clone();
        let mut builders: Vec<ColumnBuilder> =
            schema.features().iter().map(|f| ColumnBuilder::new(f.dtype)).collect();
        let mut rows = 0usize;
        while rows < self.batch_size {
            let Some(line) = next_row(&mut self.csv, &mut self.record, self.header_len, &self.source_name)? else {
                self.done = true;
                break;
            };
            let mut filled = vec![false; builders.len()];
            for (col, raw) in self.record.iter().enumerate() {
                let Some(fi) = self.map[col] else { continue };
                let feature = &schema.features()[fi];
                let text = cell_text(raw, self.reader.trim, &self.source_name, line, &feature.name)?;
                let b = &mut builders[fi];
                if self.reader.null_tokens.iter().any(|t| t == text) {
                    b.push_null();
                } else {
                    b.push_text(text).map_err(|expected| Error::Csv {
                        source_name: self.source_name.clone(),
                        line,
                        column: Some(feature.name.clone()),
                        message: format!("expected {expected}, got {:?}", truncate(text)),
                    })?;
                }
                filled[fi] = true;
            }
            for (b, f) in builders.iter_mut().zip(filled) {
                if !f {
                    b.push_null();
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
        Batch::with_rows(schema, columns, rows).map(Some)
    }
}

impl<R: Read> Iterator for CsvBatches<R> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch();
        if out.is_err() {
            self.done = true;
        }
        out.transpose()
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
            && record.iter().next_back().is_some_and(|f| f.iter().any(|b| matches!(b, b'\n' | b'\r')))
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
        let e = r.read_bytes(b"a,b\n1,x\n2\n", "f.csv").map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("found 1"), "{e}");
        let e = r.read_bytes(b"a\n1\n", "f.csv").map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("\"b\"") && e.contains("missing"), "{e}");
        let e = r.read_bytes(b"a,b\n1,\xff\n", "f.csv").map(|_| ()).unwrap_err().to_string();
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
