//! The auto pipeline on the shipped penguins data set.

#![allow(clippy::unwrap_used)] // test helpers may panic

use kiln_core::{Batch, CsvReader, InferOptions, Record, Schema};
use kiln_transform::{FittedPipeline, Pipeline};

const PENGUINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/penguins/penguins.csv");

fn schema() -> Schema {
    Schema::infer_csv(PENGUINS, &InferOptions::default().with_label("species")).unwrap()
}

fn penguins() -> Batch {
    CsvReader::new(schema()).read_path(PENGUINS).unwrap()
}

const NAMES: [&str; 10] = [
    "island=Biscoe",
    "island=Dream",
    "island=Torgersen",
    "bill_length_mm__scaled",
    "bill_depth_mm__scaled",
    "flipper_length_mm__scaled",
    "body_mass_g__scaled",
    "sex=female",
    "sex=male",
    "year__scaled",
];

#[test]
fn auto_pipeline_names_shapes_and_round_trip() {
    let batch = penguins();
    assert_eq!(batch.num_rows(), 344);
    let fitted = Pipeline::auto(batch.schema()).fit(&batch).unwrap();
    assert_eq!(fitted.output_names(), NAMES);
    assert_eq!(fitted.n_outputs(), 10);
    assert_eq!(fitted.n_rows_fitted(), 344);
    let input: Vec<&str> = fitted
        .input_schema()
        .features()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        input,
        [
            "island",
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
            "sex",
            "year"
        ]
    );
    let m = fitted.transform_batch(&batch).unwrap();
    assert_eq!((m.rows, m.cols, m.data.len()), (344, 10, 3440));
    // Standardized columns have mean ~0 over the training data; one-hot rows sum to 1.
    for c in [3, 4, 5, 6, 9] {
        let mean: f64 = (0..344).map(|r| f64::from(m.get(r, c).unwrap())).sum::<f64>() / 344.0;
        assert!(mean.abs() < 1e-5, "column {c} mean {mean}");
    }
    for r in m.iter_rows() {
        assert_eq!(r[0] + r[1] + r[2], 1.0);
        assert_eq!(r[7] + r[8], 1.0);
    }
    for (row, r) in batch.to_records().iter().enumerate() {
        assert_eq!(fitted.transform_record(r).unwrap(), m.row(row).unwrap());
    }
    let back = FittedPipeline::from_json(&fitted.to_json()).unwrap();
    assert_eq!(back, fitted);
    assert_eq!(back.digest(), fitted.digest());
    assert_eq!(back.transform_batch(&batch).unwrap(), m);

    // A serving record: no label, a missing value, an integer for a float.
    let rec = Record::new()
        .with("island", "Biscoe")
        .with("bill_length_mm", 45)
        .with("bill_depth_mm", None::<f64>)
        .with("flipper_length_mm", 210)
        .with("body_mass_g", 5000)
        .with("sex", "female")
        .with("year", 2009);
    let x = back.transform_record(&rec).unwrap();
    assert_eq!(&x[..3], &[1.0, 0.0, 0.0]);
    assert_eq!(&x[7..9], &[1.0, 0.0]);
}

#[test]
fn streaming_fit_matches_whole_fit() {
    let batch = penguins();
    let pipeline = Pipeline::auto(batch.schema());
    let whole = pipeline.fit(&batch).unwrap();
    let reader = CsvReader::new(schema());
    let file = std::fs::File::open(PENGUINS).unwrap();
    let streamed = pipeline
        .fit_batches(reader.batches(file, "penguins.csv", 50).unwrap())
        .unwrap();
    assert_eq!(streamed.output_names(), whole.output_names());
    assert_eq!(streamed.n_rows_fitted(), 344);
    let (a, b) = (
        whole.transform_batch_f64(&batch).unwrap(),
        streamed.transform_batch_f64(&batch).unwrap(),
    );
    for (x, y) in a.data.iter().zip(&b.data) {
        assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{x} vs {y}");
    }
}

#[cfg(feature = "arrow")]
#[test]
fn arrow_path_equals_batch_path() {
    let batch = penguins();
    let fitted = Pipeline::auto(batch.schema()).fit(&batch).unwrap();
    let expected = fitted.transform_batch(&batch).unwrap();
    let arrow = batch.clone().to_arrow().unwrap();
    assert_eq!(fitted.transform_arrow(&arrow).unwrap(), expected);
    assert_eq!(
        fitted.transform_arrow_f64(&arrow).unwrap(),
        fitted.transform_batch_f64(&batch).unwrap()
    );
    let narrow = arrow.project(&[0, 1]).unwrap();
    assert!(matches!(
        fitted.transform_arrow(&narrow),
        Err(kiln_transform::Error::MissingFeature { .. })
    ));
}
