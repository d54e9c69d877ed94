//! Schema inference on the penguins data set and on typed batches.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use kiln_core::{DType, InferOptions, Role, Schema};

#[test]
fn penguins() {
    let options = InferOptions::default().with_label("species");
    let schema = Schema::infer_csv(common::penguins_path(), &options).unwrap();
    let names: Vec<&str> = schema.features().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "species",
            "island",
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
            "sex",
            "year"
        ]
    );
    let f = |name: &str| schema.feature(name).unwrap();
    for name in ["species", "island", "sex"] {
        assert_eq!(f(name).dtype, DType::Categorical, "{name}");
    }
    assert_eq!(
        f("species").categories.as_deref().unwrap(),
        ["Adelie", "Chinstrap", "Gentoo"]
    );
    assert_eq!(
        f("island").categories.as_deref().unwrap(),
        ["Biscoe", "Dream", "Torgersen"]
    );
    assert_eq!(f("sex").categories.as_deref().unwrap(), ["female", "male"]);
    assert!(f("sex").nullable && !f("species").nullable);
    assert_eq!(schema.label().unwrap().name, "species");
    assert_eq!(f("species").role, Role::Label);
    for name in ["bill_length_mm", "bill_depth_mm"] {
        assert_eq!((f(name).dtype, f(name).nullable), (DType::Float64, true), "{name}");
        let (lo, hi) = (f(name).min.unwrap(), f(name).max.unwrap());
        assert!(lo > 0.0 && lo < hi, "{name}");
    }
    // Whole numbers with NA: integer columns that allow nulls.
    for name in ["flipper_length_mm", "body_mass_g"] {
        assert_eq!((f(name).dtype, f(name).nullable), (DType::Int64, true), "{name}");
    }
    let year = f("year");
    assert_eq!((year.dtype, year.nullable), (DType::Int64, false));
    assert_eq!((year.min, year.max), (Some(2007.0), Some(2009.0)));

    let batch = options
        .csv_reader(schema.clone())
        .read_path(common::penguins_path())
        .unwrap();
    assert_eq!(batch.num_rows(), 344);
    // Inference from the batch agrees with inference from the text.
    assert_eq!(Schema::infer_batch(&batch, &options).unwrap(), schema);
}

#[test]
fn sample_rows_and_options() {
    let options = InferOptions::default()
        .with_sample_rows(Some(10))
        .with_max_categories(1);
    let schema = Schema::infer_csv(common::penguins_path(), &options).unwrap();
    // The first ten rows are all Adelie on Torgersen from 2007.
    let f = |name: &str| schema.feature(name).unwrap();
    assert_eq!(f("species").categories.as_deref().unwrap(), ["Adelie"]);
    assert_eq!((f("year").min, f("year").max), (Some(2007.0), Some(2007.0)));
    // Two sexes exceed one category: free text.
    assert_eq!(f("sex").dtype, DType::String);

    let no_ranges = InferOptions::default().with_ranges(false);
    let schema = Schema::infer_csv(common::penguins_path(), &no_ranges).unwrap();
    assert!(schema.features().iter().all(|f| f.min.is_none() && f.max.is_none()));
}

#[test]
fn tsv_with_custom_nulls_and_trim() {
    let tsv = "name\tscore\n a \t 1.5 \n b \t ? \n a \t -2 \nb\t0\n";
    let options = InferOptions::default()
        .with_delimiter(b'\t')
        .with_null_tokens(["?"])
        .with_trim(true);
    let schema = Schema::infer_csv_bytes(tsv.as_bytes(), "t.tsv", &options).unwrap();
    let score = schema.feature("score").unwrap();
    assert_eq!(
        (score.dtype, score.nullable, score.min, score.max),
        (DType::Float64, true, Some(-2.0), Some(1.5))
    );
    let batch = options
        .csv_reader(schema.clone())
        .read_bytes(tsv.as_bytes(), "t.tsv")
        .unwrap();
    assert_eq!(batch.num_rows(), 4);
    assert_eq!(
        schema.feature("name").unwrap().categories.as_deref().unwrap(),
        ["a", "b"]
    );
}
