//! Schema inference and the CSV reader on arbitrary bytes: never panic; an
//! inferred schema reads the data it came from; the batch survives
//! records and Arrow round trips, and inference from it agrees.
#![no_main]

use kiln_core::{Batch, InferOptions, Schema};
use libfuzzer_sys::fuzz_target;

/// Equality that treats NaN as equal to itself (a CSV cell may be `-nan`).
fn same(a: &Batch, b: &Batch) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fuzz_target!(|data: &[u8]| {
    let options = InferOptions::default().with_max_columns(1_000);
    let Ok(schema) = Schema::infer_csv_bytes(data, "fuzz.csv", &options) else {
        return;
    };
    let batch = match options.csv_reader(schema.clone()).read_bytes(data, "fuzz.csv") {
        Ok(batch) => batch,
        Err(e) => panic!("an inferred schema does not read its own data: {e}\n{schema:?}"),
    };
    let back = match Batch::from_records(schema.clone(), &batch.to_records()) {
        Ok(back) => back,
        Err(e) => panic!("a batch's records do not convert back: {e}"),
    };
    assert!(same(&back, &batch));

    let arrow = match batch.clone().to_arrow() {
        Ok(arrow) => arrow,
        Err(e) => panic!("to_arrow failed: {e}"),
    };
    match Batch::from_arrow(arrow, None) {
        Ok(from_arrow) => assert!(same(&from_arrow, &batch)),
        Err(e) => panic!("from_arrow failed: {e}"),
    }

    match Schema::infer_batch(&batch, &options) {
        Ok(again) => assert_eq!(again, schema),
        Err(e) => panic!("inference from the batch failed: {e}"),
    }
});
