//! Validation throughput: one serving request, and a 1,000,000 x 20 training batch.
//!
//! `cargo bench -p kiln-benches --bench validate`. Batch validation runs on
//! the calling thread (kiln-validate does not use threads), so the batch
//! numbers are single-core numbers.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::Record;
use kiln::validate::Validator;
use kiln_benches::{BATCH_ROWS, NUM_FEATURES};

fn record(c: &mut Criterion) {
    let validator = Validator::for_serving(kiln_benches::schema());
    let ordered = kiln_benches::record();
    assert!(validator.validate_record(&ordered).is_ok());
    // The same fields in reverse order: every field is looked up by name.
    let mut fields: Vec<_> = ordered.iter().map(|(n, v)| (n.to_owned(), v.clone())).collect();
    fields.reverse();
    let reversed = fields.into_iter().fold(Record::new(), |r, (n, v)| r.with(n, v));

    let mut group = c.benchmark_group("validate_record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("serving_20_features", |b| {
        b.iter(|| validator.validate_record(black_box(&ordered)));
    });
    group.bench_function("serving_20_features_reversed_fields", |b| {
        b.iter(|| validator.validate_record(black_box(&reversed)));
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    let validator = Validator::for_training(kiln_benches::schema());
    let clean = kiln_benches::batch(BATCH_ROWS);
    let dirty = kiln_benches::with_violations(clean.clone(), 1_000);
    assert_eq!(validator.validate_batch(&clean).report.rows_with_violations(), 0);
    assert_eq!(validator.validate_batch(&dirty).report.rows_with_violations(), 1_000);

    let mut group = c.benchmark_group("validate_batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements((BATCH_ROWS * NUM_FEATURES) as u64));
    group.bench_function("training_1m_x_20", |b| {
        b.iter(|| validator.validate_batch(black_box(&clean)));
    });
    // 0.1% of one column out of range: that column is walked value by value.
    group.bench_function("training_1m_x_20_1k_violations", |b| {
        b.iter(|| validator.validate_batch(black_box(&dirty)));
    });
    group.finish();
}

criterion_group!(benches, record, batch);
criterion_main!(benches);
