//! Conversion between [`Batch`] and Arrow [`RecordBatch`] (feature `arrow`).
//!
//! A [`Batch`] already uses Arrow's memory layout, so [`Batch::to_arrow`]
//! moves every buffer into Arrow without copying a value.
//! [`Batch::from_arrow`] moves them back when Arrow allows it and copies
//! otherwise; see its docs for exactly when.
//!
//! | kiln dtype | Arrow type |
//! |---|---|
//! | `float32` | `Float32` |
//! | `float64` | `Float64` |
//! | `int64` | `Int64` |
//! | `bool` | `Boolean` |
//! | `categorical`, `string` | `LargeUtf8` |
//! | `timestamp` | `Timestamp(Microsecond, "UTC")` |
//!
//! Each Arrow field carries its whole kiln [`Feature`] (range, categories,
//! role, description, nullability) as JSON under the metadata key
//! [`FEATURE_METADATA_KEY`], so the schema survives the trip.
//!
//! ```
//! use kiln_core::{Batch, DType, Feature, Record, Schema};
//! let schema = Schema::new(vec![
//!     Feature::new("x", DType::Float64).with_nullable(true),
//!     Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream"]),
//! ])?;
//! let rows = [Record::new().with("x", 1.5).with("island", "Dream"), Record::new().with("island", "Biscoe")];
//! let batch = Batch::from_records(schema, &rows)?;
//!
//! let arrow = batch.clone().to_arrow()?;
//! assert_eq!(arrow.num_rows(), 2);
//! let back = Batch::from_arrow(arrow, None)?;
//! assert_eq!(back, batch);
//! # Ok::<(), kiln_core::Error>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, GenericStringArray, Int64Array, LargeStringArray,
    OffsetSizeTrait, RecordBatch, RecordBatchOptions, TimestampMicrosecondArray,
};
use arrow_buffer::{ArrowNativeType, BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field, Schema as ArrowSchema, TimeUnit};

use crate::batch::{Batch, Bitmap, Column, ColumnBuilder, ColumnData, StringColumn};
use crate::infer::{InferOptions, infer_feature};
use crate::schema::{DType, Feature, Schema};
use crate::{Error, Result};

/// The Arrow field metadata key holding the field's kiln [`Feature`] as JSON.
pub const FEATURE_METADATA_KEY: &str = "kiln.feature";

/// The Arrow type [`Batch::to_arrow`] writes for `dtype`.
#[must_use]
pub fn arrow_type(dtype: DType) -> DataType {
    match dtype {
        DType::Float32 => DataType::Float32,
        DType::Float64 => DataType::Float64,
        DType::Int64 => DataType::Int64,
        DType::Bool => DataType::Boolean,
        DType::Categorical | DType::String => DataType::LargeUtf8,
        DType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

/// Whether [`Batch::from_arrow`] can read an Arrow column of type `data_type`
/// into a feature of type `dtype`.
///
/// Besides the types of [`arrow_type`]: `float64` also reads `Float32`;
/// `int64` reads every integer type (`UInt64` values above `i64::MAX` fail);
/// text reads `Utf8`, `LargeUtf8`, `Utf8View` and dictionaries of those;
/// `timestamp` reads every time unit and time zone (the values are UTC
/// instants; nanoseconds are floored to microseconds); and `Null` reads as an
/// all-null column of any dtype.
#[must_use]
pub fn accepts(dtype: DType, data_type: &DataType) -> bool {
    use DataType as A;
    let text = |t: &DataType| matches!(t, A::Utf8 | A::LargeUtf8 | A::Utf8View);
    match (dtype, data_type) {
        (_, A::Null) => true,
        (DType::Float32, A::Float32) | (DType::Float64, A::Float64 | A::Float32) | (DType::Bool, A::Boolean) => true,
        (DType::Int64, t) => t.is_integer(),
        (DType::Categorical | DType::String, A::Dictionary(key, value)) => key.is_dictionary_key_type() && text(value),
        (DType::Categorical | DType::String, t) => text(t),
        (DType::Timestamp, A::Timestamp(..)) => true,
        _ => false,
    }
}

/// The kiln dtype for an Arrow column without kiln metadata: text becomes
/// `string`, dictionaries of text `categorical`, integers `int64`, any
/// timestamp `timestamp`, `Null` a `string`.
fn dtype_for(data_type: &DataType) -> Option<DType> {
    use DataType as A;
    Some(match data_type {
        A::Float32 => DType::Float32,
        A::Float64 => DType::Float64,
        A::Boolean => DType::Bool,
        A::Timestamp(..) => DType::Timestamp,
        A::Dictionary(..) if accepts(DType::Categorical, data_type) => DType::Categorical,
        A::Null | A::Utf8 | A::LargeUtf8 | A::Utf8View => DType::String,
        t if t.is_integer() => DType::Int64,
        _ => return None,
    })
}

fn feature_from_field(field: &Field) -> Result<Feature> {
    let name = field.name();
    let feature = match field.metadata().get(FEATURE_METADATA_KEY) {
        Some(json) => {
            let mut f: Feature = serde_json::from_str(json)
                .map_err(|e| Error::Arrow(format!("column {name:?}: invalid {FEATURE_METADATA_KEY} metadata: {e}")))?;
            f.name.clone_from(name);
            f
        }
        None => {
            let dtype = dtype_for(field.data_type()).ok_or_else(|| {
                Error::Arrow(format!(
                    "column {name:?}: arrow type {} has no kiln dtype",
                    field.data_type()
                ))
            })?;
            Feature::new(name.clone(), dtype).with_nullable(field.is_nullable())
        }
    };
    if !accepts(feature.dtype, field.data_type()) {
        return Err(mismatch(&feature, field.data_type()));
    }
    Ok(feature)
}

fn mismatch(feature: &Feature, data_type: &DataType) -> Error {
    Error::Arrow(format!(
        "column {:?}: arrow type {data_type} cannot hold feature dtype {}",
        feature.name, feature.dtype
    ))
}

fn field_for(feature: &Feature, has_nulls: bool) -> Field {
    let json = serde_json::to_string(feature).unwrap_or_else(|_| unreachable!("features always serialize"));
    Field::new(
        feature.name.clone(),
        arrow_type(feature.dtype),
        feature.nullable || has_nulls,
    )
    .with_metadata(HashMap::from([(FEATURE_METADATA_KEY.to_owned(), json)]))
}

impl Schema {
    /// The Arrow schema of [`Batch::to_arrow`]'s output: one field per
    /// feature, typed per [`arrow_type`], nullable as the feature is, with the
    /// feature under [`FEATURE_METADATA_KEY`].
    #[must_use]
    pub fn to_arrow_schema(&self) -> ArrowSchema {
        ArrowSchema::new(self.features().iter().map(|f| field_for(f, false)).collect::<Vec<_>>())
    }

    /// A schema from an Arrow schema: each field's [`FEATURE_METADATA_KEY`]
    /// metadata when present (nullability included), else a feature typed
    /// from the Arrow type, nullable as the field is, without constraints.
    ///
    /// Errors ([`Error::Arrow`], naming the column): a type with no kiln
    /// dtype (lists, structs, decimals, ...), invalid metadata, or metadata
    /// whose dtype the Arrow type cannot hold.
    pub fn from_arrow_schema(schema: &ArrowSchema) -> Result<Self> {
        let features = schema
            .fields()
            .iter()
            .map(|f| feature_from_field(f))
            .collect::<Result<Vec<_>>>()?;
        Self::new(features)
    }

    /// Infers a schema from an Arrow record batch: dtypes come from the
    /// Arrow types (or the kiln metadata), nullability, ranges and categories
    /// from the values, by the rules of [`Schema::infer_batch`]. Columns are
    /// converted one at a time (a copy of one column at most is alive).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    /// use kiln_core::{DType, InferOptions, Schema};
    ///
    /// let batch = RecordBatch::try_from_iter([
    ///     ("mass", Arc::new(Float64Array::from(vec![Some(3750.0), None, Some(4100.0)])) as ArrayRef),
    ///     ("species", Arc::new(StringArray::from(vec!["Adelie", "Gentoo", "Adelie"])) as ArrayRef),
    /// ]).unwrap();
    /// let schema = Schema::infer_arrow(&batch, &InferOptions::default().with_label("species"))?;
    /// let mass = schema.feature("mass").unwrap();
    /// assert_eq!((mass.min, mass.max, mass.nullable), (Some(3750.0), Some(4100.0), true));
    /// assert_eq!(schema.label().unwrap().dtype, DType::Categorical);
    /// # Ok::<(), kiln_core::Error>(())
    /// ```
    pub fn infer_arrow(batch: &RecordBatch, options: &InferOptions) -> Result<Self> {
        let arrow_schema = batch.schema_ref();
        if let Some(name) = options.missing_role_column(|n| arrow_schema.index_of(n).is_ok()) {
            return Err(Error::UnknownFeature(name.to_owned()));
        }
        let rows = options.sample_rows_of(batch.num_rows());
        if rows == 0 {
            return Err(Error::Empty("record batch".to_owned()));
        }
        let features = arrow_schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| {
                let base = feature_from_field(field)?;
                let column = column_from_arrow(&base, array.slice(0, rows))?;
                Ok(infer_feature(&base, &column, rows, options))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(features)
    }
}

impl Batch {
    /// Converts into an Arrow record batch without copying values: every
    /// `Vec` buffer (values, offsets, string bytes, bitmaps) is moved into an
    /// Arrow buffer.
    ///
    /// The fields follow [`Schema::to_arrow_schema`], except that a field is
    /// marked nullable whenever its column holds nulls (Arrow rejects nulls in
    /// a non-nullable field); the feature metadata keeps the declared
    /// nullability.
    pub fn to_arrow(self) -> Result<RecordBatch> {
        let rows = self.num_rows();
        let (schema, columns) = self.into_parts();
        let mut fields = Vec::with_capacity(columns.len());
        let mut arrays = Vec::with_capacity(columns.len());
        for (feature, column) in schema.features().iter().zip(columns) {
            fields.push(field_for(feature, column.null_count() > 0));
            arrays.push(column_to_arrow(feature, column)?);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::new(ArrowSchema::new(fields)), arrays, &options)
            .map_err(|e| Error::Arrow(e.to_string()))
    }

    /// Converts an Arrow record batch into a batch of `schema`, or, when
    /// `schema` is `None`, of [`Schema::from_arrow_schema`] of the batch.
    ///
    /// Columns are matched to features by name, in any order; columns the
    /// schema does not know are dropped. A feature with no column is all-null
    /// when it is nullable and an error otherwise. Nulls in a non-nullable
    /// feature are kept (a validator reports them), and null slots are reset
    /// to the default value (0, false, "") that kiln keeps there.
    ///
    /// # When it copies
    ///
    /// A buffer is **moved**, not copied, when the Arrow buffer is uniquely
    /// owned (nothing else holds this record batch or array), starts at
    /// offset 0, and was allocated as a Rust `Vec` of the same element type,
    /// which is what [`Batch::to_arrow`] produces. This applies to values of
    /// `Float32`, `Float64`, `Int64` and `Timestamp(Microsecond)`, to
    /// `Boolean` values and validity bitmaps (when not sliced at a bit
    /// offset), and to `LargeUtf8` offsets and bytes.
    ///
    /// Everything else is **copied**: buffers shared with another array or
    /// batch (a clone you kept, or a column used twice), buffers allocated by
    /// Arrow itself (64-byte aligned, as builders, IPC and Parquet readers
    /// make), sliced arrays, type conversions (`Utf8` offsets widened to
    /// `i64` — its bytes may still move; other integer widths; `Float32` into
    /// `float64`; other timestamp units), `Utf8View` and dictionaries
    /// (materialized as strings), and string columns whose null slots hold
    /// non-empty strings. Copies are logged at `trace` level.
    ///
    /// Errors ([`Error::Arrow`], naming the column): a type the feature's
    /// dtype cannot hold (see [`accepts`]), a required feature with no
    /// column, out-of-range `UInt64` or timestamp values.
    pub fn from_arrow(batch: RecordBatch, schema: Option<Schema>) -> Result<Self> {
        let schema = match schema {
            Some(s) => s,
            None => Schema::from_arrow_schema(batch.schema_ref())?,
        };
        let (arrow_schema, arrays, rows) = batch.into_parts();
        let mut arrays: Vec<Option<ArrayRef>> = arrays.into_iter().map(Some).collect();
        let mut columns = Vec::with_capacity(schema.len());
        for feature in schema.features() {
            let array = arrow_schema
                .index_of(&feature.name)
                .ok()
                .and_then(|i| arrays.get_mut(i)?.take());
            let column = match array {
                Some(array) => column_from_arrow(feature, array)?,
                None if feature.nullable => null_column(feature.dtype, rows),
                None => {
                    return Err(Error::Arrow(format!(
                        "column {:?}: the record batch has no column for this required feature",
                        feature.name
                    )));
                }
            };
            columns.push(column);
        }
        drop(arrays);
        Self::with_rows(schema, columns, rows)
    }
}

fn null_column(dtype: DType, rows: usize) -> Column {
    let mut b = ColumnBuilder::new(dtype);
    for _ in 0..rows {
        b.push_null();
    }
    b.finish()
}

fn boolean_buffer(bitmap: Bitmap) -> BooleanBuffer {
    let len = bitmap.len();
    // A bitmap always holds at least `len.div_ceil(8)` bytes.
    BooleanBuffer::new(Buffer::from_vec(bitmap.into_bytes()), 0, len)
}

fn column_to_arrow(feature: &Feature, column: Column) -> Result<ArrayRef> {
    let (data, validity) = column.into_parts();
    let nulls = validity.map(|v| NullBuffer::new(boolean_buffer(v)));
    let err = |e: ArrowError| Error::Arrow(format!("column {:?}: {e}", feature.name));
    Ok(match data {
        ColumnData::Float32(v) => Arc::new(Float32Array::try_new(v.into(), nulls).map_err(err)?),
        ColumnData::Float64(v) => Arc::new(Float64Array::try_new(v.into(), nulls).map_err(err)?),
        ColumnData::Int64(v) if feature.dtype == DType::Timestamp => Arc::new(
            TimestampMicrosecondArray::try_new(v.into(), nulls)
                .map_err(err)?
                .with_timezone("UTC"),
        ),
        ColumnData::Int64(v) => Arc::new(Int64Array::try_new(v.into(), nulls).map_err(err)?),
        ColumnData::Bool(b) => Arc::new(BooleanArray::new(boolean_buffer(b), nulls)),
        ColumnData::Utf8(s) => {
            let (offsets, bytes) = s.into_parts();
            // A string column's offsets start at 0 and never decrease.
            let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
            Arc::new(LargeStringArray::try_new(offsets, Buffer::from_vec(bytes), nulls).map_err(err)?)
        }
    })
}

/// Moves a buffer out of Arrow when it is a uniquely owned `Vec<T>`
/// allocation starting at offset 0; copies it otherwise.
fn take_vec<T: ArrowNativeType>(column: &str, buffer: Buffer) -> Vec<T> {
    match buffer.into_vec::<T>() {
        Ok(v) => v,
        Err(buffer) => {
            tracing::trace!(
                column,
                bytes = buffer.len(),
                "copying an Arrow buffer (shared, offset or Arrow-allocated)"
            );
            buffer.typed_data::<T>().to_vec()
        }
    }
}

/// The values and nulls of a primitive array, moved out when `array` is the
/// only owner of its buffers.
fn take_primitive<T: ArrowPrimitiveType>(
    column: &str,
    array: ArrayRef,
) -> Option<(Vec<T::Native>, Option<NullBuffer>)> {
    let owned = array.as_primitive_opt::<T>()?.clone();
    // Dropping the `ArrayRef` leaves `owned` the only holder of the buffers.
    drop(array);
    let (_, values, nulls) = owned.into_parts();
    Some((take_vec(column, values.into_inner()), nulls))
}

/// The values of a primitive array mapped one by one (a copy); `f` sees
/// only valid slots, null slots get `U::default()`.
fn map_primitive<T: ArrowPrimitiveType, U: Default>(
    array: &ArrayRef,
    mut f: impl FnMut(usize, T::Native) -> Result<U>,
) -> Option<Result<(Vec<U>, Option<NullBuffer>)>> {
    let a = array.as_primitive_opt::<T>()?;
    let nulls = a.nulls().cloned();
    let values = a
        .values()
        .iter()
        .enumerate()
        .map(|(i, &x)| if a.is_valid(i) { f(i, x) } else { Ok(U::default()) })
        .collect::<Result<Vec<U>>>();
    Some(values.map(|v| (v, nulls)))
}

fn bitmap_from(column: &str, b: BooleanBuffer) -> Result<Bitmap> {
    if b.offset() != 0 {
        tracing::trace!(column, "copying a bitmap sliced at a bit offset");
        return Ok(b.iter().collect());
    }
    let len = b.len();
    let bytes = take_vec::<u8>(column, b.into_inner());
    Bitmap::from_bytes(bytes, len)
}

/// The strings and nulls of a `Utf8`/`LargeUtf8` array; the bytes (and,
/// for `LargeUtf8`, the offsets) move when [`take_vec`] allows.
fn strings_from<O: OffsetSizeTrait>(
    column: &str,
    array: GenericStringArray<O>,
) -> Result<(StringColumn, Option<NullBuffer>)> {
    let (offsets, bytes, nulls) = array.into_parts();
    let offsets: Vec<i64> = if O::IS_LARGE {
        take_vec::<i64>(column, offsets.into_inner().into_inner())
    } else {
        offsets.iter().map(|o| o.as_usize() as i64).collect()
    };
    let (first, last) = (
        offsets.first().copied().unwrap_or(0),
        offsets.last().copied().unwrap_or(0),
    );
    let bad = || Error::Arrow(format!("column {column:?}: string offsets out of bounds"));
    let (a, b) = usize::try_from(first)
        .ok()
        .zip(usize::try_from(last).ok())
        .ok_or_else(bad)?;
    let strings = if a == 0 {
        let mut bytes = take_vec::<u8>(column, bytes);
        if b > bytes.len() {
            return Err(bad());
        }
        bytes.truncate(b);
        StringColumn::from_parts(offsets, bytes)?
    } else {
        // A sliced array: rebase the offsets on a copy of its bytes.
        tracing::trace!(column, "copying a sliced string array");
        let slice = bytes.as_slice().get(a..b).ok_or_else(bad)?.to_vec();
        StringColumn::from_parts(offsets.iter().map(|o| o - first).collect(), slice)?
    };
    Ok((strings, nulls))
}

fn strings_of<'a>(array: &'a dyn Array) -> Option<Box<dyn Fn(usize) -> &'a str + 'a>> {
    if let Some(a) = array.as_string_opt::<i32>() {
        Some(Box::new(|i| a.value(i)))
    } else if let Some(a) = array.as_string_opt::<i64>() {
        Some(Box::new(|i| a.value(i)))
    } else if let Some(a) = array.as_string_view_opt() {
        Some(Box::new(|i| a.value(i)))
    } else {
        None
    }
}

/// Text columns: `LargeUtf8` and `Utf8` move their bytes when they can;
/// views and dictionaries are materialized.
fn text_from(feature: &Feature, array: ArrayRef) -> Result<(ColumnData, Option<NullBuffer>)> {
    let name = feature.name.as_str();
    if let Some(owned) = array.as_string_opt::<i64>().cloned() {
        drop(array);
        return strings_from(name, owned).map(|(s, n)| (ColumnData::Utf8(s), n));
    }
    if let Some(owned) = array.as_string_opt::<i32>().cloned() {
        drop(array);
        return strings_from(name, owned).map(|(s, n)| (ColumnData::Utf8(s), n));
    }
    tracing::trace!(column = name, "materializing a {} column", array.data_type());
    let nulls = array.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    let mut out = StringColumn::new();
    if let Some(dict) = array.as_any_dictionary_opt() {
        let values = dict.values();
        let get = strings_of(values.as_ref()).ok_or_else(|| mismatch(feature, array.data_type()))?;
        // `normalized_keys` needs a non-empty dictionary; an empty one can
        // only back null slots.
        let keys = if values.is_empty() {
            vec![0; dict.len()]
        } else {
            dict.normalized_keys()
        };
        for (i, k) in keys.into_iter().enumerate() {
            out.push(if valid(i) && k < values.len() { get(k) } else { "" });
        }
    } else {
        let get = strings_of(array.as_ref()).ok_or_else(|| mismatch(feature, array.data_type()))?;
        for i in 0..array.len() {
            out.push(if valid(i) { get(i) } else { "" });
        }
    }
    Ok((ColumnData::Utf8(out), nulls))
}

/// Converts one Arrow column into a column of `feature`'s dtype.
pub(crate) fn column_from_arrow(feature: &Feature, array: ArrayRef) -> Result<Column> {
    let name = feature.name.as_str();
    let data_type = array.data_type().clone();
    if !accepts(feature.dtype, &data_type) {
        return Err(mismatch(feature, &data_type));
    }
    if data_type == DataType::Null {
        return Ok(null_column(feature.dtype, array.len()));
    }
    let out_of_range =
        |row: usize, what: &str| Error::Arrow(format!("column {name:?}: row {row}: {what} out of range"));
    let micros =
        |factor: i64| move |row: usize, x: i64| x.checked_mul(factor).ok_or_else(|| out_of_range(row, "timestamp"));
    let (data, nulls) = match (feature.dtype, &data_type) {
        (DType::Float32, _) => take_primitive::<Float32Type>(name, array).map(|(v, n)| (ColumnData::Float32(v), n)),
        (DType::Float64, DataType::Float32) => map_primitive::<Float32Type, f64>(&array, |_, x| Ok(f64::from(x)))
            .transpose()?
            .map(|(v, n)| (ColumnData::Float64(v), n)),
        (DType::Float64, _) => take_primitive::<Float64Type>(name, array).map(|(v, n)| (ColumnData::Float64(v), n)),
        (DType::Int64, DataType::Int64) => {
            take_primitive::<Int64Type>(name, array).map(|(v, n)| (ColumnData::Int64(v), n))
        }
        (DType::Int64, _) => {
            let v = match data_type {
                DataType::Int8 => map_primitive::<Int8Type, i64>(&array, |_, x| Ok(x.into())),
                DataType::Int16 => map_primitive::<Int16Type, i64>(&array, |_, x| Ok(x.into())),
                DataType::Int32 => map_primitive::<Int32Type, i64>(&array, |_, x| Ok(x.into())),
                DataType::UInt8 => map_primitive::<UInt8Type, i64>(&array, |_, x| Ok(x.into())),
                DataType::UInt16 => map_primitive::<UInt16Type, i64>(&array, |_, x| Ok(x.into())),
                DataType::UInt32 => map_primitive::<UInt32Type, i64>(&array, |_, x| Ok(x.into())),
                DataType::UInt64 => map_primitive::<UInt64Type, i64>(&array, |row, x| {
                    i64::try_from(x).map_err(|_| out_of_range(row, "value"))
                }),
                _ => None,
            };
            v.transpose()?.map(|(v, n)| (ColumnData::Int64(v), n))
        }
        (DType::Timestamp, DataType::Timestamp(unit, _)) => {
            let v = match unit {
                TimeUnit::Microsecond => take_primitive::<TimestampMicrosecondType>(name, array).map(Ok),
                TimeUnit::Second => map_primitive::<TimestampSecondType, i64>(&array, micros(1_000_000)),
                TimeUnit::Millisecond => map_primitive::<TimestampMillisecondType, i64>(&array, micros(1_000)),
                TimeUnit::Nanosecond => {
                    map_primitive::<TimestampNanosecondType, i64>(&array, |_, x| Ok(x.div_euclid(1_000)))
                }
            };
            v.transpose()?.map(|(v, n)| (ColumnData::Int64(v), n))
        }
        (DType::Bool, _) => match array.as_boolean_opt().cloned() {
            Some(owned) => {
                drop(array);
                let (values, nulls) = owned.into_parts();
                Some((ColumnData::Bool(bitmap_from(name, values)?), nulls))
            }
            None => None,
        },
        (DType::Categorical | DType::String, _) => Some(text_from(feature, array)?),
        _ => None,
    }
    .ok_or_else(|| mismatch(feature, &data_type))?;
    let validity = nulls.map(|n| bitmap_from(name, n.into_inner())).transpose()?;
    let data = match validity.as_ref() {
        Some(v) => clear_null_slots(name, data, v),
        None => data,
    };
    Column::new(data, validity)
}

/// Resets the values under nulls to the defaults kiln keeps there (Arrow
/// leaves them unspecified). In place, except for string columns whose null
/// slots hold non-empty strings, which are rebuilt.
fn clear_null_slots(column: &str, data: ColumnData, validity: &Bitmap) -> ColumnData {
    fn clear<T: Default>(values: &mut [T], validity: &Bitmap) {
        for (i, v) in values.iter_mut().enumerate() {
            if !validity.get(i) {
                *v = T::default();
            }
        }
    }
    match data {
        ColumnData::Float32(mut v) => {
            clear(&mut v, validity);
            ColumnData::Float32(v)
        }
        ColumnData::Float64(mut v) => {
            clear(&mut v, validity);
            ColumnData::Float64(v)
        }
        ColumnData::Int64(mut v) => {
            clear(&mut v, validity);
            ColumnData::Int64(v)
        }
        ColumnData::Bool(b) => {
            let len = b.len();
            let mut bytes = b.into_bytes();
            for (byte, valid) in bytes.iter_mut().zip(validity.as_bytes()) {
                *byte &= valid;
            }
            // Same length as before: cannot fail.
            ColumnData::Bool(Bitmap::from_bytes(bytes, len).unwrap_or_default())
        }
        ColumnData::Utf8(s) => {
            if s.iter().enumerate().all(|(i, x)| validity.get(i) || x.is_empty()) {
                ColumnData::Utf8(s)
            } else {
                tracing::trace!(column, "copying strings to clear null slots");
                ColumnData::Utf8(
                    s.iter()
                        .enumerate()
                        .map(|(i, x)| if validity.get(i) { x } else { "" })
                        .collect(),
                )
            }
        }
    }
}
