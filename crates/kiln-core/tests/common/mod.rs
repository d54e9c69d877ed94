//! Strategies and helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use kiln_core::{DEFAULT_NULL_TOKENS, DType, Feature, Record, Role, Schema, Value};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;

pub const ROLES: [Role; 5] = [Role::Feature, Role::Label, Role::Id, Role::Weight, Role::Timestamp];

pub fn dtype() -> impl Strategy<Value = DType> {
    proptest::sample::select(&DType::ALL[..])
}

pub fn role() -> impl Strategy<Value = Role> {
    proptest::sample::select(&ROLES[..])
}

pub fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |x| x.is_finite())
}

/// A valid feature called `name` with random type and constraints.
pub fn feature(name: String) -> impl Strategy<Value = Feature> {
    (
        dtype(),
        any::<bool>(),
        role(),
        option::of("\\PC{0,16}"),
        (option::of(finite()), option::of(finite())),
        option::of(btree_set("\\PC{0,8}", 0..6)),
    )
        .prop_map(move |(dtype, nullable, role, description, (a, b), categories)| {
            let mut f = Feature::new(name.clone(), dtype)
                .with_nullable(nullable)
                .with_role(role);
            if dtype.is_numeric() || dtype == DType::Timestamp {
                let (min, max) = match (a, b) {
                    (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                    other => other,
                };
                f = f.with_range(min, max);
            }
            if let (DType::Categorical, Some(c)) = (dtype, categories) {
                f = f.with_categories(c);
            }
            if let Some(d) = description {
                f = f.with_description(d);
            }
            f
        })
}

/// Feature names safe in a CSV header (no white space, which the reader trims).
pub fn plain_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}"
}

/// A random valid schema whose names come from `names`.
pub fn schema_named<S>(names: S, max: usize) -> impl Strategy<Value = Schema>
where
    S: Strategy<Value = String>,
{
    btree_set(names, 0..max)
        .prop_flat_map(|names| names.into_iter().map(feature).collect::<Vec<_>>())
        .prop_map(|features| Schema::new(features).unwrap())
}

/// A random valid schema with arbitrary (printable) names.
pub fn schema() -> impl Strategy<Value = Schema> {
    schema_named("\\PC{1,12}", 8)
}

/// A non-null value of `dtype`, exactly as a batch gives it back
/// (`float32` values are `f32`s widened to `f64`).
pub fn value(dtype: DType) -> BoxedStrategy<Value> {
    match dtype {
        DType::Float32 => any::<f32>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| Value::Float(f64::from(x)))
            .boxed(),
        DType::Float64 => finite().prop_map(Value::Float).boxed(),
        DType::Int64 | DType::Timestamp => any::<i64>().prop_map(Value::Int).boxed(),
        DType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        // Printable text, and text that needs CSV quoting.
        _ => prop_oneof!["\\PC{0,10}", "[a-z,;\"' \r\n]{0,8}"]
            .prop_filter("not a null token", |s| !DEFAULT_NULL_TOKENS.contains(&s.as_str()))
            .prop_map(Value::Str)
            .boxed(),
    }
}

/// A value of `dtype` or null (about one in five).
pub fn value_or_null(dtype: DType) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 4 => value(dtype)].boxed()
}

/// A schema and up to `max_rows` records holding every feature, in order.
pub fn schema_and_rows<S>(schema: S, max_rows: usize) -> impl Strategy<Value = (Schema, Vec<Record>)>
where
    S: Strategy<Value = Schema>,
{
    schema.prop_flat_map(move |schema| {
        let names: Vec<String> = schema.features().iter().map(|f| f.name.clone()).collect();
        let row: Vec<BoxedStrategy<Value>> = schema.features().iter().map(|f| value_or_null(f.dtype)).collect();
        let records = vec(row, 0..max_rows).prop_map(move |rows| {
            rows.into_iter()
                .map(|values| names.iter().cloned().zip(values).collect::<Record>())
                .collect::<Vec<_>>()
        });
        (Just(schema), records)
    })
}

/// Fisher-Yates with a small xorshift generator: a deterministic shuffle
/// driven by a proptest-chosen seed.
pub fn shuffle<T>(items: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}

/// `cases` cases, no regression files (integration tests have no `lib.rs`
/// for proptest to place them by).
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

pub fn penguins_path() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/penguins/penguins.csv")
}
