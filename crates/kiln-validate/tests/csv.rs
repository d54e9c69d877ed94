//! CSV validation reports bad cells, missing and unexpected columns instead
//! of stopping at them.

// Helpers outside #[test] functions unwrap too; clippy.toml only covers the latter.
#![allow(clippy::unwrap_used)]

use kiln_core::{CsvReader, DType, Feature, Record, Role, Schema};
use kiln_validate::{Policy, Unexpected, ValidationReport, Validator, ValidatorConfig, ViolationKind};

fn schema() -> Schema {
    Schema::new(vec![
        Feature::new("species", DType::Categorical)
            .with_categories(["Adelie", "Gentoo"])
            .with_role(Role::Label),
        Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream"]),
        Feature::new("mass", DType::Int64).with_range(Some(2500.0), Some(6500.0)),
        Feature::new("bill", DType::Float64).with_nullable(true),
    ])
    .unwrap()
}

fn validate(validator: &Validator, csv: &str) -> ValidationReport {
    validator
        .validate_csv(&CsvReader::new(schema()), csv.as_bytes(), "t.csv")
        .unwrap()
}

fn unexpected(report: &ValidationReport) -> Vec<(String, u64)> {
    report.unexpected().map(|(n, c)| (n.to_owned(), c)).collect()
}

#[test]
fn bad_cells_are_wrong_type_not_null() {
    let csv = "species,island,mass,bill\n\
               Adelie,Biscoe,3750,39.1\n\
               Adelie,Biscoe,abc,NA\n\
               Gentoo,Dream,4000,long\n\
               Gentoo,Dream,9000,45\n";
    let training = validate(&Validator::for_training(schema()), csv);
    assert_eq!(
        (
            training.rows(),
            training.rows_with_violations(),
            training.rejected_rows()
        ),
        (4, 3, 0)
    );
    let mass = training.feature("mass").unwrap();
    assert_eq!(mass.count(ViolationKind::WrongType), 1);
    assert_eq!(mass.count(ViolationKind::AboveMax), 1);
    assert_eq!(mass.offending_rows(), &[1, 3]);
    assert_eq!(mass.nulls(), 0);
    let bill = training.feature("bill").unwrap();
    assert_eq!((bill.count(ViolationKind::WrongType), bill.nulls()), (1, 1));
    assert_eq!(bill.offending_rows(), &[2]);
    let line = training
        .to_string()
        .lines()
        .find(|l| l.starts_with("mass"))
        .map(str::to_owned)
        .unwrap();
    assert!(
        line.contains("1 wrong type, 1 above max") && line.ends_with("1, 3"),
        "{line}"
    );

    let serving = validate(&Validator::for_serving(schema()), csv);
    assert_eq!(serving.rejected_rows(), 3);
    // A flagged feature's bad cell flags, it does not reject.
    let config = ValidatorConfig::serving().with_policy("bill", Policy::Flag);
    let mixed = validate(&Validator::new(schema(), config).unwrap(), csv);
    assert_eq!((mixed.rows_with_violations(), mixed.rejected_rows()), (3, 2));
}

#[test]
fn bad_cells_are_numbered_globally_across_batches() {
    let schema = Schema::new(vec![Feature::new("x", DType::Int64)]).unwrap();
    let mut csv = String::from("x\n");
    for i in 0..70_000u32 {
        csv.push_str(if i == 3 || i == 69_999 { "ten\n" } else { "1\n" });
    }
    let report = Validator::for_training(schema.clone())
        .validate_csv(&CsvReader::new(schema), csv.as_bytes(), "big.csv")
        .unwrap();
    assert_eq!(report.rows(), 70_000);
    let x = report.feature("x").unwrap();
    assert_eq!(x.count(ViolationKind::WrongType), 2);
    assert_eq!(x.offending_rows(), &[3, 69_999]);
}

#[test]
fn coercion_applies_to_cells_the_reader_cannot_parse() {
    // "3000.0" is no integer to the reader, but coercion makes it one, as
    // it would for the string "3000.0" in a record.
    let csv = "species,island,mass\nAdelie,Biscoe,3000.0\nAdelie,Biscoe,3e3x\n";
    let config = ValidatorConfig::serving().with_policy("mass", Policy::Coerce);
    let validator = Validator::new(schema(), config).unwrap();
    let report = validate(&validator, csv);
    let mass = report.feature("mass").unwrap();
    assert_eq!((mass.coerced(), mass.count(ViolationKind::WrongType)), (1, 1));
    assert_eq!(mass.observed_max(), Some(3000.0));
    assert_eq!(report.rejected_rows(), 1);
    let records = [
        Record::new()
            .with("species", "Adelie")
            .with("island", "Biscoe")
            .with("mass", "3000.0"),
        Record::new()
            .with("species", "Adelie")
            .with("island", "Biscoe")
            .with("mass", "3e3x"),
    ];
    assert_eq!(report, validator.validate_records(&records).report);
    // The one violation is the one `check_record` finds in the record.
    let outcome = validator.check_record(&records[1], Some(1));
    assert_eq!(
        outcome.violations().to_string(),
        r#"feature "mass": wrong type: expected int64, got a string "3e3x" (row 1)"#
    );
}

#[test]
fn missing_columns_are_missing_in_every_row() {
    let csv = "species,bill\nAdelie,39.1\nGentoo,NA\nGentoo,41\n";
    let report = validate(&Validator::for_training(schema()), csv);
    for name in ["island", "mass"] {
        let f = report.feature(name).unwrap();
        assert_eq!(f.count(ViolationKind::Missing), 3, "{name}");
        assert_eq!(f.offending_rows(), &[0, 1, 2]);
    }
    assert_eq!(report.rows_with_violations(), 3);
    // A missing nullable column is all null, no violation.
    let report = validate(
        &Validator::for_training(schema()),
        "species,island,mass\nAdelie,Dream,3000\n",
    );
    let bill = report.feature("bill").unwrap();
    assert_eq!((bill.nulls(), bill.violations()), (1, 0));
    assert!(report.is_clean());
    // Serving rejects rows without a required feature.
    let report = validate(&Validator::for_serving(schema()), csv);
    assert_eq!(report.rejected_rows(), 3);
}

#[test]
fn unknown_columns_follow_the_unexpected_policy() {
    let csv = "species,tag,island,mass,note\nAdelie,a,Biscoe,3000,x\nGentoo,b,Dream,4000,y\n";
    let with = |unexpected| {
        let config = ValidatorConfig::serving().with_unexpected(unexpected);
        validate(&Validator::new(schema(), config).unwrap(), csv)
    };
    let reject = with(Unexpected::Reject);
    assert_eq!(unexpected(&reject), vec![("note".to_owned(), 2), ("tag".to_owned(), 2)]);
    assert_eq!((reject.rows_with_violations(), reject.rejected_rows()), (2, 2));
    let flag = with(Unexpected::Flag);
    assert_eq!(flag.total(ViolationKind::Unexpected), 4);
    assert_eq!((flag.rows_with_violations(), flag.rejected_rows()), (2, 0));
    let ignore = with(Unexpected::Ignore);
    assert_eq!(ignore.total(ViolationKind::Unexpected), 0);
    assert!(ignore.is_clean());
}

#[test]
fn serving_ignores_the_label_the_reader_declares() {
    let serving = Validator::for_serving(schema().without_roles(&[Role::Label]));
    // Without the label column: valid.
    let report = validate(&serving, "island,mass\nBiscoe,3000\n");
    assert!(report.is_clean(), "{report}");
    assert!(report.feature("species").is_none());
    // With it, even holding values the schema forbids: read, not checked,
    // and not unexpected.
    let report = validate(&serving, "species,island,mass\nUnicorn,Biscoe,3000\n,Dream,4000\n");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.total(ViolationKind::Unexpected), 0);
    // A column neither schema declares is unexpected.
    let report = validate(&serving, "species,island,mass,tag\nAdelie,Biscoe,3000,x\n");
    assert_eq!(unexpected(&report), vec![("tag".to_owned(), 1)]);
    assert_eq!(report.rejected_rows(), 1);
}

#[test]
fn the_readers_own_mode_does_not_matter() {
    let csv = "species,island,mass\nAdelie,Biscoe,abc\n";
    let validator = Validator::for_training(schema());
    for reader in [CsvReader::new(schema()), CsvReader::new(schema()).with_lenient(true)] {
        let report = validator.validate_csv(&reader, csv.as_bytes(), "t.csv").unwrap();
        assert_eq!(report.total(ViolationKind::WrongType), 1);
    }
}
