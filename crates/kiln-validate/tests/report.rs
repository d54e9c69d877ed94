//! Reports on real data: the penguins CSV, the table, alerts.

// Helpers outside #[test] functions unwrap too; clippy.toml only covers the latter.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use kiln_core::{Batch, CsvReader, DType, Feature, Record, Role, Schema, Value};
use kiln_validate::{
    AlertKind, AlertThresholds, Policy, Severity, Unexpected, ValidationReport, Validator, ValidatorConfig,
    ViolationKind,
};

fn penguins_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/penguins/penguins.csv")
}

fn penguins_schema() -> Schema {
    Schema::new(vec![
        Feature::new("species", DType::Categorical)
            .with_categories(["Adelie", "Chinstrap", "Gentoo"])
            .with_role(Role::Label),
        Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream", "Torgersen"]),
        // Declared non-nullable and narrower than the data on purpose.
        Feature::new("bill_length_mm", DType::Float64).with_range(Some(25.0), Some(55.0)),
        Feature::new("bill_depth_mm", DType::Float64).with_nullable(true),
        Feature::new("flipper_length_mm", DType::Float64).with_nullable(true),
        Feature::new("body_mass_g", DType::Float64).with_nullable(true),
        Feature::new("sex", DType::Categorical)
            .with_nullable(true)
            .with_categories(["female", "male"]),
        Feature::new("year", DType::Int64).with_range(Some(2007.0), Some(2009.0)),
    ])
    .unwrap()
}

/// Reference counts straight from the CSV text, independent of Kiln.
fn csv_column(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(penguins_csv()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == name).unwrap();
    lines.map(|l| l.split(',').nth(col).unwrap().to_owned()).collect()
}

#[test]
fn penguins_csv_report_matches_the_file() {
    let schema = penguins_schema();
    let validator = Validator::for_training(schema.clone());
    let report = validator
        .validate_csv_path(&CsvReader::new(schema), penguins_csv())
        .unwrap();

    let bills = csv_column("bill_length_mm");
    let values: Vec<f64> = bills.iter().filter_map(|s| s.parse().ok()).collect();
    let nulls = bills.iter().filter(|s| *s == "NA").count() as u64;
    let above = values.iter().filter(|x| **x > 55.0).count() as u64;
    let first_bad: Vec<u64> = bills
        .iter()
        .enumerate()
        .filter(|(_, s)| *s == "NA" || s.parse::<f64>().is_ok_and(|x| x > 55.0))
        .map(|(i, _)| i as u64)
        .take(10)
        .collect();

    assert_eq!(report.rows(), bills.len() as u64);
    let f = report.feature("bill_length_mm").unwrap();
    assert_eq!(f.nulls(), nulls);
    assert_eq!(f.count(ViolationKind::Null), nulls);
    assert_eq!(f.count(ViolationKind::AboveMax), above);
    assert_eq!(f.observed_max(), values.iter().copied().reduce(f64::max));
    assert_eq!(f.observed_min(), values.iter().copied().reduce(f64::min));
    assert_eq!(f.offending_rows(), &first_bad[..]);
    assert_eq!(report.rows_with_violations(), nulls + above);
    assert_eq!(report.rejected_rows(), 0);

    let sex = csv_column("sex");
    let sex_nulls = sex.iter().filter(|s| *s == "NA").count() as u64;
    let s = report.feature("sex").unwrap();
    assert_eq!(s.nulls(), sex_nulls);
    assert_eq!(s.violations(), 0);
    assert!((s.null_rate() - sex_nulls as f64 / sex.len() as f64).abs() < 1e-12);

    // The table names every feature with its counts.
    let table = report.to_string();
    assert!(table.starts_with(&format!("{} rows, {} with violations", report.rows(), nulls + above)));
    let line = table.lines().find(|l| l.starts_with("bill_length_mm")).unwrap();
    assert!(
        line.contains(&format!("{above} above max")) && line.contains(&format!("{nulls} null")),
        "{line}"
    );
    for name in ["species", "island", "sex", "year"] {
        assert!(table.lines().any(|l| l.starts_with(name)), "{table}");
    }
}

#[test]
fn csv_batches_are_numbered_globally() {
    // More rows than one CSV batch holds, so that batches merge.
    let schema = Schema::new(vec![Feature::new("x", DType::Int64).with_range(Some(0.0), Some(9.0))]).unwrap();
    let mut csv = String::from("x\n");
    for i in 0..70_000u32 {
        csv.push_str(if i == 3 || i == 69_999 { "10\n" } else { "1\n" });
    }
    let report = Validator::for_training(schema.clone())
        .validate_csv(&CsvReader::new(schema), csv.as_bytes(), "big.csv")
        .unwrap();
    assert_eq!(report.rows(), 70_000);
    assert_eq!(report.feature("x").unwrap().offending_rows(), &[3, 69_999]);
}

#[test]
fn csv_structure_errors_name_the_line() {
    let schema = Schema::new(vec![Feature::new("x", DType::Int64), Feature::new("y", DType::Int64)]).unwrap();
    let err = Validator::for_training(schema.clone())
        .validate_csv(&CsvReader::new(schema.clone()), "x,y\n1,2\n3\n".as_bytes(), "bad.csv")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.csv: line 3: expected 2 fields as in the header, found 1"
    );
    let err = Validator::for_training(schema.clone())
        .validate_csv_path(&CsvReader::new(schema), "/nonexistent/kiln.csv")
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/kiln.csv"), "{err}");
}

fn report_of(rows: &[Record], schema: &Schema, config: ValidatorConfig) -> ValidationReport {
    Validator::new(schema.clone(), config)
        .unwrap()
        .validate_records(rows)
        .report
}

#[test]
fn alerts_follow_the_severity_scale() {
    let schema = Schema::new(vec![
        Feature::new("age", DType::Int64).with_range(Some(0.0), Some(130.0)),
        Feature::new("city", DType::Categorical).with_categories(["Oslo", "Rome"]),
        Feature::new("score", DType::Float64).with_nullable(true),
        Feature::new("tier", DType::Categorical).with_categories(["a", "b"]),
    ])
    .unwrap();
    let clean = |i: i64| {
        Record::new()
            .with("age", 30 + i)
            .with("city", "Oslo")
            .with("score", 0.5)
            .with("tier", "a")
    };
    let baseline_rows: Vec<Record> = (0..100).map(clean).collect();
    let config = ValidatorConfig::training()
        .with_policy("tier", Policy::Coerce)
        .with_unexpected(Unexpected::Flag);
    let baseline = report_of(&baseline_rows, &schema, config.clone());
    assert!(baseline.alerts(Some(&baseline), &AlertThresholds::default()).is_empty());

    let mut rows = baseline_rows;
    rows[1] = clean(1).with("age", 212);
    rows[2] = clean(2).with("city", "Paris");
    rows[3] = clean(3).with("age", "old");
    rows[4] = clean(4).with("new_field", 1);
    for (i, r) in rows.iter_mut().enumerate().skip(10).take(20) {
        *r = clean(i as i64).with("score", Value::Null);
    }
    for r in rows.iter_mut().skip(50).take(5) {
        r.insert("tier", "A");
    }
    let today = report_of(&rows, &schema, config);
    let alerts = today.alerts(Some(&baseline), &AlertThresholds::default());
    let got: Vec<(Severity, &str, AlertKind)> = alerts
        .iter()
        .map(|a| (a.severity, a.feature.as_str(), a.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (Severity::P0, "age", AlertKind::Violation(ViolationKind::WrongType)),
            (
                Severity::P0,
                "new_field",
                AlertKind::Violation(ViolationKind::Unexpected)
            ),
            (Severity::P0, "score", AlertKind::NullRateSpike),
            (
                Severity::P1,
                "city",
                AlertKind::Violation(ViolationKind::UnknownCategory)
            ),
            (Severity::P2, "age", AlertKind::Violation(ViolationKind::AboveMax)),
            (Severity::P3, "tier", AlertKind::Coerced),
        ]
    );
    let spike = &alerts[2];
    assert!((spike.rate - 0.2).abs() < 1e-12);
    assert_eq!(
        spike.message,
        r#"feature "score": null rate 20.0% against a baseline of 0.0% (20 of 100 rows null)"#
    );
    assert!(spike.to_string().starts_with("[P0 critical] feature \"score\""));

    // Thresholds: rates at or below them stay quiet; schema mismatches always alert.
    let lenient = AlertThresholds::default()
        .with_violation_rate(0.5)
        .with_null_rate_increase(0.5)
        .with_coerced_rate(0.5);
    let quiet: Vec<AlertKind> = today.alerts(Some(&baseline), &lenient).iter().map(|a| a.kind).collect();
    assert_eq!(
        quiet,
        vec![
            AlertKind::Violation(ViolationKind::WrongType),
            AlertKind::Violation(ViolationKind::Unexpected)
        ]
    );
    // Without a baseline there is no spike to detect.
    assert!(
        today
            .alerts(None, &AlertThresholds::default())
            .iter()
            .all(|a| a.kind != AlertKind::NullRateSpike)
    );
}

#[test]
fn reports_of_different_schemas_merge_by_name() {
    let a = Schema::new(vec![Feature::new("x", DType::Float64), Feature::new("y", DType::Bool)]).unwrap();
    let b = Schema::new(vec![Feature::new("y", DType::Bool), Feature::new("z", DType::Int64)]).unwrap();
    let ra = report_of(
        &[Record::new().with("x", 1.0).with("y", true)],
        &a,
        ValidatorConfig::training(),
    );
    let rb = report_of(
        &[Record::new().with("y", Value::Null).with("z", 3)],
        &b,
        ValidatorConfig::training(),
    );
    let merged = ra + rb;
    let names: Vec<&str> = merged.features().iter().map(|f| f.name()).collect();
    assert_eq!(names, vec!["x", "y", "z"]);
    assert_eq!(merged.feature("y").unwrap().rows(), 2);
    assert_eq!(merged.feature("y").unwrap().count(ViolationKind::Null), 1);
    assert_eq!(merged.feature("x").unwrap().rows(), 1);
}

#[test]
fn check_record_into_a_foreign_report_merges() {
    let schema = Schema::new(vec![Feature::new("x", DType::Float64).with_range(None, Some(1.0))]).unwrap();
    let v = Validator::for_training(schema);
    let mut report = ValidationReport::empty([("other", DType::Bool)], 3);
    let _ = v.check_record_into(&Record::new().with("x", 2.0), 7, &mut report);
    assert_eq!(report.features().len(), 2);
    assert_eq!(report.feature("x").unwrap().offending_rows(), &[7]);
    assert_eq!(report.rows(), 1);
    assert_eq!(report.max_offending_rows(), 3);
}

#[test]
fn report_json_is_versioned() {
    let schema = penguins_schema();
    let batch = Batch::from_records(
        schema.clone(),
        &[Record::new().with("island", "Biscoe").with("year", 2007)],
    )
    .unwrap();
    let report = Validator::for_training(schema).validate_batch(&batch).report;
    let json = report.to_json();
    assert!(json.contains(r#""format": "kiln.validation-report/v1""#), "{json}");
    assert!(
        json.contains(r#""missing": 1"#) || json.contains(r#""null": 1"#),
        "{json}"
    );
    assert_eq!(ValidationReport::from_json(&json).unwrap(), report);
    let future = json.replace("kiln.validation-report/v1", "kiln.validation-report/v2");
    assert!(
        ValidationReport::from_json(&future)
            .unwrap_err()
            .to_string()
            .contains("unsupported format")
    );
    assert!(ValidationReport::from_json("{").is_err());
}
