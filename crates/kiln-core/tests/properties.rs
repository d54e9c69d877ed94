//! Round-trip and invariance properties of schemas, records, batches and CSV.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{plain_name, schema, schema_and_rows, schema_named, shuffle};
use kiln_core::{Batch, CsvReader, DType, InferOptions, Role, Schema, Value};
use proptest::prelude::*;
use serde_json::Value as Json;

/// Writes a JSON value with object keys in an order chosen by `seed`, and
/// arbitrary (valid) white space.
fn write_shuffled(v: &Json, seed: u64, out: &mut String) {
    match v {
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            shuffle(&mut entries, seed);
            out.push_str("{ ");
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n  ");
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push_str(" : ");
                write_shuffled(v, seed.rotate_left(7).wrapping_add(i as u64), out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" , ");
                }
                write_shuffled(item, seed.wrapping_mul(31).wrapping_add(i as u64), out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// One content change of a schema that keeps it valid.
fn mutate(schema: &Schema, index: usize, kind: u8) -> Option<Schema> {
    let mut features = schema.features().to_vec();
    let n = features.len();
    let f = features.get_mut(index % n.max(1))?;
    match kind % 7 {
        0 => f.nullable = !f.nullable,
        1 => {
            let i = common::ROLES.iter().position(|r| *r == f.role)?;
            f.role = common::ROLES[(i + 1) % common::ROLES.len()];
        }
        2 => f.name.push('~'),
        3 => match &mut f.description {
            Some(d) => d.push('x'),
            None => f.description = Some(String::new()),
        },
        4 => {
            f.dtype = if f.dtype == DType::String {
                DType::Bool
            } else {
                DType::String
            };
            (f.min, f.max, f.categories) = (None, None, None);
        }
        5 if f.dtype.is_numeric() || f.dtype == DType::Timestamp => {
            f.min = if f.min.is_some() { None } else { Some(f64::MIN) };
        }
        6 if f.dtype == DType::Categorical => match &mut f.categories {
            Some(c) => {
                let new = format!("{}~", c.iter().max().cloned().unwrap_or_default());
                c.push(new);
            }
            None => f.categories = Some(Vec::new()),
        },
        _ => f.nullable = !f.nullable,
    }
    // A renamed feature may collide with another name: no valid mutation then.
    Schema::new(features).ok()
}

proptest! {
    #![proptest_config(common::config(128))]

    #[test]
    fn schema_json_round_trips(schema in schema()) {
        let json = schema.to_json();
        let back = Schema::from_json(&json).unwrap();
        prop_assert_eq!(&back, &schema);
        prop_assert_eq!(back.to_json(), json);
        prop_assert_eq!(back.digest(), schema.digest());
        // The serde impls agree with to_json/from_json.
        let via_serde: Schema = serde_json::from_str(&serde_json::to_string(&schema).unwrap()).unwrap();
        prop_assert_eq!(via_serde, schema);
    }

    #[test]
    fn digest_ignores_key_feature_and_category_order(schema in schema(), seed in any::<u64>()) {
        let value: Json = serde_json::from_str(&schema.to_json()).unwrap();
        let mut shuffled = String::new();
        write_shuffled(&value, seed, &mut shuffled);
        let back = Schema::from_json(&shuffled).unwrap();
        prop_assert_eq!(&back, &schema);
        prop_assert_eq!(back.digest(), schema.digest());

        let mut features = schema.features().to_vec();
        shuffle(&mut features, seed);
        for (i, f) in features.iter_mut().enumerate() {
            if let Some(c) = &mut f.categories {
                shuffle(c, seed ^ i as u64);
            }
        }
        let reordered = Schema::new(features).unwrap();
        prop_assert_eq!(reordered.digest(), schema.digest());
        prop_assert_eq!(reordered.canonical_json(), schema.canonical_json());
    }

    #[test]
    fn digest_changes_with_content(schema in schema(), index in any::<usize>(), kind in any::<u8>()) {
        let changed = mutate(&schema, index, kind);
        prop_assume!(changed.is_some());
        let changed = changed.unwrap();
        prop_assert_ne!(&changed, &schema);
        prop_assert_ne!(changed.digest(), schema.digest());
    }

    #[test]
    fn batch_record_round_trip((schema, records) in schema_and_rows(schema(), 24)) {
        let batch = Batch::from_records(schema.clone(), &records).unwrap();
        prop_assert_eq!(batch.num_rows(), records.len());
        // Batch == row by row: every value comes back as it went in.
        prop_assert_eq!(&batch.to_records(), &records);
        for (row, record) in records.iter().enumerate() {
            prop_assert_eq!(&batch.record(row), record);
            for (col, (_, v)) in record.iter().enumerate() {
                prop_assert_eq!(batch.value(row, col).to_owned(), v.clone());
            }
        }
        for (col, f) in schema.features().iter().enumerate() {
            let nulls = records.iter().filter(|r| r.get(&f.name) == Some(&Value::Null)).count();
            prop_assert_eq!(batch.column(col).unwrap().null_count(), nulls);
        }
        let again = Batch::from_records(schema, &batch.to_records()).unwrap();
        prop_assert_eq!(again, batch);
    }

    #[test]
    fn batch_slice_matches_rows((schema, records) in schema_and_rows(schema(), 16), a in 0usize..16, b in 0usize..16) {
        let batch = Batch::from_records(schema, &records).unwrap();
        let (lo, hi) = (a.min(b).min(records.len()), a.max(b).min(records.len()));
        let slice = batch.slice(lo..hi).unwrap();
        prop_assert_eq!(slice.to_records(), records[lo..hi].to_vec());
    }

    #[test]
    fn csv_write_read_round_trip((schema, records) in schema_and_rows(schema_named(plain_name(), 6), 16)) {
        prop_assume!(!schema.is_empty());
        let mut w = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::NonNumeric).from_writer(Vec::new());
        w.write_record(schema.features().iter().map(|f| f.name.as_str())).unwrap();
        for r in &records {
            w.write_record(r.iter().map(|(_, v)| match v {
                Value::Null => String::new(),
                // Debug prints the shortest text that parses back exactly.
                Value::Float(x) => format!("{x:?}"),
                Value::Str(s) => s.clone(),
                other => other.to_string(),
            })).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let batch = CsvReader::new(schema.clone()).read_bytes(&bytes, "random.csv").unwrap();
        prop_assert_eq!(batch, Batch::from_records(schema, &records).unwrap());
    }

    /// Whatever the text, an inferred schema reads its own file back, and the
    /// data meets the inferred ranges, categories and null policy.
    #[test]
    fn inferred_schema_reads_its_own_csv(
        cells in proptest::collection::vec(proptest::collection::vec(cell(), 3), 1..20),
    ) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["a", "b", "c"]).unwrap();
        for row in &cells {
            w.write_record(row).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let options = InferOptions::default().with_label("c");
        let schema = Schema::infer_csv_bytes(&bytes, "cells.csv", &options).unwrap();
        prop_assert_eq!(schema.label().map(|f| f.role), Some(Role::Label));
        let batch = options.csv_reader(schema.clone()).read_bytes(&bytes, "cells.csv").unwrap();
        prop_assert_eq!(batch.num_rows(), cells.len());
        for (f, column) in schema.features().iter().zip(batch.columns()) {
            prop_assert!(f.nullable || column.null_count() == 0);
            for row in 0..batch.num_rows() {
                let v = column.value(row);
                if let Some(x) = v.as_f64() {
                    prop_assert!(f.min.is_none_or(|m| x >= m) && f.max.is_none_or(|m| x <= m), "{} {x} {f:?}", f.name);
                }
                if let (Some(c), kiln_core::ValueRef::Str(s)) = (&f.categories, v) {
                    prop_assert!(c.iter().any(|c| c == s));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(common::config(128))]

    /// Errors name the true line, whatever the line endings, blank lines and
    /// multi-line quoted fields before the bad cell.
    #[test]
    fn csv_error_lines_are_exact(
        rows in proptest::collection::vec((any::<bool>(), 0usize..3, any::<bool>()), 1..30),
        bad in any::<proptest::sample::Index>(),
    ) {
        let bad = bad.index(rows.len());
        let mut text = String::from("a,b\n");
        let mut expected = 0;
        for (i, &(crlf, blanks, multiline)) in rows.iter().enumerate() {
            let eol = if crlf { "\r\n" } else { "\n" };
            if i == bad {
                expected = text.matches('\n').count() + 1;
            }
            let a = if i == bad { "oops" } else { "1" };
            let b = if multiline { format!("\"x{eol}y\"") } else { "y".to_owned() };
            text.push_str(&format!("{a},{b}{eol}"));
            text.push_str(&eol.repeat(blanks));
        }
        let schema = Schema::new(vec![kiln_core::Feature::new("a", DType::Int64), kiln_core::Feature::new("b", DType::String)]).unwrap();
        let err = CsvReader::new(schema).read_bytes(text.as_bytes(), "lines.csv").unwrap_err();
        prop_assert_eq!(
            err.to_string(),
            format!("lines.csv: line {expected}, column \"a\": expected an integer, got \"oops\"")
        );
    }
}

/// CSV cells of every kind inference tells apart, plus arbitrary text.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("NA".to_owned()),
        proptest::sample::select(&["yes", "No", "TRUE", "false"][..]).prop_map(str::to_owned),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|x| x.to_string()),
        (2000u32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        proptest::sample::select(&["red", "green", "blue"][..]).prop_map(str::to_owned),
        "\\PC{0,6}",
    ]
}
