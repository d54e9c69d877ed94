//! Columnar batches: one typed column per schema feature, with validity bitmaps.
//!
//! The memory layout follows Arrow (little-endian values, LSB-first bitmaps,
//! `i64` string offsets), so that conversion to Arrow moves buffers instead of
//! copying them (feature `arrow`).

use std::ops::Range;

use crate::schema::{DType, Schema};
use crate::timestamp::parse_micros;
use crate::value::{Record, Value, ValueRef};
use crate::{Error, Result};

/// A packed bit vector, least significant bit first (Arrow's layout).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitmap {
    bytes: Vec<u8>,
    len: usize,
}

impl Bitmap {
    /// An empty bitmap.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `len` bits, all set to `value`.
    #[must_use]
    pub fn filled(len: usize, value: bool) -> Self {
        let mut bytes = vec![if value { 0xff } else { 0 }; len.div_ceil(8)];
        if value
            && !len.is_multiple_of(8)
            && let Some(last) = bytes.last_mut()
        {
            *last = (1u8 << (len % 8)) - 1;
        }
        Self { bytes, len }
    }

    /// Wraps packed bytes; fails when `bytes` is too short for `len` bits.
    pub fn from_bytes(mut bytes: Vec<u8>, len: usize) -> Result<Self> {
        if bytes.len() < len.div_ceil(8) {
            return Err(Error::InvalidBatch(format!(
                "bitmap of {len} bits needs {} bytes, got {}",
                len.div_ceil(8),
                bytes.len()
            )));
        }
        bytes.truncate(len.div_ceil(8));
        if !len.is_multiple_of(8)
            && let Some(last) = bytes.last_mut()
        {
            *last &= (1u8 << (len % 8)) - 1;
        }
        Ok(Self { bytes, len })
    }

    /// Appends a bit.
    pub fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << (self.len % 8);
        }
        self.len += 1;
    }

    /// The bit at `i`; `false` out of bounds.
    #[must_use]
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.bytes[i / 8] & (1 << (i % 8)) != 0
    }

    /// The number of bits.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the bitmap has no bits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of set bits.
    #[must_use]
    pub fn count_ones(&self) -> usize {
        self.bytes.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The packed bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives up the packed bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The bits in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    fn slice(&self, range: Range<usize>) -> Self {
        range.map(|i| self.get(i)).collect()
    }
}

impl FromIterator<bool> for Bitmap {
    fn from_iter<I: IntoIterator<Item = bool>>(iter: I) -> Self {
        let mut b = Self::new();
        for bit in iter {
            b.push(bit);
        }
        b
    }
}

/// UTF-8 strings stored as one byte buffer plus `len + 1` offsets (Arrow's
/// `LargeUtf8` layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringColumn {
    offsets: Vec<i64>,
    // A `String`, so that reading a value is a slice with two char-boundary
    // checks instead of a UTF-8 validation of the value's bytes.
    data: String,
}

impl Default for StringColumn {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: String::new(),
        }
    }
}

impl StringColumn {
    /// An empty column.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps raw buffers after checking that offsets start at 0, never
    /// decrease, end at `data.len()` and split `data` on character boundaries.
    pub fn from_parts(offsets: Vec<i64>, data: Vec<u8>) -> Result<Self> {
        let bad = |m: &str| Err(Error::InvalidBatch(format!("string column: {m}")));
        if offsets.first() != Some(&0) {
            return bad("offsets must start at 0");
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return bad("offsets decrease");
        }
        if usize::try_from(*offsets.last().unwrap_or(&0)).ok() != Some(data.len()) {
            return bad("last offset is not the data length");
        }
        let Ok(data) = String::from_utf8(data) else {
            return bad("data is not UTF-8");
        };
        if offsets
            .iter()
            .any(|&o| usize::try_from(o).is_ok_and(|o| !data.is_char_boundary(o)))
        {
            return bad("an offset splits a character");
        }
        Ok(Self { offsets, data })
    }

    /// Appends a string.
    pub fn push(&mut self, s: &str) {
        self.data.push_str(s);
        self.offsets.push(self.data.len() as i64);
    }

    /// The string at `i`. Panics when `i` is out of bounds.
    #[must_use]
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        // Offsets lie on char boundaries (checked in `from_parts`, guaranteed
        // by `push`), so this slice cannot panic for an in-bounds `i`.
        &self.data[a..b]
    }

    /// The number of strings.
    #[must_use]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the column has no strings.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The strings in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The `len() + 1` offsets: string `i` is `values()[offsets[i]..offsets[i + 1]]`.
    ///
    /// Offsets start at 0, never decrease and end at `values().len()`.
    ///
    /// ```
    /// let c: kiln_core::StringColumn = ["ab", "", "c"].into_iter().collect();
    /// assert_eq!(c.offsets(), [0, 2, 2, 3]);
    /// assert_eq!(c.values(), "abc");
    /// ```
    #[must_use]
    #[inline]
    pub fn offsets(&self) -> &[i64] {
        &self.offsets
    }

    /// All strings, concatenated (see [`offsets`](Self::offsets)).
    #[must_use]
    #[inline]
    pub fn values(&self) -> &str {
        &self.data
    }

    /// The raw offsets and bytes.
    #[must_use]
    pub fn into_parts(self) -> (Vec<i64>, Vec<u8>) {
        (self.offsets, self.data.into_bytes())
    }
}

impl<'a> FromIterator<&'a str> for StringColumn {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut c = Self::new();
        for s in iter {
            c.push(s);
        }
        c
    }
}

/// The values of one column. Null slots hold a default value (0, false, "").
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ColumnData {
    /// `float32` features.
    Float32(Vec<f32>),
    /// `float64` features.
    Float64(Vec<f64>),
    /// `int64` and `timestamp` (microseconds since the epoch) features.
    Int64(Vec<i64>),
    /// `bool` features.
    Bool(Bitmap),
    /// `categorical` and `string` features.
    Utf8(StringColumn),
}

impl ColumnData {
    /// An empty column of the physical type that holds `dtype`.
    #[must_use]
    pub fn empty_for(dtype: DType) -> Self {
        match dtype {
            DType::Float32 => Self::Float32(Vec::new()),
            DType::Float64 => Self::Float64(Vec::new()),
            DType::Int64 | DType::Timestamp => Self::Int64(Vec::new()),
            DType::Bool => Self::Bool(Bitmap::new()),
            DType::Categorical | DType::String => Self::Utf8(StringColumn::new()),
        }
    }

    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Float32(v) => v.len(),
            Self::Float64(v) => v.len(),
            Self::Int64(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Utf8(v) => v.len(),
        }
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn fits(&self, dtype: DType) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(&Self::empty_for(dtype))
    }

    fn physical_name(&self) -> &'static str {
        match self {
            Self::Float32(_) => "float32 values",
            Self::Float64(_) => "float64 values",
            Self::Int64(_) => "int64 values",
            Self::Bool(_) => "bool values",
            Self::Utf8(_) => "strings",
        }
    }

    #[inline]
    fn value(&self, row: usize) -> ValueRef<'_> {
        match self {
            Self::Float32(v) => ValueRef::Float(f64::from(v[row])),
            Self::Float64(v) => ValueRef::Float(v[row]),
            Self::Int64(v) => ValueRef::Int(v[row]),
            Self::Bool(v) => ValueRef::Bool(v.get(row)),
            Self::Utf8(v) => ValueRef::Str(v.get(row)),
        }
    }

    fn push_default(&mut self) {
        match self {
            Self::Float32(v) => v.push(0.0),
            Self::Float64(v) => v.push(0.0),
            Self::Int64(v) => v.push(0),
            Self::Bool(v) => v.push(false),
            Self::Utf8(v) => v.push(""),
        }
    }

    fn slice(&self, r: Range<usize>) -> Self {
        match self {
            Self::Float32(v) => Self::Float32(v[r].to_vec()),
            Self::Float64(v) => Self::Float64(v[r].to_vec()),
            Self::Int64(v) => Self::Int64(v[r].to_vec()),
            Self::Bool(v) => Self::Bool(v.slice(r)),
            Self::Utf8(v) => Self::Utf8(r.map(|i| v.get(i)).collect()),
        }
    }
}

/// One column: values plus an optional validity bitmap (`None` = no nulls).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    data: ColumnData,
    validity: Option<Bitmap>,
}

impl Column {
    /// A column; `validity` (set bit = present) must have one bit per value.
    pub fn new(data: ColumnData, validity: Option<Bitmap>) -> Result<Self> {
        if let Some(v) = &validity
            && v.len() != data.len()
        {
            return Err(Error::InvalidBatch(format!(
                "validity has {} bits for {} values",
                v.len(),
                data.len()
            )));
        }
        // A bitmap with every bit set carries no information.
        let validity = validity.filter(|v| v.count_ones() != v.len());
        Ok(Self { data, validity })
    }

    /// The values.
    #[must_use]
    pub fn data(&self) -> &ColumnData {
        &self.data
    }

    /// The validity bitmap; `None` when no value is null.
    #[must_use]
    pub fn validity(&self) -> Option<&Bitmap> {
        self.validity.as_ref()
    }

    /// Splits into values and validity.
    #[must_use]
    pub fn into_parts(self) -> (ColumnData, Option<Bitmap>) {
        (self.data, self.validity)
    }

    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether the value at `row` is null.
    #[must_use]
    #[inline]
    pub fn is_null(&self, row: usize) -> bool {
        self.validity.as_ref().is_some_and(|v| !v.get(row))
    }

    /// The number of nulls.
    #[must_use]
    pub fn null_count(&self) -> usize {
        self.validity.as_ref().map_or(0, |v| v.len() - v.count_ones())
    }

    /// The value at `row`. Panics when `row` is out of bounds.
    #[must_use]
    #[inline]
    pub fn value(&self, row: usize) -> ValueRef<'_> {
        if self.is_null(row) {
            ValueRef::Null
        } else {
            self.data.value(row)
        }
    }
}

/// Appends values of one feature, checking each against the feature's type.
///
/// Used by the CSV reader and [`Batch::from_records`].
#[derive(Debug)]
pub struct ColumnBuilder {
    dtype: DType,
    data: ColumnData,
    validity: Bitmap,
    nulls: usize,
}

impl ColumnBuilder {
    /// A builder for a feature of type `dtype`.
    #[must_use]
    pub fn new(dtype: DType) -> Self {
        Self {
            dtype,
            data: ColumnData::empty_for(dtype),
            validity: Bitmap::new(),
            nulls: 0,
        }
    }

    /// Appends a null.
    pub fn push_null(&mut self) {
        self.data.push_default();
        self.validity.push(false);
        self.nulls += 1;
    }

    /// Appends a value; on a type mismatch returns the expected type's name
    /// and appends nothing.
    ///
    /// Accepted conversions: integers into float columns; integral floats
    /// into int columns; RFC 3339 strings or integers into timestamp columns;
    /// anything non-null into nothing else.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    pub fn push(&mut self, value: ValueRef<'_>) -> std::result::Result<(), &'static str> {
        let expected = self.dtype.as_str();
        match (&mut self.data, value) {
            (_, ValueRef::Null) => {
                self.push_null();
                return Ok(());
            }
            (ColumnData::Float32(v), ValueRef::Float(x)) => v.push(x as f32),
            (ColumnData::Float32(v), ValueRef::Int(i)) => v.push(i as f32),
            (ColumnData::Float64(v), ValueRef::Float(x)) => v.push(x),
            (ColumnData::Float64(v), ValueRef::Int(i)) => v.push(i as f64),
            (ColumnData::Int64(v), ValueRef::Int(i)) => v.push(i),
            (ColumnData::Int64(v), ValueRef::Float(x)) if self.dtype == DType::Int64 && is_integral(x) => {
                v.push(x as i64);
            }
            (ColumnData::Int64(v), ValueRef::Str(s)) if self.dtype == DType::Timestamp => {
                v.push(parse_micros(s).ok_or("an RFC 3339 timestamp")?);
            }
            (ColumnData::Bool(v), ValueRef::Bool(b)) => v.push(b),
            (ColumnData::Utf8(v), ValueRef::Str(s)) => v.push(s),
            _ => return Err(expected),
        }
        self.validity.push(true);
        Ok(())
    }

    /// Parses one text cell (CSV) and appends it. The caller handles null
    /// tokens; `text` is never null here.
    pub fn push_text(&mut self, text: &str) -> std::result::Result<(), &'static str> {
        let parsed = match self.dtype {
            DType::Float32 | DType::Float64 => ValueRef::Float(parse_float(text).ok_or("a number")?),
            DType::Int64 => ValueRef::Int(text.trim().parse().map_err(|_| "an integer")?),
            DType::Bool => ValueRef::Bool(parse_bool(text).ok_or("a boolean (true/false, yes/no, 1/0)")?),
            DType::Timestamp => {
                let t = text.trim();
                ValueRef::Int(
                    t.parse()
                        .ok()
                        .or_else(|| parse_micros(t))
                        .ok_or("an RFC 3339 timestamp")?,
                )
            }
            DType::Categorical | DType::String => ValueRef::Str(text),
        };
        self.push(parsed)
    }

    /// The number of values so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.validity.len()
    }

    /// Whether nothing was appended.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.validity.is_empty()
    }

    /// The finished column.
    #[must_use]
    pub fn finish(self) -> Column {
        let validity = (self.nulls > 0).then_some(self.validity);
        Column {
            data: self.data,
            validity,
        }
    }
}

fn is_integral(x: f64) -> bool {
    x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15
}

/// Parses a float the way CSV exports write them (`1.5`, `-2e3`, `inf`, `NaN`),
/// ignoring surrounding white space.
#[must_use]
pub fn parse_float(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// Parses `true/false`, `yes/no`, `t/f`, `y/n` (any case) and `1/0`.
#[must_use]
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// A columnar batch of rows: one [`Column`] per feature of its [`Schema`].
///
/// ```
/// use kiln_core::{Batch, DType, Feature, Record, Schema};
/// let schema = Schema::new(vec![
///     Feature::new("x", DType::Float64).with_nullable(true),
///     Feature::new("island", DType::Categorical),
/// ])?;
/// let rows = vec![
///     Record::new().with("x", 1.5).with("island", "Dream"),
///     Record::new().with("island", "Biscoe"),
/// ];
/// let batch = Batch::from_records(schema, &rows)?;
/// assert_eq!(batch.num_rows(), 2);
/// assert_eq!(batch.column_by_name("x").unwrap().null_count(), 1);
/// assert_eq!(batch.to_records()[0], rows[0]);
/// # Ok::<(), kiln_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    schema: Schema,
    columns: Vec<Column>,
    rows: usize,
}

impl Batch {
    /// Assembles a batch, checking one column per feature, of the right
    /// physical type and equal lengths.
    pub fn new(schema: Schema, columns: Vec<Column>) -> Result<Self> {
        if columns.len() != schema.len() {
            return Err(Error::InvalidBatch(format!(
                "{} columns for {} features",
                columns.len(),
                schema.len()
            )));
        }
        let rows = columns.first().map_or(0, Column::len);
        for (f, c) in schema.features().iter().zip(&columns) {
            if !c.data.fits(f.dtype) {
                return Err(Error::InvalidBatch(format!(
                    "feature {:?} is {} but its column holds {}",
                    f.name,
                    f.dtype,
                    c.data.physical_name()
                )));
            }
            if c.len() != rows {
                return Err(Error::InvalidBatch(format!(
                    "feature {:?} has {} rows, expected {rows}",
                    f.name,
                    c.len()
                )));
            }
        }
        Ok(Self { schema, columns, rows })
    }

    /// [`Batch::new`] for a known row count, which a schema without
    /// features cannot take from its (absent) columns.
    pub(crate) fn with_rows(schema: Schema, columns: Vec<Column>, rows: usize) -> Result<Self> {
        let mut batch = Self::new(schema, columns)?;
        if batch.columns.is_empty() {
            batch.rows = rows;
        } else if batch.rows != rows {
            return Err(Error::InvalidBatch(format!("{} rows, expected {rows}", batch.rows)));
        }
        Ok(batch)
    }

    /// An empty batch of `schema`.
    #[must_use]
    pub fn empty(schema: Schema) -> Self {
        let columns = schema
            .features()
            .iter()
            .map(|f| ColumnBuilder::new(f.dtype).finish())
            .collect();
        Self {
            schema,
            columns,
            rows: 0,
        }
    }

    /// Converts records into a batch. Features a record lacks are null;
    /// fields the schema lacks are ignored (the validator reports both).
    /// A value of the wrong type is an [`Error::TypeMismatch`] naming feature and row.
    pub fn from_records(schema: Schema, records: &[Record]) -> Result<Self> {
        let mut builders: Vec<_> = schema.features().iter().map(|f| ColumnBuilder::new(f.dtype)).collect();
        for (row, record) in records.iter().enumerate() {
            for (f, b) in schema.features().iter().zip(&mut builders) {
                let v = record.get(&f.name).map_or(ValueRef::Null, Value::as_ref);
                b.push(v).map_err(|expected| Error::TypeMismatch {
                    feature: f.name.clone(),
                    row: Some(row),
                    expected: expected.to_owned(),
                    got: format!("{} {v}", v.kind()),
                })?;
            }
        }
        let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
        Self::with_rows(schema, columns, records.len())
    }

    /// The schema.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The number of rows.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// The columns, in schema order.
    #[must_use]
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column at position `i`.
    #[must_use]
    pub fn column(&self, i: usize) -> Option<&Column> {
        self.columns.get(i)
    }

    /// The column of the feature called `name`.
    #[must_use]
    pub fn column_by_name(&self, name: &str) -> Option<&Column> {
        self.schema.index_of(name).map(|i| &self.columns[i])
    }

    /// The value at (`row`, `col`). Panics when out of bounds.
    #[must_use]
    #[inline]
    pub fn value(&self, row: usize, col: usize) -> ValueRef<'_> {
        self.columns[col].value(row)
    }

    /// Row `row` as a record (every feature, nulls included).
    #[must_use]
    pub fn record(&self, row: usize) -> Record {
        let mut r = Record::with_capacity(self.columns.len());
        for (f, c) in self.schema.features().iter().zip(&self.columns) {
            r.push_unchecked(f.name.clone(), c.value(row).to_owned());
        }
        r
    }

    /// Every row as a record. Nulls are written as [`Value::Null`], so
    /// `Batch::from_records(schema, &batch.to_records())` gives the batch back.
    #[must_use]
    pub fn to_records(&self) -> Vec<Record> {
        (0..self.rows).map(|r| self.record(r)).collect()
    }

    /// The rows in `range`, copied into a new batch.
    pub fn slice(&self, range: Range<usize>) -> Result<Self> {
        if range.start > range.end || range.end > self.rows {
            return Err(Error::InvalidBatch(format!(
                "slice {range:?} out of bounds for {} rows",
                self.rows
            )));
        }
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                data: c.data.slice(range.clone()),
                validity: c
                    .validity
                    .as_ref()
                    .map(|v| v.slice(range.clone()))
                    .filter(|v| v.count_ones() != v.len()),
            })
            .collect();
        Ok(Self {
            schema: self.schema.clone(),
            columns,
            rows: range.len(),
        })
    }

    /// Splits into schema and columns.
    #[must_use]
    pub fn into_parts(self) -> (Schema, Vec<Column>) {
        (self.schema, self.columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Feature;

    #[test]
    fn bitmap_layout_is_arrow_lsb_first() {
        let b: Bitmap = [true, false, true, true, false, false, false, false, true]
            .into_iter()
            .collect();
        assert_eq!(b.as_bytes(), &[0b0000_1101, 0b1]);
        assert_eq!(b.count_ones(), 4);
        assert_eq!(Bitmap::filled(10, true).count_ones(), 10);
        assert!(Bitmap::from_bytes(vec![0xff], 9).is_err());
    }

    #[test]
    fn string_column_parts_are_checked() {
        assert!(StringColumn::from_parts(vec![0, 2], b"ab".to_vec()).is_ok());
        assert!(StringColumn::from_parts(vec![0, 3], b"ab".to_vec()).is_err());
        assert!(StringColumn::from_parts(vec![0, 1, 2], "é".as_bytes().to_vec()).is_err());
        assert!(StringColumn::from_parts(vec![1, 2], b"ab".to_vec()).is_err());
    }

    #[test]
    fn batch_rejects_mismatched_columns() {
        let schema = Schema::new(vec![Feature::new("a", DType::Float64)]).unwrap_or_else(|e| panic!("{e}"));
        let c = ColumnBuilder::new(DType::Int64).finish();
        assert!(Batch::new(schema.clone(), vec![c]).is_err());
        let bad = Batch::from_records(schema, &[Record::new().with("a", "x")]);
        assert!(bad.is_err_and(|e| e.to_string().contains("\"a\" (row 0)")));
    }
}
