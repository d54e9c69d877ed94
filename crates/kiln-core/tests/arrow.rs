//! Arrow conversion: round trips, zero-copy, foreign layouts and errors.
#![cfg(feature = "arrow")]
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, NullArray,
    RecordBatch, StringArray, StringViewArray, TimestampSecondArray, UInt64Array,
};
use arrow_buffer::{Buffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use common::{schema, schema_and_rows};
use kiln_core::arrow::FEATURE_METADATA_KEY;
use kiln_core::{Batch, ColumnData, DType, Error, Feature, InferOptions, Record, Role, Schema, Value, ValueRef};
use proptest::prelude::*;

fn batch_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

proptest! {
    #![proptest_config(common::config(96))]

    #[test]
    fn arrow_round_trip((schema, records) in schema_and_rows(schema(), 20)) {
        let batch = Batch::from_records(schema.clone(), &records).unwrap();
        let arrow = batch.clone().to_arrow().unwrap();
        prop_assert_eq!(arrow.num_rows(), batch.num_rows());
        prop_assert_eq!(arrow.num_columns(), schema.len());
        prop_assert_eq!(Schema::from_arrow_schema(arrow.schema_ref()).unwrap(), schema.clone());

        // Sliced (copied) and whole (moved) conversions agree with the rows.
        let n = batch.num_rows();
        let sliced = Batch::from_arrow(arrow.slice(n / 3, n - n / 3), None).unwrap();
        prop_assert_eq!(sliced.to_records(), records[n / 3..n].to_vec());
        let back = Batch::from_arrow(arrow.clone(), Some(schema.clone())).unwrap();
        prop_assert_eq!(&back, &batch);
        drop(arrow);
        let back = Batch::from_arrow(batch.clone().to_arrow().unwrap(), None).unwrap();
        prop_assert_eq!(&back, &batch);
        prop_assert_eq!(back.schema().digest(), schema.digest());
    }

    #[test]
    fn infer_arrow_matches_infer_batch((schema, records) in schema_and_rows(schema(), 20)) {
        // A batch without features has no rows to infer from.
        prop_assume!(!records.is_empty() && !schema.is_empty());
        let batch = Batch::from_records(schema, &records).unwrap();
        let options = InferOptions::default();
        let from_batch = Schema::infer_batch(&batch, &options).unwrap();
        let from_arrow = Schema::infer_arrow(&batch.to_arrow().unwrap(), &options).unwrap();
        prop_assert_eq!(from_arrow, from_batch);
    }
}

fn float_ptr(batch: &Batch, col: usize) -> *const f64 {
    match batch.column(col).unwrap().data() {
        ColumnData::Float64(v) => v.as_ptr(),
        other => panic!("not float64: {other:?}"),
    }
}

fn string_ptr(batch: &Batch, col: usize) -> *const u8 {
    match batch.column(col).unwrap().data() {
        ColumnData::Utf8(s) => s.get(0).as_ptr(),
        other => panic!("not strings: {other:?}"),
    }
}

fn sample() -> Batch {
    let schema = Schema::new(vec![
        Feature::new("x", DType::Float64).with_nullable(true),
        Feature::new("s", DType::String),
        Feature::new("b", DType::Bool).with_nullable(true),
        Feature::new("t", DType::Timestamp).with_role(Role::Timestamp),
    ])
    .unwrap();
    let rows: Vec<Record> = (0..100i64)
        .map(|i| {
            Record::new()
                .with("x", (i % 7 != 0).then_some(i as f64 / 4.0))
                .with("s", format!("row {i}"))
                .with("b", (i % 5 != 0).then_some(i % 2 == 0))
                .with("t", Value::Int(i * 1_000_000))
        })
        .collect();
    Batch::from_records(schema, &rows).unwrap()
}

#[test]
fn round_trip_moves_buffers_when_unshared() {
    let batch = sample();
    let expected = batch.clone();
    let (x, s) = (float_ptr(&batch, 0), string_ptr(&batch, 1));
    let arrow = batch.to_arrow().unwrap();
    assert_eq!(
        arrow
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .values()
            .as_ptr(),
        x
    );
    let back = Batch::from_arrow(arrow, None).unwrap();
    assert_eq!(back, expected);
    assert_eq!(float_ptr(&back, 0), x, "float64 values were copied");
    assert_eq!(string_ptr(&back, 1), s, "string bytes were copied");
}

#[test]
fn round_trip_copies_when_shared() {
    let batch = sample();
    let expected = batch.clone();
    let x = float_ptr(&batch, 0);
    let arrow = batch.to_arrow().unwrap();
    let kept = arrow.clone();
    let back = Batch::from_arrow(arrow, None).unwrap();
    assert_eq!(back, expected);
    assert_ne!(float_ptr(&back, 0), x);
    // The kept batch is untouched.
    assert_eq!(
        kept.column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .values()
            .as_ptr(),
        x
    );
}

#[test]
fn arrow_types_and_metadata() {
    let arrow = sample().to_arrow().unwrap();
    let schema = arrow.schema();
    assert_eq!(schema.field(1).data_type(), &DataType::LargeUtf8);
    assert_eq!(
        schema.field(3).data_type(),
        &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert!(schema.field(0).is_nullable() && !schema.field(1).is_nullable());
    let meta: Feature = serde_json::from_str(&schema.field(3).metadata()[FEATURE_METADATA_KEY]).unwrap();
    assert_eq!(meta.role, Role::Timestamp);
}

#[test]
fn nulls_in_a_required_feature_make_a_nullable_field() {
    let schema = Schema::new(vec![Feature::new("x", DType::Int64)]).unwrap();
    let batch = Batch::from_records(schema.clone(), &[Record::new().with("x", 1), Record::new()]).unwrap();
    let arrow = batch.clone().to_arrow().unwrap();
    assert!(arrow.schema().field(0).is_nullable());
    let back = Batch::from_arrow(arrow, None).unwrap();
    assert_eq!(back.schema(), &schema);
    assert_eq!(back, batch);
}

#[test]
fn reads_foreign_layouts() {
    let keys = Int32Array::from(vec![Some(1), None, Some(0), Some(1)]);
    let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(StringArray::from(vec!["a", "b"]))).unwrap();
    let arrow = batch_of(vec![
        (
            "f",
            Arc::new(Float32Array::from(vec![Some(1.5), None, Some(-2.0), Some(0.25)])) as ArrayRef,
        ),
        (
            "i",
            Arc::new(Int32Array::from(vec![Some(1), Some(-2), None, Some(i32::MAX)])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("x"), Some("é"), None, Some("")])) as ArrayRef,
        ),
        (
            "v",
            Arc::new(StringViewArray::from(vec!["a long string view value", "b", "c", "d"])) as ArrayRef,
        ),
        ("d", Arc::new(dict) as ArrayRef),
        (
            "t",
            Arc::new(TimestampSecondArray::from(vec![0, 1, -1, 86_400]).with_timezone("+02:00")) as ArrayRef,
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![true, false, true, true]).slice(0, 4)) as ArrayRef,
        ),
        ("n", Arc::new(NullArray::new(4)) as ArrayRef),
    ]);
    let schema = Schema::new(vec![
        Feature::new("f", DType::Float64).with_nullable(true),
        Feature::new("i", DType::Int64).with_nullable(true),
        Feature::new("s", DType::String).with_nullable(true),
        Feature::new("v", DType::Categorical),
        Feature::new("d", DType::Categorical).with_nullable(true),
        Feature::new("t", DType::Timestamp),
        Feature::new("b", DType::Bool),
        Feature::new("n", DType::Float32).with_nullable(true),
        Feature::new("absent", DType::Int64).with_nullable(true),
    ])
    .unwrap();
    let batch = Batch::from_arrow(arrow.clone(), Some(schema)).unwrap();
    let col = |name: &str| -> Vec<ValueRef<'_>> {
        let c = batch.column_by_name(name).unwrap();
        (0..batch.num_rows()).map(|r| c.value(r)).collect()
    };
    use ValueRef::{Bool, Float, Int, Null, Str};
    assert_eq!(col("f"), [Float(1.5), Null, Float(-2.0), Float(0.25)]);
    assert_eq!(col("i"), [Int(1), Int(-2), Null, Int(i64::from(i32::MAX))]);
    assert_eq!(col("s"), [Str("x"), Str("é"), Null, Str("")]);
    assert_eq!(col("v")[0], Str("a long string view value"));
    assert_eq!(col("d"), [Str("b"), Null, Str("a"), Str("b")]);
    assert_eq!(col("t"), [Int(0), Int(1_000_000), Int(-1_000_000), Int(86_400_000_000)]);
    assert_eq!(col("b"), [Bool(true), Bool(false), Bool(true), Bool(true)]);
    assert_eq!(col("n"), [Null; 4]);
    assert_eq!(col("absent"), [Null; 4]);

    // Without a schema: plain types map to dtypes, dictionaries to categorical.
    let inferred = Schema::from_arrow_schema(arrow.schema_ref()).unwrap();
    let dtypes: Vec<DType> = inferred.features().iter().map(|f| f.dtype).collect();
    use DType as D;
    let expected = [
        D::Float32,
        D::Int64,
        D::String,
        D::String,
        D::Categorical,
        D::Timestamp,
        D::Bool,
        D::String,
    ];
    assert_eq!(dtypes, expected);
}

#[test]
fn sliced_foreign_arrays_read_their_window() {
    let arrow = batch_of(vec![
        (
            "b",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
                None,
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("bb"),
                None,
                Some("ddd"),
                Some("e"),
            ])) as ArrayRef,
        ),
        ("x", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])) as ArrayRef),
    ])
    .slice(1, 3);
    let batch = Batch::from_arrow(arrow, None).unwrap();
    let rows: Vec<Vec<Value>> = batch
        .to_records()
        .iter()
        .map(|r| r.iter().map(|(_, v)| v.clone()).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![Value::Null, Value::Str("bb".into()), Value::Int(2)],
            vec![Value::Bool(false), Value::Null, Value::Int(3)],
            vec![Value::Bool(true), Value::Str("ddd".into()), Value::Int(4)],
        ]
    );
}

#[test]
fn null_slots_are_reset_to_defaults() {
    // Arrow leaves values under nulls unspecified: here they hold 7 and "junk".
    let nulls = NullBuffer::from(vec![true, false]);
    let ints = Int64Array::try_new(ScalarBuffer::from(vec![1i64, 7]), Some(nulls.clone())).unwrap();
    let strings = StringArray::try_new(
        arrow_buffer::OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 1, 5])),
        Buffer::from("ajunk".as_bytes()),
        Some(nulls),
    )
    .unwrap();
    let arrow = batch_of(vec![
        ("i", Arc::new(ints) as ArrayRef),
        ("s", Arc::new(strings) as ArrayRef),
    ]);
    let batch = Batch::from_arrow(arrow, None).unwrap();
    let expected = Batch::from_records(
        batch.schema().clone(),
        &[Record::new().with("i", 1).with("s", "a"), Record::new()],
    )
    .unwrap();
    assert_eq!(batch, expected);
}

#[test]
fn errors_name_the_column() {
    let arrow = batch_of(vec![("x", Arc::new(StringArray::from(vec!["1"])) as ArrayRef)]);
    let schema = Schema::new(vec![Feature::new("x", DType::Float64)]).unwrap();
    let err = Batch::from_arrow(arrow.clone(), Some(schema)).unwrap_err();
    assert!(matches!(err, Error::Arrow(_)));
    assert_eq!(
        err.to_string(),
        "arrow: column \"x\": arrow type Utf8 cannot hold feature dtype float64"
    );

    let schema = Schema::new(vec![Feature::new("y", DType::Int64)]).unwrap();
    let err = Batch::from_arrow(arrow, Some(schema)).unwrap_err().to_string();
    assert!(err.contains("\"y\"") && err.contains("no column"), "{err}");

    let big = batch_of(vec![("u", Arc::new(UInt64Array::from(vec![1, u64::MAX])) as ArrayRef)]);
    let err = Batch::from_arrow(big, None).unwrap_err().to_string();
    assert!(err.contains("\"u\"") && err.contains("row 1"), "{err}");

    let list = ArrowSchema::new(vec![Field::new("l", DataType::new_list(DataType::Int32, true), true)]);
    let err = Schema::from_arrow_schema(&list).unwrap_err().to_string();
    assert!(err.contains("\"l\""), "{err}");

    let bad_meta = ArrowSchema::new(vec![
        Field::new("m", DataType::Int64, false)
            .with_metadata(HashMap::from([(FEATURE_METADATA_KEY.to_owned(), "{".to_owned())])),
    ]);
    let err = Schema::from_arrow_schema(&bad_meta).unwrap_err().to_string();
    assert!(err.contains("\"m\"") && err.contains(FEATURE_METADATA_KEY), "{err}");

    let lying_meta = ArrowSchema::new(vec![Field::new("m", DataType::Int64, false).with_metadata(
        HashMap::from([(
            FEATURE_METADATA_KEY.to_owned(),
            serde_json::to_string(&Feature::new("m", DType::Bool)).unwrap(),
        )]),
    )]);
    let err = Schema::from_arrow_schema(&lying_meta).unwrap_err().to_string();
    assert!(err.contains("\"m\"") && err.contains("bool"), "{err}");
}

#[test]
fn infer_arrow_rules() {
    let arrow = batch_of(vec![
        ("id", Arc::new(StringArray::from(vec!["a", "b", "c", "d"])) as ArrayRef),
        (
            "color",
            Arc::new(StringArray::from(vec!["r", "g", "r", "g"])) as ArrayRef,
        ),
        (
            "y",
            Arc::new(Int32Array::from(vec![Some(3), None, Some(-1), Some(9)])) as ArrayRef,
        ),
    ]);
    let s = Schema::infer_arrow(&arrow, &InferOptions::default().with_label("y")).unwrap();
    assert_eq!(s.feature("id").unwrap().dtype, DType::String);
    assert_eq!(
        s.feature("color").unwrap().categories,
        Some(vec!["g".to_owned(), "r".to_owned()])
    );
    let y = s.feature("y").unwrap();
    assert_eq!(
        (y.dtype, y.min, y.max, y.nullable, y.role),
        (DType::Int64, Some(-1.0), Some(9.0), true, Role::Label)
    );
    let empty = arrow.slice(0, 0);
    assert!(matches!(
        Schema::infer_arrow(&empty, &InferOptions::default()),
        Err(Error::Empty(_))
    ));
    let missing = Schema::infer_arrow(&arrow, &InferOptions::default().with_label("nope")).unwrap_err();
    assert!(missing.to_string().contains("nope"));
}

#[test]
fn empty_schema_keeps_no_rows() {
    let batch = Batch::empty(Schema::new(vec![]).unwrap());
    let arrow = batch.clone().to_arrow().unwrap();
    assert_eq!((arrow.num_rows(), arrow.num_columns()), (0, 0));
    assert_eq!(Batch::from_arrow(arrow, None).unwrap(), batch);
}
