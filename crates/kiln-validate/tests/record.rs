//! The record path: every violation kind, policies, coercion, hostile input.

// Helpers outside #[test] functions unwrap too; clippy.toml only covers the latter.
#![allow(clippy::unwrap_used)]

use kiln_core::{DType, Feature, Record, Role, Schema, Value};
use kiln_validate::{Error, Policy, Rule, Unexpected, Validator, ValidatorConfig, ViolationKind};

fn penguins() -> Schema {
    Schema::new(vec![
        Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream", "Torgersen"]),
        Feature::new("bill_length_mm", DType::Float64).with_range(Some(25.0), Some(65.0)),
        Feature::new("flipper_length_mm", DType::Float32).with_nullable(true),
        Feature::new("year", DType::Int64).with_range(Some(2007.0), Some(2009.0)),
        Feature::new("adult", DType::Bool).with_nullable(true),
        Feature::new("note", DType::String).with_nullable(true),
        Feature::new("seen_at", DType::Timestamp).with_nullable(true),
        Feature::new("species", DType::Categorical).with_role(Role::Label),
    ])
    .unwrap()
}

fn good() -> Record {
    Record::new()
        .with("island", "Biscoe")
        .with("bill_length_mm", 39.1)
        .with("flipper_length_mm", 181.0)
        .with("year", 2007)
        .with("adult", true)
        .with("note", "ok")
        .with("seen_at", "2008-11-02T10:00:00Z")
        .with("species", "Adelie")
}

fn rejected(v: &Validator, r: &Record) -> String {
    match v.validate_record(r) {
        Err(e @ Error::Rejected(_)) => e.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn every_kind_is_detected_and_named() {
    let v = Validator::for_serving(penguins());
    assert!(v.validate_record(&good()).is_ok());
    let cases: Vec<(Record, ViolationKind, &str)> = vec![
        (
            {
                let mut r = good();
                r.remove("island");
                r
            },
            ViolationKind::Missing,
            r#"feature "island": required feature is missing"#,
        ),
        (
            good().with("beak_colour", "red"),
            ViolationKind::Unexpected,
            r#"feature "beak_colour": unexpected feature, not in the schema"#,
        ),
        (
            good().with("year", Value::Null),
            ViolationKind::Null,
            r#"feature "year": null, but the feature is not nullable"#,
        ),
        (
            good().with("year", "2008"),
            ViolationKind::WrongType,
            r#"feature "year": wrong type: expected int64, got a string "2008""#,
        ),
        (
            good().with("year", 1999),
            ViolationKind::BelowMin,
            r#"feature "year": value 1999 below min 2007"#,
        ),
        (
            good().with("bill_length_mm", 212),
            ViolationKind::AboveMax,
            r#"feature "bill_length_mm": value 212 above max 65"#,
        ),
        (
            good().with("island", "Atlantis"),
            ViolationKind::UnknownCategory,
            r#"feature "island": unknown category "Atlantis""#,
        ),
        (
            good().with("bill_length_mm", f64::NAN),
            ViolationKind::NonFinite,
            r#"feature "bill_length_mm": value NaN is not finite"#,
        ),
    ];
    for (record, kind, text) in cases {
        let err = rejected(&v, &record);
        assert_eq!(err, format!("record rejected: {text}"));
        let outcome = v.check_record(&record, Some(17));
        assert_eq!(outcome.violations().len(), 1, "{err}");
        let violation = &outcome.violations()[0];
        assert_eq!(violation.kind(), kind);
        assert!(violation.rejecting);
        assert_eq!(violation.to_string(), format!("{text} (row 17)"));
    }
}

#[test]
fn all_violations_of_a_record_are_listed() {
    let v = Validator::for_serving(penguins());
    let r = good().with("year", 3000).with("island", "Mars").with("extra", 1);
    let err = v.validate_record(&r).unwrap_err();
    let kinds: Vec<_> = err.violations().unwrap().iter().map(|v| v.kind()).collect();
    assert_eq!(
        kinds,
        vec![
            ViolationKind::UnknownCategory,
            ViolationKind::AboveMax,
            ViolationKind::Unexpected
        ]
    );
    assert_eq!(err.to_string().matches("; ").count(), 2);
}

#[test]
fn field_order_does_not_matter() {
    let v = Validator::for_serving(penguins());
    let fields: Vec<(String, Value)> = good().iter().map(|(n, v)| (n.to_owned(), v.clone())).collect();
    let reversed: Record = fields.into_iter().rev().collect();
    assert!(v.validate_record(&reversed).is_ok());
    let bad: Record = reversed.with("year", 1).with("flipper_length_mm", f64::INFINITY);
    assert_eq!(v.check_record(&bad, None).violations().len(), 2);
}

#[test]
fn nullable_features_may_be_absent_or_null() {
    let v = Validator::for_serving(penguins());
    let mut r = good().with("adult", Value::Null);
    r.remove("note");
    r.remove("seen_at");
    assert!(v.check_record(&r, None).is_valid());
}

#[test]
fn training_flags_and_ignores_unexpected() {
    let v = Validator::for_training(penguins());
    let r = good().with("year", 3000).with("extra", 1);
    assert!(v.validate_record(&r).is_ok());
    let outcome = v.check_record(&r, None);
    assert!(!outcome.is_rejected());
    assert_eq!(outcome.violations().len(), 1);
    assert!(!outcome.violations()[0].rejecting);
    // The flagged violations come back from `into_result`.
    assert_eq!(outcome.into_result().unwrap().len(), 1);
}

#[test]
fn unexpected_flag_reports_without_rejecting() {
    let config = ValidatorConfig::serving().with_unexpected(Unexpected::Flag);
    let v = Validator::new(penguins(), config).unwrap();
    let outcome = v.check_record(&good().with("extra", 1), None);
    assert!(!outcome.is_rejected());
    assert_eq!(outcome.violations()[0].rule, Rule::Declared);
}

#[test]
fn per_feature_overrides() {
    let config = ValidatorConfig::serving().with_policy("year", Policy::Flag);
    let v = Validator::new(penguins(), config).unwrap();
    assert_eq!(v.policy("year"), Some(Policy::Flag));
    assert_eq!(v.policy("island"), Some(Policy::Reject));
    assert!(v.validate_record(&good().with("year", 3000)).is_ok());
    assert!(v.validate_record(&good().with("island", "Mars")).is_err());
    let err = Validator::new(penguins(), ValidatorConfig::serving().with_policy("beak", Policy::Flag)).unwrap_err();
    assert!(matches!(&err, Error::UnknownFeature(n) if n == "beak"), "{err}");
    assert!(err.to_string().contains("\"beak\""));
}

fn coercing() -> Validator {
    Validator::new(
        penguins(),
        ValidatorConfig::serving().with_default_policy(Policy::Coerce),
    )
    .unwrap()
}

#[test]
fn coercion_fixes_what_it_can() {
    let v = coercing();
    let cases: Vec<(&str, Value, Value)> = vec![
        ("bill_length_mm", Value::Int(40), Value::Float(40.0)),
        ("bill_length_mm", Value::Str(" 40.5 ".into()), Value::Float(40.5)),
        ("flipper_length_mm", Value::Int(181), Value::Float(181.0)),
        ("year", Value::Float(2008.0), Value::Int(2008)),
        ("year", Value::Str("2008".into()), Value::Int(2008)),
        ("year", Value::Str("2008.0".into()), Value::Int(2008)),
        ("adult", Value::Str("TRUE".into()), Value::Bool(true)),
        ("adult", Value::Str("false".into()), Value::Bool(false)),
        ("island", Value::Str("  dream ".into()), Value::Str("Dream".into())),
        ("island", Value::Str("BISCOE".into()), Value::Str("Biscoe".into())),
        ("note", Value::Str(" hi ".into()), Value::Str("hi".into())),
        ("species", Value::Str(" Adelie".into()), Value::Str("Adelie".into())),
        (
            "seen_at",
            Value::Str("1970-01-01T00:00:01Z".into()),
            Value::Int(1_000_000),
        ),
        ("seen_at", Value::Str("42".into()), Value::Int(42)),
        ("seen_at", Value::Float(7.0), Value::Int(7)),
    ];
    // The baseline record needs no coercion (its timestamp would be coerced).
    let base = good().with("seen_at", 0);
    assert_eq!(v.check_record(&base, None).coerced(), 0);
    assert_eq!(v.check_record(&good(), None).coerced(), 1);
    for (feature, given, expected) in cases {
        let record = base.clone().with(feature, given.clone());
        let outcome = v.check_record(&record, None);
        assert!(outcome.is_valid(), "{feature} {given:?}: {}", outcome.violations());
        assert_eq!(outcome.coerced(), 1, "{feature} {given:?}");
        let fixed = v.coerce_record(record).unwrap();
        assert_eq!(fixed.get(feature), Some(&expected), "{feature} {given:?}");
        // Coercion is idempotent.
        assert_eq!(v.check_record(&fixed, None).coerced(), 0);
        assert_eq!(v.coerce_record(fixed.clone()).unwrap(), fixed);
    }
}

#[test]
fn coercion_does_not_clip_fill_or_guess() {
    let v = coercing();
    let cases: Vec<(&str, Value, ViolationKind)> = vec![
        ("bill_length_mm", Value::Float(212.0), ViolationKind::AboveMax),
        ("bill_length_mm", Value::Str("212".into()), ViolationKind::AboveMax),
        ("bill_length_mm", Value::Str("NaN".into()), ViolationKind::NonFinite),
        ("bill_length_mm", Value::Str("forty".into()), ViolationKind::WrongType),
        ("year", Value::Float(2008.5), ViolationKind::WrongType),
        ("year", Value::Null, ViolationKind::Null),
        ("adult", Value::Str("maybe".into()), ViolationKind::WrongType),
        ("island", Value::Str("Atlantis".into()), ViolationKind::UnknownCategory),
        ("island", Value::Int(1), ViolationKind::WrongType),
        ("seen_at", Value::Str("yesterday".into()), ViolationKind::WrongType),
    ];
    for (feature, given, kind) in cases {
        let record = good().with(feature, given.clone());
        let err = v.coerce_record(record).unwrap_err();
        let violations = err.violations().unwrap();
        assert_eq!(violations.len(), 1, "{feature} {given:?}: {err}");
        assert_eq!(violations[0].kind(), kind, "{feature} {given:?}");
        assert!(violations[0].rejecting);
    }
    // The coerced value is the one reported.
    let err = v.coerce_record(good().with("bill_length_mm", "212")).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"record rejected: feature "bill_length_mm": value 212 above max 65"#
    );
}

#[test]
fn without_coerce_strict_types_hold() {
    let v = Validator::for_serving(penguins());
    // Integers are floats' valid values and RFC 3339 strings timestamps' under any policy...
    assert!(v.validate_record(&good().with("bill_length_mm", 40)).is_ok());
    assert!(v.validate_record(&good().with("seen_at", 5)).is_ok());
    // ...but nothing else is converted.
    for (f, x) in [
        ("year", Value::Float(2008.0)),
        ("adult", Value::Str("true".into())),
        ("bill_length_mm", Value::Str("40".into())),
    ] {
        let e = rejected(&v, &good().with(f, x));
        assert!(e.contains("wrong type"), "{e}");
    }
    assert!(rejected(&v, &good().with("island", "biscoe")).contains("unknown category"));
    assert!(v.coerce_record(good()).is_ok_and(|r| r == good()));
}

#[test]
fn hostile_input_is_bounded() {
    let v = Validator::for_serving(penguins());
    let huge = "x".repeat(5_000_000);
    let r = good()
        .with("island", huge.as_str())
        .with(huge.as_str(), f64::NEG_INFINITY);
    let err = v.validate_record(&r).unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 2_000, "{} bytes", text.len());
    for violation in err.violations().unwrap() {
        assert!(violation.feature.chars().count() <= kiln_validate::MAX_VALUE_CHARS);
        if let Some(Value::Str(s)) = &violation.value {
            assert!(s.chars().count() <= kiln_validate::MAX_VALUE_CHARS);
        }
    }
    // Multi-byte characters are cut on character boundaries.
    let r = good().with("island", "é".repeat(1000));
    assert!(v.validate_record(&r).is_err());
    // Extreme numbers.
    for x in [f64::MAX, f64::MIN, f64::MIN_POSITIVE, -0.0] {
        let _ = v.check_record(&good().with("bill_length_mm", x).with("flipper_length_mm", x), None);
    }
    for i in [i64::MIN, i64::MAX] {
        assert!(v.validate_record(&good().with("year", i)).is_err());
        let _ = v.check_record(&good().with("seen_at", i).with("bill_length_mm", i), None);
    }
}

#[test]
fn float32_overflow_is_not_finite() {
    let v = Validator::for_serving(penguins());
    let err = rejected(&v, &good().with("flipper_length_mm", 1e300));
    assert!(err.contains("flipper_length_mm") && err.contains("not finite"), "{err}");
}

#[test]
fn large_schemas_and_many_categories() {
    let cats: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
    let mut features: Vec<Feature> = (0..300)
        .map(|i| Feature::new(format!("x{i}"), DType::Float64))
        .collect();
    features.push(Feature::new("k", DType::Categorical).with_categories(cats.clone()));
    let schema = Schema::new(features).unwrap();
    let v = Validator::new(schema, ValidatorConfig::serving().with_policy("k", Policy::Coerce)).unwrap();
    let mut r: Record = (0..300).map(|i| (format!("x{i}"), f64::from(i))).collect();
    r.insert("k", "c250");
    assert!(v.validate_record(&r).is_ok());
    r.remove("x299");
    r.insert("k", "C499 ");
    let outcome = v.check_record(&r, None);
    assert_eq!(outcome.violations().len(), 1);
    assert_eq!(outcome.violations()[0].feature, "x299");
    assert_eq!(outcome.coerced(), 1);
}

#[test]
fn validators_are_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone>(_: &T) {}
    let v = Validator::for_serving(penguins());
    shareable(&v);
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let v = v.clone();
            std::thread::spawn(move || v.validate_record(&good()).is_ok())
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
}
