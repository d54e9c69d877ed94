//! The serving fast path does not allocate for a valid record.
//!
//! One test per binary: dhat counts every allocation of the process.

// Helpers outside #[test] functions unwrap too; clippy.toml only covers the latter.
#![allow(clippy::unwrap_used)]

use kiln_core::{DType, Feature, Record, Schema, Value};
use kiln_validate::{Policy, Validator, ValidatorConfig};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn schema() -> Schema {
    let mut features = Vec::new();
    for i in 0..8 {
        features.push(Feature::new(format!("num{i}"), DType::Float64).with_range(Some(-1e6), Some(1e6)));
    }
    for i in 0..4 {
        features.push(Feature::new(format!("int{i}"), DType::Int64).with_nullable(true));
    }
    for i in 0..4 {
        features.push(Feature::new(format!("cat{i}"), DType::Categorical).with_categories([
            "Adelie",
            "Chinstrap",
            "Gentoo",
        ]));
    }
    features.push(Feature::new("flag", DType::Bool));
    features.push(Feature::new("note", DType::String).with_nullable(true));
    features.push(Feature::new("at", DType::Timestamp));
    features.push(Feature::new("f32", DType::Float32));
    Schema::new(features).unwrap()
}

fn record(schema: &Schema) -> Record {
    let mut r = Record::with_capacity(schema.len());
    for f in schema.features() {
        let v = match f.dtype {
            DType::Float64 | DType::Float32 => Value::Float(1.5),
            DType::Int64 => Value::Int(3),
            DType::Categorical => Value::Str("Gentoo".into()),
            DType::Bool => Value::Bool(true),
            DType::String => Value::Str("hello".into()),
            _ => Value::Int(1_700_000_000_000_000),
        };
        r.insert(f.name.clone(), v);
    }
    r
}

#[test]
fn valid_records_do_not_allocate() {
    let schema = schema();
    assert_eq!(schema.len(), 20);
    let in_order = record(&schema);
    let mut shuffled = Record::new();
    for (name, v) in in_order.iter().collect::<Vec<_>>().into_iter().rev() {
        shuffled.insert(name, v.clone());
    }
    let mut partial = in_order.clone();
    partial.remove("int2");
    partial.remove("note");
    let serving = Validator::for_serving(schema.clone());
    let coercing = Validator::new(schema, ValidatorConfig::serving().with_default_policy(Policy::Coerce)).unwrap();
    let invalid = in_order.clone().with("num0", f64::NAN);

    let _profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get().total_blocks;
    for r in [&in_order, &shuffled, &partial] {
        for v in [&serving, &coercing] {
            assert!(v.validate_record(r).is_ok());
            assert!(v.check_record(r, Some(1)).is_valid());
        }
    }
    let after = dhat::HeapStats::get().total_blocks;
    assert_eq!(after - before, 0, "the valid-record path allocated");

    // The measurement does see allocations: a violation allocates.
    assert!(serving.validate_record(&invalid).is_err());
    assert!(dhat::HeapStats::get().total_blocks > after);
}
