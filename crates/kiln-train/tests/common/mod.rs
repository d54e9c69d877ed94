//! Shared test data: the penguins table as a hand-made feature matrix
//! (standardised numeric columns and one-hot categoricals), standing in for a
//! fitted kiln-transform pipeline.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::PathBuf;

use kiln_core::{Batch, CsvReader, InferOptions, Schema, ValueRef};
use kiln_train::{Dataset, Features, Targets};

pub(crate) fn penguins_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/penguins/penguins.csv")
}

pub(crate) struct Penguins {
    pub(crate) schema: Schema,
    /// Rows without a missing value in the used columns.
    pub(crate) batch: Batch,
}

const NUMERIC: [&str; 4] = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"];

pub(crate) fn penguins() -> Penguins {
    let path = penguins_path();
    let schema = Schema::infer_csv(&path, &InferOptions::default().with_label("species")).unwrap();
    let batch = CsvReader::new(schema.clone()).read_path(&path).unwrap();
    // Keep complete rows (numeric columns and sex).
    let keep: Vec<usize> = (0..batch.num_rows())
        .filter(|&r| {
            NUMERIC
                .iter()
                .chain(["sex"].iter())
                .all(|name| !batch.column_by_name(name).unwrap().is_null(r))
        })
        .collect();
    let records: Vec<_> = keep.iter().map(|&r| batch.record(r)).collect();
    let batch = Batch::from_records(schema.clone(), &records).unwrap();
    Penguins { schema, batch }
}

fn column_f64(batch: &Batch, name: &str) -> Vec<f64> {
    let col = batch.column_by_name(name).unwrap();
    (0..batch.num_rows()).map(|r| col.value(r).as_f64().unwrap()).collect()
}

fn column_str(batch: &Batch, name: &str) -> Vec<String> {
    let col = batch.column_by_name(name).unwrap();
    (0..batch.num_rows())
        .map(|r| match col.value(r) {
            ValueRef::Str(s) => s.to_owned(),
            other => panic!("{name}: {other:?}"),
        })
        .collect()
}

fn standardise(v: &[f64]) -> Vec<f64> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    v.iter().map(|x| (x - mean) / sd).collect()
}

/// Row-major matrix from standardised numeric columns and one-hot string columns.
pub(crate) fn matrix(batch: &Batch, numeric: &[&str], one_hot: &[&str]) -> Features {
    let mut columns: Vec<Vec<f64>> = numeric.iter().map(|n| standardise(&column_f64(batch, n))).collect();
    for name in one_hot {
        let values = column_str(batch, name);
        let mut levels: Vec<&String> = values.iter().collect();
        levels.sort();
        levels.dedup();
        for level in levels {
            columns.push(values.iter().map(|v| f64::from(u8::from(v == level))).collect());
        }
    }
    let rows = batch.num_rows();
    let cols = columns.len();
    let data = (0..rows)
        .flat_map(|r| columns.iter().map(move |c| c[r] as f32))
        .collect();
    Features::new(data, rows, cols).unwrap()
}

/// Species (3 classes) from the four body measurements.
pub(crate) fn species(p: &Penguins) -> Dataset {
    let x = matrix(&p.batch, &NUMERIC, &[]);
    Dataset::new(x, Targets::from_batch(&p.batch, "species").unwrap()).unwrap()
}

/// Sex (2 classes) from the measurements and species.
pub(crate) fn sex(p: &Penguins) -> Dataset {
    let x = matrix(&p.batch, &NUMERIC, &["species"]);
    Dataset::new(x, Targets::classes_from_batch(&p.batch, "sex").unwrap()).unwrap()
}

/// Body mass (grams / 1000) from the other measurements, species and sex.
pub(crate) fn body_mass(p: &Penguins) -> Dataset {
    let x = matrix(&p.batch, &NUMERIC[..3], &["species", "sex"]);
    let y: Vec<f32> = column_f64(&p.batch, "body_mass_g")
        .iter()
        .map(|g| (g / 1000.0) as f32)
        .collect();
    Dataset::new(x, Targets::values(y).unwrap()).unwrap()
}
