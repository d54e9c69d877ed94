//! Feature-transform throughput: a fitted 20-feature pipeline (17 numeric
//! features standard-scaled, 3 categoricals one-hot encoded: 32 outputs)
//! applied to one serving record and to a 1,000,000-row batch.
//!
//! `cargo bench -p kiln-benches --bench transform`. Batch transforms run on
//! rayon's pool; the benchmark id names the number of threads, so run with
//! `RAYON_NUM_THREADS=1` for single-core numbers.
//! `benches/compare/sklearn_transform.py` compares these with scikit-learn.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kiln::transform::FittedPipeline;
use kiln_benches::BATCH_ROWS;

/// 17 scaled numeric features + 3 x 5 one-hot columns.
const OUTPUTS: usize = 32;

fn fitted(batch: &kiln::Batch) -> FittedPipeline {
    let fitted = kiln_benches::pipeline().fit(batch).unwrap();
    assert_eq!(fitted.n_outputs(), OUTPUTS);
    fitted
}

fn record(c: &mut Criterion) {
    let fitted = fitted(&kiln_benches::batch(100_000));
    let record = kiln_benches::record();
    let mut out = vec![0f32; OUTPUTS];
    fitted.transform_record_into(&record, &mut out).unwrap();
    assert!(out.iter().all(|x| x.is_finite()));

    let mut group = c.benchmark_group("transform_record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("into_20_features_to_32_f32", |b| {
        b.iter(|| fitted.transform_record_into(black_box(&record), black_box(&mut out)));
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    let batch = kiln_benches::batch(BATCH_ROWS);
    let fitted = fitted(&batch);
    let threads = format!("threads_{}", rayon::current_num_threads());

    let mut group = c.benchmark_group("transform_batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH_ROWS as u64));
    group.bench_function(BenchmarkId::new("1m_x_20_to_32_f32", &threads), |b| {
        b.iter(|| fitted.transform_batch(black_box(&batch)).unwrap());
    });
    group.bench_function(BenchmarkId::new("1m_x_20_to_32_f64", &threads), |b| {
        b.iter(|| fitted.transform_batch_f64(black_box(&batch)).unwrap());
    });
    // Batch scoring in a loop reuses its output buffer: no allocation and no
    // page faults, the kernel's own speed.
    let mut reused = vec![0f32; BATCH_ROWS * OUTPUTS];
    group.bench_function(BenchmarkId::new("into_reused_1m_x_20_to_32_f32", &threads), |b| {
        b.iter(|| {
            fitted
                .transform_batch_into(black_box(&batch), black_box(&mut reused))
                .unwrap()
        });
    });
    group.bench_function(BenchmarkId::new("fit_1m_x_20", &threads), |b| {
        b.iter(|| kiln_benches::pipeline().fit(black_box(&batch)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, record, batch);
criterion_main!(benches);
