//! `transform_record_into` makes no heap allocation once warmed up.
//!
//! dhat counts every allocation of this test binary (its own global
//! allocator), so this file holds a single test.

#![allow(clippy::unwrap_used)] // test helpers may panic

use kiln_core::{Batch, DType, Feature, Record, Schema};
use kiln_transform::{
    FeatureHasher, ImputeStrategy, OrdinalEncoder, OrdinalUnknown, Pipeline, Polynomial, Step, Transform,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn record(i: usize) -> Record {
    let mut r = Record::new();
    for j in 0..17 {
        // Every seventh value is missing; the imputers fill it.
        let v = if (i + j).is_multiple_of(7) {
            None
        } else {
            Some(((i * 31 + j * 7) % 97) as f64 / 3.0)
        };
        r.insert(format!("x{j}"), v);
    }
    r.insert("island", ["Biscoe", "Dream", "Torgersen", "Atlantis"][i % 4]);
    r.insert("sex", ["male", "female"][i % 2]);
    r.insert("size", ["S", "M", "L", "XL"][i % 4]);
    r
}

#[test]
fn transform_record_into_is_allocation_free() {
    let mut features: Vec<Feature> = (0..17)
        .map(|j| Feature::new(format!("x{j}"), DType::Float64).with_nullable(true))
        .collect();
    for c in ["island", "sex", "size"] {
        features.push(Feature::new(c, DType::Categorical));
    }
    let schema = Schema::new(features).unwrap();
    let train: Vec<Record> = (0..200)
        .map(|i| record(i).with("island", ["Biscoe", "Dream", "Torgersen"][i % 3]))
        .collect();
    let batch = Batch::from_records(schema.clone(), &train).unwrap();
    let pipeline = Pipeline::auto(&schema)
        .with_step(
            Step::new(["x0", "x1"])
                .then(Transform::impute(ImputeStrategy::Mean))
                .then(Polynomial::new()),
        )
        .with_step(Step::new(["island", "size"]).then(FeatureHasher::new(8)))
        .with_step(
            Step::new(["x2"])
                .then(Transform::impute_with_indicator(ImputeStrategy::Median))
                .then(Transform::quantile_bins(4)),
        )
        .with_step(Step::new(["island"]).then(OrdinalEncoder::new().with_handle_unknown(OrdinalUnknown::Value(-1.0))));
    let fitted = pipeline.fit(&batch).unwrap();
    let mut records: Vec<Record> = (0..64).map(record).collect();
    // Some records in another field order: found by the fallback scan.
    for r in records.iter_mut().step_by(5) {
        let mut fields: Vec<_> = r.iter().map(|(n, v)| (n.to_owned(), v.clone())).collect();
        fields.reverse();
        *r = fields.into_iter().collect();
    }
    let mut out32 = vec![0.0f32; fitted.n_outputs()];
    let mut out64 = vec![0.0f64; fitted.n_outputs()];

    let _profiler = dhat::Profiler::builder().testing().build();
    fitted.transform_record_into(&records[0], &mut out32).unwrap();
    fitted.transform_record_into(&records[0], &mut out64).unwrap();
    let before = dhat::HeapStats::get();
    for _ in 0..50 {
        for r in &records {
            fitted.transform_record_into(r, &mut out32).unwrap();
            fitted.transform_record_into(r, &mut out64).unwrap();
        }
    }
    let after = dhat::HeapStats::get();
    dhat::assert_eq!(after.total_blocks, before.total_blocks);
    dhat::assert_eq!(after.total_bytes, before.total_bytes);
    // The profiler is live: it does see an allocation.
    let v = std::hint::black_box(vec![1u8; 16]);
    drop(v);
    let later = dhat::HeapStats::get();
    dhat::assert!(later.total_blocks > after.total_blocks);
}
