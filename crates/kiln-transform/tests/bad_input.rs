//! Bad input is a documented policy or a typed error naming the culprit, never a panic.

#![allow(clippy::unwrap_used)] // test helpers may panic

use kiln_core::{Batch, DType, Feature, Record, Schema, Value};
use kiln_transform::{
    Error, FittedPipeline, HandleUnknown, ImputeStrategy, MinFrequency, OneHotEncoder, OrdinalEncoder, OrdinalUnknown,
    Pipeline, Step, Transform,
};

fn schema() -> Schema {
    Schema::new(vec![
        Feature::new("x", DType::Float64).with_nullable(true),
        Feature::new("n", DType::Int64).with_nullable(true),
        Feature::new("island", DType::Categorical).with_nullable(true),
        Feature::new("flag", DType::Bool).with_nullable(true),
        Feature::new("f32", DType::Float32).with_nullable(true),
    ])
    .unwrap()
}

fn row(x: impl Into<Value>, n: impl Into<Value>, island: impl Into<Value>) -> Record {
    Record::new()
        .with("x", x)
        .with("n", n)
        .with("island", island)
        .with("flag", true)
        .with("f32", 0.1)
}

fn train() -> Batch {
    let rows = vec![
        row(1.0, 1, "Biscoe"),
        row(2.0, 2, "Dream"),
        row(None::<f64>, 2, "Biscoe"),
        row(4.0, None::<i64>, None::<&str>),
        row(f64::NAN, 3, "Torgersen"),
    ];
    Batch::from_records(schema(), &rows).unwrap()
}

fn fit(p: &Pipeline) -> FittedPipeline {
    p.fit(&train()).unwrap()
}

fn one(step: Step) -> FittedPipeline {
    fit(&Pipeline::new().with_step(step))
}

#[test]
fn unknown_category_policies() {
    let rec = row(1.0, 1, "Atlantis");
    let err = one(Step::new(["island"]).then(Transform::one_hot())).transform_record(&rec);
    assert!(
        matches!(&err, Err(Error::UnknownCategory { feature, value, row: None }) if feature == "island" && value == "\"Atlantis\""),
        "{err:?}"
    );
    assert!(err.unwrap_err().to_string().contains("\"island\""));

    let ignore = one(Step::new(["island"]).then(OneHotEncoder::new().with_handle_unknown(HandleUnknown::Ignore)));
    // Training had a null island: it is a category of its own, sorted last.
    assert_eq!(
        ignore.output_names(),
        ["island=Biscoe", "island=Dream", "island=Torgersen", "island=__null__"]
    );
    assert_eq!(ignore.transform_record(&rec).unwrap(), [0.0; 4]);
    assert_eq!(
        ignore.transform_record(&row(1.0, 1, None::<&str>)).unwrap(),
        [0.0, 0.0, 0.0, 1.0]
    );

    let other = one(Step::new(["island"]).then(OneHotEncoder::new().with_handle_unknown(HandleUnknown::Other)));
    assert_eq!(
        other.output_names().last().map(String::as_str),
        Some("island=__other__")
    );
    assert_eq!(other.transform_record(&rec).unwrap(), [0.0, 0.0, 0.0, 0.0, 1.0]);

    // min_frequency 2: Dream, Torgersen and null (seen once) are infrequent.
    let rare = one(Step::new(["island"]).then(
        OneHotEncoder::new()
            .with_handle_unknown(HandleUnknown::Error)
            .with_min_frequency(MinFrequency::Count(2)),
    ));
    assert_eq!(rare.output_names(), ["island=Biscoe", "island=__other__"]);
    assert_eq!(rare.transform_record(&row(1.0, 1, "Dream")).unwrap(), [0.0, 1.0]);
    assert!(matches!(
        rare.transform_record(&rec),
        Err(Error::UnknownCategory { .. })
    ));

    let ord = one(Step::new(["island"]).then(OrdinalEncoder::new().with_handle_unknown(OrdinalUnknown::Value(-1.0))));
    assert_eq!(ord.transform_record(&rec).unwrap(), [-1.0]);
    assert_eq!(ord.transform_record(&row(1.0, 1, "Torgersen")).unwrap(), [2.0]);
    // A missing value stays missing without `missing_value`: an error naming the output.
    let err = ord.transform_record(&row(1.0, 1, None::<&str>)).unwrap_err();
    assert!(
        matches!(&err, Error::MissingValue { output, .. } if output == "island__ordinal"),
        "{err}"
    );
    let ord = one(Step::new(["island"]).then(OrdinalEncoder::new().with_missing_value(-2.0)));
    assert_eq!(ord.transform_record(&row(1.0, 1, None::<&str>)).unwrap(), [-2.0]);
}

#[test]
fn batch_errors_name_the_row() {
    let fitted = one(Step::new(["island"]).then(Transform::one_hot()));
    let rows = vec![
        row(1.0, 1, "Dream"),
        row(1.0, 1, "Biscoe"),
        row(1.0, 1, "Atlantis"),
        row(1.0, 1, "Mars"),
    ];
    let batch = Batch::from_records(schema(), &rows).unwrap();
    let err = fitted.transform_batch(&batch).unwrap_err();
    assert!(matches!(&err, Error::UnknownCategory { row: Some(2), .. }), "{err:?}");
    assert!(err.to_string().contains("(row 2)"), "{err}");
}

#[test]
fn nan_is_missing_inf_is_an_error() {
    let scaled = one(Step::new(["x"]).then(Transform::standard_scaler()));
    // NaN is missing; without an imputer a missing value cannot reach the output.
    for v in [Value::Float(f64::NAN), Value::Null] {
        let err = scaled.transform_record(&row(v, 1, "Dream")).unwrap_err();
        assert!(
            matches!(&err, Error::MissingValue { feature, output, row: None } if feature == "x" && output == "x__scaled"),
            "{err:?}"
        );
    }
    // With an imputer NaN is imputed, and the indicator says so.
    let imputed = one(Step::new(["x"])
        .then(Transform::impute_with_indicator(ImputeStrategy::Median))
        .then(Transform::standard_scaler()));
    assert_eq!(imputed.output_names(), ["x__scaled", "x__missing"]);
    let a = imputed.transform_record(&row(f64::NAN, 1, "Dream")).unwrap();
    let b = imputed.transform_record(&row(2.0, 1, "Dream")).unwrap();
    assert_eq!(a[1], 1.0);
    assert_eq!(b[1], 0.0);
    // Median of 1, 2, 4 is 2: the imputed row equals the row holding 2.
    assert_eq!(a[0], b[0]);
    for v in [f64::INFINITY, f64::NEG_INFINITY] {
        let err = imputed.transform_record(&row(v, 1, "Dream")).unwrap_err();
        assert!(
            matches!(&err, Error::NonFinite { feature, .. } if feature == "x"),
            "{err:?}"
        );
    }
    // Infinity in training data is refused too, with its row.
    let rows = vec![row(1.0, 1, "Dream"), row(f64::INFINITY, 1, "Dream")];
    let batch = Batch::from_records(schema(), &rows).unwrap();
    let err = Pipeline::new()
        .with_step(Step::new(["x"]).then(Transform::standard_scaler()))
        .fit(&batch)
        .unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { feature, row: Some(1), .. } if feature == "x"),
        "{err:?}"
    );
}

#[test]
fn non_finite_results_are_errors() {
    let log = one(Step::new(["x"])
        .then(Transform::impute(ImputeStrategy::Mean))
        .then(Transform::log1p()));
    let err = log.transform_record(&row(-2.0, 1, "Dream")).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { feature, .. } if feature == "x"),
        "{err:?}"
    );
    let err = log.transform_record(&row(-1.0, 1, "Dream")).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { value, .. } if *value == f64::NEG_INFINITY),
        "{err:?}"
    );
    // A finite f64 that overflows f32 is an error for f32 output only.
    let pass = one(Step::new(["x"]).then(Transform::impute(ImputeStrategy::Mean)));
    let big = row(1e300, 1, "Dream");
    let err = pass.transform_record(&big).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { feature, .. } if feature == "x"),
        "{err:?}"
    );
    let mut out = [0.0f64];
    pass.transform_record_into(&big, &mut out).unwrap();
    assert_eq!(out, [1e300]);
    // Products that overflow are errors naming the output.
    let poly = one(Step::new(["x", "n"])
        .then(Transform::impute(ImputeStrategy::Median))
        .then(Transform::polynomial()));
    let err = poly.transform_record(&row(1e200, 1, "Dream")).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { feature, .. } if feature == "x^2"),
        "{err:?}"
    );
}

#[test]
fn missing_features_and_wrong_types() {
    let fitted = fit(&Pipeline::auto(&schema()));
    let mut rec = row(1.0, 1, "Dream");
    rec.remove("n");
    let err = fitted.transform_record(&rec).unwrap_err();
    assert!(
        matches!(&err, Error::MissingFeature { feature, row: None } if feature == "n"),
        "{err:?}"
    );

    let err = fitted.transform_record(&row("one", 1, "Dream")).unwrap_err();
    assert!(
        matches!(&err, Error::WrongType { feature, .. } if feature == "x"),
        "{err:?}"
    );
    assert!(err.to_string().contains("float64"), "{err}");
    let err = fitted.transform_record(&row(1.0, 1.5, "Dream")).unwrap_err();
    assert!(
        matches!(&err, Error::WrongType { feature, .. } if feature == "n"),
        "{err:?}"
    );
    let err = fitted.transform_record(&row(1.0, 1, 3)).unwrap_err();
    assert!(
        matches!(&err, Error::WrongType { feature, .. } if feature == "island"),
        "{err:?}"
    );
    // Integers are fine for floats, integral floats for integers.
    assert!(fitted.transform_record(&row(1, 2.0, "Dream")).is_ok());

    // Batches: a missing column, a column of the wrong type.
    let small = Schema::new(vec![Feature::new("x", DType::Float64)]).unwrap();
    let err = fitted.transform_batch(&Batch::empty(small)).unwrap_err();
    assert!(matches!(&err, Error::MissingFeature { row: None, .. }), "{err:?}");
    let mut features = schema().features().to_vec();
    features[0] = Feature::new("x", DType::Categorical);
    let err = fitted
        .transform_batch(&Batch::empty(Schema::new(features).unwrap()))
        .unwrap_err();
    assert!(
        matches!(&err, Error::WrongType { feature, row: None, .. } if feature == "x"),
        "{err:?}"
    );
    // Another numeric type is read as the fitted one.
    let mut features = schema().features().to_vec();
    features[1] = Feature::new("n", DType::Float64).with_nullable(true);
    let as_float = Batch::from_records(Schema::new(features).unwrap(), &[row(1.0, 2.0, "Dream")]).unwrap();
    let same = Batch::from_records(schema(), &[row(1.0, 2, "Dream")]).unwrap();
    assert_eq!(
        fitted.transform_batch(&as_float).unwrap(),
        fitted.transform_batch(&same).unwrap()
    );

    let mut out = vec![0.0f32; fitted.n_outputs() + 1];
    let err = fitted
        .transform_record_into(&row(1.0, 1, "Dream"), &mut out)
        .unwrap_err();
    assert!(matches!(err, Error::OutputLength { .. }));
}

#[test]
fn empty_and_all_missing_fit_data() {
    let p = Pipeline::auto(&schema());
    assert!(matches!(p.fit(&Batch::empty(schema())), Err(Error::NoRows)));
    assert!(matches!(
        p.fit_batches(std::iter::empty::<kiln_core::Result<Batch>>()),
        Err(Error::NoRows)
    ));
    assert!(matches!(
        p.partial_fit(&Batch::empty(schema()))
            .and_then(kiln_transform::PartialFit::finish),
        Err(Error::NoRows)
    ));
    let rows = vec![row(None::<f64>, 1, "Dream"), row(f64::NAN, 2, "Dream")];
    let batch = Batch::from_records(schema(), &rows).unwrap();
    let err = p.fit(&batch).unwrap_err();
    assert!(
        matches!(&err, Error::NoValues { feature, transform: "impute" } if feature == "x"),
        "{err:?}"
    );
    let err = p.partial_fit(&batch).unwrap().finish().unwrap_err();
    assert!(
        matches!(&err, Error::NoValues { feature, .. } if feature == "x"),
        "{err:?}"
    );
}

#[test]
fn constant_columns_follow_sklearn() {
    let rows: Vec<Record> = (0..4).map(|_| row(0.1, 7, "Dream")).collect();
    let batch = Batch::from_records(schema(), &rows).unwrap();
    let p = Pipeline::new()
        .with_step(Step::new(["x"]).then(Transform::standard_scaler()))
        .with_step(Step::new(["x"]).then(Transform::min_max_scaler()))
        .with_step(Step::new(["n"]).then(Transform::robust_scaler()))
        .with_step(Step::new(["f32"]).then(Transform::quantile_bins(3)));
    // Duplicate names for the two scalers of x are refused...
    let err = p.fit(&batch).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPipeline(m) if m.contains("x__scaled")),
        "{err}"
    );
    // ... so scale x once, with log1p in front of the min-max scaler.
    let p = Pipeline::new()
        .with_step(Step::new(["x"]).then(Transform::standard_scaler()))
        .with_step(
            Step::new(["x"])
                .then(Transform::log1p())
                .then(Transform::min_max_scaler()),
        )
        .with_step(Step::new(["n"]).then(Transform::robust_scaler()))
        .with_step(Step::new(["f32"]).then(Transform::quantile_bins(3)));
    let fitted = p.fit(&batch).unwrap();
    assert_eq!(
        fitted.output_names(),
        ["x__scaled", "x__log1p__scaled", "n__scaled", "f32__bin=0"]
    );
    // Zero variance/range/IQR: scale 1, so the outputs are x - mean, x - min, x - median; one bin.
    assert_eq!(
        fitted.transform_record(&row(0.1, 7, "Dream")).unwrap(),
        [0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(fitted.transform_record(&row(1.1, 9, "Dream")).unwrap()[2], 2.0);
}

#[test]
fn invalid_pipelines_name_the_step() {
    let cases: Vec<(Step, &str)> = vec![
        (Step::new(["island"]).then(Transform::standard_scaler()), "categorical"),
        (Step::new(["x"]).then(Transform::one_hot()), "floats"),
        (Step::new(["island"]), "must be encoded"),
        (Step::new(["x"]).then(Transform::polynomial()), "exactly 2"),
        (
            Step::new(["x"]).then(Transform::drop()).then(Transform::log1p()),
            "drop",
        ),
        (Step::new(["x", "x"]).then(Transform::standard_scaler()), "twice"),
        (Step::new(["nope"]).then(Transform::standard_scaler()), "nope"),
        (Step::new(["x"]).then(Transform::quantile_bins(1)), "n_bins"),
        (
            Step::new(["x"]).then(Transform::bucketize(vec![2.0, 1.0])),
            "non-decreasing",
        ),
        (
            Step::new(["x"]).then(Transform::clip(Some(2.0), Some(1.0))),
            "above max",
        ),
        (Step::new(["x"]).then(Transform::hash(0)), "n_features"),
        (
            Step::new(["island"])
                .then(Transform::impute(ImputeStrategy::Constant(Value::Int(1))))
                .then(Transform::one_hot()),
            "does not fit",
        ),
        (
            Step::new(["x"]).then(Transform::one_hot()).then(Transform::hash(2)),
            "one_hot",
        ),
        (
            Step::new(["x"])
                .then(Transform::bucketize(vec![1.0]))
                .then(Transform::hash(2)),
            "only one expanding",
        ),
        (
            Step::new(["x"])
                .then(Transform::impute_with_indicator(ImputeStrategy::Mean))
                .then(Transform::impute_with_indicator(ImputeStrategy::Mean)),
            "indicator",
        ),
    ];
    for (step, needle) in cases {
        let p = Pipeline::new().with_step(step);
        let err = p.fit(&train()).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle:?} not in {err}");
        assert!(p.validate(&schema()).is_err());
    }
    // Drop alone is fine and reads nothing.
    let fitted = fit(&Pipeline::new()
        .with_step(Step::new(["nope"]).then(Transform::drop()))
        .with_step(Step::new(["x"]).then(Transform::impute(ImputeStrategy::Mean))));
    assert_eq!(fitted.output_names(), ["x"]);
    assert_eq!(fitted.input_schema().len(), 1);
}

#[test]
fn corrupt_documents_are_refused() {
    let fitted = fit(&Pipeline::auto(&schema()));
    let good: serde_json::Value = serde_json::from_str(&fitted.to_json()).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        FittedPipeline::from_json(&v.to_string())
    };
    assert!(edit(&|_| {}).is_ok());
    // Unknown fields are ignored.
    assert!(edit(&|v| v["future"] = serde_json::json!(1)).is_ok());
    assert!(matches!(
        edit(&|v| v["format"] = serde_json::json!("kiln.pipeline/v2")),
        Err(Error::Core(kiln_core::Error::UnsupportedFormat { .. }))
    ));
    assert!(edit(&|v| v["format"] = serde_json::json!("kiln.pipeline/v1.3")).is_ok());
    let island = 2; // auto: x, n, island, flag, f32
    type Edit<'a> = Box<dyn Fn(&mut serde_json::Value) + 'a>;
    let cases: Vec<(&str, Edit<'_>)> = vec![
        (
            "listed twice",
            Box::new(|v| {
                v["steps"][island]["transforms"][1]["categories"][0] =
                    serde_json::json!(["Dream", "Dream", "Torgersen", null])
            }),
        ),
        (
            "output names",
            Box::new(|v| {
                v["steps"][island]["transforms"][1]["categories"][0] =
                    serde_json::json!(["Dream", "Biscoe", "Torgersen", null])
            }),
        ),
        (
            "fill",
            Box::new(|v| v["steps"][0]["transforms"][0]["fill"] = serde_json::json!([])),
        ),
        (
            "scale",
            Box::new(|v| v["steps"][0]["transforms"][1]["scale"] = serde_json::json!([0.0])),
        ),
        (
            "output names",
            Box::new(|v| v["steps"][0]["outputs"] = serde_json::json!(["y"])),
        ),
        (
            "output_names",
            Box::new(|v| v["output_names"][0] = serde_json::json!("y")),
        ),
        (
            "input schema",
            Box::new(|v| v["steps"][0]["inputs"] = serde_json::json!(["zzz"])),
        ),
        (
            "invalid JSON",
            Box::new(|v| v["steps"][0]["transforms"][1]["kind"] = serde_json::json!("teleport")),
        ),
    ];
    for (needle, f) in cases {
        let err = edit(&*f).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle:?} not in {err}");
    }
}

#[test]
fn merging_different_pipelines_fails() {
    let a = Pipeline::auto(&schema()).partial_fit(&train()).unwrap();
    let b = Pipeline::new()
        .with_step(Step::new(["x"]).then(Transform::log1p()))
        .partial_fit(&train())
        .unwrap();
    assert!(matches!(a.merge(b), Err(Error::Merge(_))));
}

#[test]
fn explicit_categories() {
    let order = ["Torgersen", "Dream", "Biscoe"];
    // Training has a null island: outside the list, so the error policy refuses it (as sklearn).
    let p = Pipeline::new().with_step(Step::new(["island"]).then(OrdinalEncoder::new().with_categories(order)));
    let err = p.fit(&train()).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownCategory { feature, value, row: None } if feature == "island" && value == "null"),
        "{err:?}"
    );
    // A code for missing values makes them acceptable; a value outside the list is not.
    let p = Pipeline::new()
        .with_step(Step::new(["island"]).then(OrdinalEncoder::new().with_categories(order).with_missing_value(-2.0)));
    assert_eq!(
        p.fit(&train())
            .unwrap()
            .transform_record(&row(1.0, 1, None::<&str>))
            .unwrap(),
        [-2.0]
    );
    let p = Pipeline::new().with_step(
        Step::new(["island"]).then(
            OrdinalEncoder::new()
                .with_categories(order[..2].iter().copied())
                .with_missing_value(-2.0),
        ),
    );
    let err = p.fit(&train()).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownCategory { value, .. } if value == "\"Biscoe\""),
        "{err:?}"
    );
    // ... while coding unknowns as -1 accepts both; codes follow the given order.
    let ord = one(Step::new(["island"]).then(
        OrdinalEncoder::new()
            .with_categories(order)
            .with_handle_unknown(OrdinalUnknown::Value(-1.0)),
    ));
    let code = |island: &str| ord.transform_record(&row(1.0, 1, island)).unwrap()[0];
    assert_eq!(
        [code("Torgersen"), code("Dream"), code("Biscoe"), code("Atlantis")],
        [0.0, 1.0, 2.0, -1.0]
    );
    let hot = one(Step::new(["island"]).then(
        OneHotEncoder::new()
            .with_categories(["Dream", "Atlantis"])
            .with_handle_unknown(HandleUnknown::Other),
    ));
    assert_eq!(
        hot.output_names(),
        ["island=Dream", "island=Atlantis", "island=__other__"]
    );
    assert_eq!(hot.transform_record(&row(1.0, 1, "Biscoe")).unwrap(), [0.0, 0.0, 1.0]);
    assert_eq!(hot.transform_record(&row(1.0, 1, "Atlantis")).unwrap(), [0.0, 1.0, 0.0]);
    // Integer features take integer categories.
    let n = one(Step::new(["n"]).then(
        OrdinalEncoder::new()
            .with_categories([3i64, 2, 1])
            .with_missing_value(-2.0),
    ));
    assert_eq!(n.transform_record(&row(1.0, 1, "Dream")).unwrap(), [2.0]);
    for (bad, needle) in [
        (OrdinalEncoder::new().with_categories([1i64, 2]), "do not have the type"),
        (OrdinalEncoder::new().with_categories(["a", "b", "a"]), "listed twice"),
        (OrdinalEncoder::new().with_categories(Vec::<&str>::new()), "empty"),
    ] {
        let err = Pipeline::new()
            .with_step(Step::new(["island"]).then(bad))
            .fit(&train())
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}
