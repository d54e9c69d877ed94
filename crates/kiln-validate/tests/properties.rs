//! Properties: batch == record by record, merge laws, serde round trips,
//! coercion idempotence, no panics on arbitrary input.

// Helpers outside #[test] functions unwrap too; clippy.toml only covers the latter.
#![allow(clippy::unwrap_used)]

use kiln_core::{Batch, CsvReader, DType, Feature, Record, Schema, Value};
use kiln_validate::{AlertThresholds, Policy, Unexpected, ValidationReport, Validator, ValidatorConfig};
use proptest::prelude::*;

const NAMES: [&str; 6] = ["f0", "f1", "f2", "f3", "f4", "f5"];
const WORDS: [&str; 8] = ["a", "b", "A", " a", "b ", "zz", "", "Ab"];

fn feature(name: &'static str) -> impl Strategy<Value = Feature> {
    (
        prop::sample::select(&DType::ALL[..]),
        any::<bool>(),
        proptest::option::of(-8i32..8),
        proptest::option::of(0i32..8),
        prop::sample::subsequence(vec!["a", "b", "A", "zz"], 0..4),
        any::<bool>(),
    )
        .prop_map(move |(dtype, nullable, lo, width, cats, with_cats)| {
            let mut f = Feature::new(name, dtype).with_nullable(nullable);
            if dtype.is_numeric() || dtype == DType::Timestamp {
                let lo = lo.map(f64::from);
                let hi = width.map(|w| lo.unwrap_or(-8.0) + f64::from(w));
                f = f.with_range(lo, hi);
            }
            if dtype == DType::Categorical && with_cats {
                f = f.with_categories(cats);
            }
            f
        })
}

fn schema() -> impl Strategy<Value = Schema> {
    prop::sample::subsequence(NAMES.to_vec(), 1..=NAMES.len())
        .prop_shuffle()
        .prop_flat_map(|names| names.into_iter().map(feature).collect::<Vec<_>>())
        .prop_map(|features| Schema::new(features).unwrap())
}

/// A value that fits `dtype` (as `Batch::from_records` accepts it), or null.
fn value(dtype: DType) -> BoxedStrategy<Value> {
    let null = Just(Value::Null);
    match dtype {
        DType::Float32 | DType::Float64 => prop_oneof![
            null,
            (-24i32..24).prop_map(|i| Value::Float(f64::from(i) / 2.0)),
            (-12i32..12).prop_map(|i| Value::Int(i.into())),
            prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300]).prop_map(Value::Float),
        ]
        .boxed(),
        DType::Int64 => prop_oneof![
            null,
            (-12i64..12).prop_map(Value::Int),
            (-12i32..12).prop_map(|i| Value::Float(f64::from(i)))
        ]
        .boxed(),
        DType::Timestamp => prop_oneof![
            null,
            (-12i64..12).prop_map(Value::Int),
            Just(Value::Str("1970-01-01T00:00:00.000005Z".into())),
        ]
        .boxed(),
        DType::Bool => prop_oneof![null, any::<bool>().prop_map(Value::Bool)].boxed(),
        _ => prop_oneof![
            null,
            prop::sample::select(&WORDS[..]).prop_map(|w| Value::Str(w.into()))
        ]
        .boxed(),
    }
}

/// A value valid for `f` as given (`None` when the feature admits none).
fn tame(f: &Feature) -> Option<BoxedStrategy<Value>> {
    let lo = f.min.unwrap_or(-10.0) as i64;
    let hi = f.max.unwrap_or(10.0) as i64;
    let valid: BoxedStrategy<Value> = match f.dtype {
        DType::Float32 | DType::Float64 => (2 * lo..=2 * hi).prop_map(|i| Value::Float(i as f64 / 2.0)).boxed(),
        DType::Int64 | DType::Timestamp => (lo..=hi).prop_map(Value::Int).boxed(),
        DType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        DType::Categorical if f.categories.as_ref().is_some_and(Vec::is_empty) => return None,
        DType::Categorical if f.categories.is_some() => prop::sample::select(f.categories.clone().unwrap_or_default())
            .prop_map(Value::Str)
            .boxed(),
        _ => prop::sample::select(vec!["a", "b", "A", "zz", "Ab"])
            .prop_map(|w| Value::Str(w.into()))
            .boxed(),
    };
    Some(if f.nullable {
        prop_oneof![1 => Just(Value::Null), 4 => valid].boxed()
    } else {
        valid
    })
}

/// Rows where each column mixes valid values with arbitrary ones at its own
/// rate (none, a few, half), so that both the batch path's clean-column loops
/// and its per-value path run.
fn rows(schema: &Schema, max_rows: usize) -> BoxedStrategy<Vec<Record>> {
    let features = schema.features().to_vec();
    prop::collection::vec(prop::sample::select(vec![0u32, 3, 50, 100]), features.len())
        .prop_flat_map(move |rates| {
            let row: Vec<_> = features
                .iter()
                .zip(rates)
                .map(|(f, rate)| {
                    let wild = value(f.dtype);
                    let v = match tame(f) {
                        Some(t) if rate < 100 => prop_oneof![100 - rate => t, rate => wild].boxed(),
                        _ => wild,
                    };
                    (Just(f.name.clone()), v)
                })
                .collect();
            prop::collection::vec(
                row.prop_map(|fields| fields.into_iter().collect::<Record>()),
                0..max_rows,
            )
        })
        .boxed()
}

fn config() -> impl Strategy<Value = ValidatorConfig> {
    let policy = prop::sample::select(vec![Policy::Reject, Policy::Flag, Policy::Coerce]);
    (
        policy.clone(),
        prop::collection::vec((prop::sample::select(NAMES.to_vec()), policy), 0..4),
        prop::sample::select(vec![Unexpected::Reject, Unexpected::Flag, Unexpected::Ignore]),
        0usize..5,
    )
        .prop_map(|(default, overrides, unexpected, n)| {
            let mut c = ValidatorConfig::serving()
                .with_default_policy(default)
                .with_unexpected(unexpected)
                .with_max_offending_rows(n);
            for (name, p) in overrides {
                c = c.with_policy(name, p);
            }
            c
        })
}

/// A validator whose schema is the data's or an independent one over the
/// same names (so features go missing, appear unexpectedly or change type).
fn validator_for(data: Schema) -> impl Strategy<Value = Validator> {
    (any::<bool>(), schema(), config()).prop_map(move |(same, other, mut config)| {
        let schema = if same { data.clone() } else { other };
        config.overrides.retain(|name, _| schema.index_of(name).is_some());
        Validator::new(schema, config).unwrap()
    })
}

fn case(max_rows: usize) -> impl Strategy<Value = (Validator, Batch)> {
    schema().prop_flat_map(move |s| {
        (validator_for(s.clone()), rows(&s, max_rows))
            .prop_map(move |(v, rows)| (v, Batch::from_records(s.clone(), &rows).unwrap()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn batch_equals_record_by_record((validator, batch) in case(40)) {
        let by_batch = validator.validate_batch(&batch);
        let records = batch.to_records();
        let by_record = validator.validate_records(&records);
        prop_assert_eq!(&by_batch, &by_record);
        prop_assert_eq!(by_batch.rejected.len(), batch.num_rows());
        // Each rejected row is one `validate_record` rejects, and the other way round.
        for (row, r) in records.iter().enumerate() {
            prop_assert_eq!(by_batch.is_rejected(row), validator.validate_record(r).is_err());
        }
        // Fields in another order change nothing.
        let reversed: Vec<Record> = records
            .iter()
            .map(|r| {
                let mut fields: Vec<(String, Value)> = r.iter().map(|(n, v)| (n.to_owned(), v.clone())).collect();
                fields.reverse();
                fields.into_iter().collect()
            })
            .collect();
        prop_assert_eq!(validator.validate_records(&reversed), by_record);
    }

    #[test]
    fn merge_is_associative_and_shards_merge_to_whole(
        (validator, batch) in case(40),
        cut_a in 0usize..=40,
        cut_b in 0usize..=40,
    ) {
        let n = batch.num_rows();
        let (a, b) = (cut_a.min(n), cut_b.min(n));
        let (a, b) = (a.min(b), a.max(b));
        let shard = |lo: usize, hi: usize| validator.validate_batch_at(&batch.slice(lo..hi).unwrap(), lo as u64).report;
        let (x, y, z) = (shard(0, a), shard(a, b), shard(b, n));
        let whole = validator.validate_batch(&batch).report;
        let left = (x.clone() + y.clone()) + z.clone();
        let right = x.clone() + (y.clone() + z.clone());
        prop_assert_eq!(&left, &right);
        prop_assert_eq!(&left, &whole);
        prop_assert_eq!(&(z.clone() + x.clone() + y.clone()), &whole);
        // The empty report is the identity.
        prop_assert_eq!(&(validator.empty_report() + whole.clone()), &whole);
    }

    #[test]
    fn merge_of_reports_with_different_limits_and_features(
        (v1, b1) in case(20),
        (v2, b2) in case(20),
        (v3, b3) in case(20),
    ) {
        let (x, y, z) = (v1.validate_batch(&b1).report, v2.validate_batch(&b2).report, v3.validate_batch(&b3).report);
        prop_assert_eq!((x.clone() + y.clone()) + z.clone(), x + (y + z));
    }

    #[test]
    fn report_json_round_trips((validator, batch) in case(40)) {
        let report = validator.validate_batch(&batch).report;
        let back = ValidationReport::from_json(&report.to_json()).unwrap();
        prop_assert_eq!(&back, &report);
        let plain: ValidationReport = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        prop_assert_eq!(&plain, &report);
        // Display and alerts never panic and name every feature.
        let table = report.to_string();
        for f in report.features() {
            prop_assert!(table.contains(f.name()));
        }
        let _ = report.alerts(Some(&report), &AlertThresholds::default());
    }

    #[test]
    fn coercion_is_idempotent((validator, batch) in case(20)) {
        for record in batch.to_records() {
            if let Ok(fixed) = validator.coerce_record(record) {
                let again = validator.check_record(&fixed, None);
                prop_assert!(!again.is_rejected());
                prop_assert_eq!(again.coerced(), 0);
            }
        }
    }

    #[test]
    fn arbitrary_records_never_panic(
        (validator, _) in case(1),
        fields in prop::collection::vec(
            (
                prop_oneof![prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned), ".{0,300}"],
                prop_oneof![
                    Just(Value::Null),
                    any::<bool>().prop_map(Value::Bool),
                    any::<i64>().prop_map(Value::Int),
                    any::<f64>().prop_map(Value::Float),
                    ".{0,300}".prop_map(Value::Str),
                ],
            ),
            0..12,
        ),
    ) {
        let record: Record = fields.into_iter().collect();
        let outcome = validator.check_record(&record, Some(u64::MAX));
        prop_assert_eq!(validator.validate_record(&record).is_err(), outcome.is_rejected());
        for v in outcome.violations() {
            prop_assert!(!v.to_string().is_empty());
        }
        let _ = validator.coerce_record(record.clone());
        let mut report = validator.empty_report();
        let _ = validator.check_record_into(&record, u64::MAX, &mut report);
        prop_assert_eq!(report.rows(), 1);
    }
}

/// CSV cell texts: valid for one type or another, null tokens, and text no
/// typed column reads.
const CELLS: [&str; 22] = [
    "NA",
    "NaN",
    "1",
    "-3",
    "2.5",
    "7",
    "3.0",
    " 4 ",
    "1e3",
    "inf",
    "true",
    "yes",
    "T",
    "abc",
    "a",
    "b",
    "A",
    " a",
    "zz",
    "1970-01-01T00:00:00.000005Z",
    "--",
    "Ab",
];

/// A validator for CSV data of `reader`'s schema: over the same schema, a
/// subset of it (columns read but not checked), or an independent one.
fn csv_validator_for(reader: Schema) -> impl Strategy<Value = Validator> {
    let names: Vec<String> = reader.features().iter().map(|f| f.name.clone()).collect();
    (
        validator_for(reader.clone()),
        any::<bool>(),
        prop::sample::subsequence(names.clone(), 0..=names.len()),
    )
        .prop_map(move |(v, subset, keep)| {
            if !subset {
                return v;
            }
            let schema = reader.select(&keep).unwrap();
            let mut config = v.config().clone();
            config.overrides.retain(|name, _| schema.index_of(name).is_some());
            Validator::new(schema, config).unwrap()
        })
}

/// A CSV file of `schema`'s columns, some dropped, plus unknown ones, in
/// random order: its header and rows.
fn csv_table(schema: &Schema, max_rows: usize) -> BoxedStrategy<(Vec<String>, Vec<Vec<String>>)> {
    let names: Vec<String> = schema.features().iter().map(|f| f.name.clone()).collect();
    (
        prop::sample::subsequence(names.clone(), 0..=names.len()),
        prop::sample::subsequence(vec!["u0".to_owned(), "u1".to_owned()], 0..=2),
    )
        .prop_flat_map(|(mut header, unknown)| {
            header.extend(unknown);
            if header.is_empty() {
                header.push("u0".to_owned());
            }
            Just(header).prop_shuffle()
        })
        .prop_flat_map(move |header| {
            let row = prop::collection::vec(prop::sample::select(&CELLS[..]).prop_map(str::to_owned), header.len());
            (Just(header), prop::collection::vec(row, 0..max_rows))
        })
        .boxed()
}

/// The records a CSV row stands for (see `Validator::validate_csv`): cells
/// in the reader's types, a cell that does not parse as its text, columns
/// the reader declares and the validator does not left out.
fn csv_records(reader: &Schema, validator: &Schema, header: &[String], rows: &[Vec<String>]) -> Vec<Record> {
    rows.iter()
        .map(|cells| {
            let mut record = Record::new();
            for (name, cell) in header.iter().zip(cells) {
                let value = match reader.feature(name) {
                    None => Value::Str(cell.clone()),
                    Some(_) if validator.index_of(name).is_none() => continue,
                    Some(_) if kiln_core::DEFAULT_NULL_TOKENS.contains(&cell.as_str()) => Value::Null,
                    Some(f) => {
                        let mut b = kiln_core::ColumnBuilder::new(f.dtype);
                        match b.push_text(cell) {
                            Ok(()) => b.finish().value(0).to_owned(),
                            Err(_) => Value::Str(cell.clone()),
                        }
                    }
                };
                record.insert(name.clone(), value);
            }
            record
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Validating CSV (bad cells, missing and unknown columns and all) gives
    /// the report of validating its rows as records.
    #[test]
    fn csv_equals_record_by_record(
        (reader, validator, (header, rows)) in schema().prop_flat_map(|s| (Just(s.clone()), csv_validator_for(s.clone()), csv_table(&s, 30))),
    ) {
        let mut text = header.join(",");
        text.push('\n');
        for row in &rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let by_csv = validator.validate_csv(&CsvReader::new(reader.clone()), text.as_bytes(), "p.csv").unwrap();
        let records = csv_records(&reader, validator.schema(), &header, &rows);
        let by_record = validator.validate_records(&records).report;
        prop_assert_eq!(&by_csv, &by_record, "{}", text);
    }
}
