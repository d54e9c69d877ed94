//! CSV parsing and schema inference throughput.
//!
//! `cargo bench -p kiln-benches --bench csv`. The input is read into memory
//! once; the benches time `CsvReader::read_bytes` and
//! `Schema::infer_csv_bytes` on it, so no disk I/O is measured.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::{CsvReader, InferOptions, Schema};

const DIAMONDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/diamonds/diamonds.csv");

/// Rows of the generated 20-column CSV (about 37 MB).
const GENERATED_ROWS: usize = 250_000;

fn read(c: &mut Criterion) {
    let diamonds = std::fs::read(DIAMONDS).expect("data/diamonds/diamonds.csv");
    let options = InferOptions::default().with_label("price");
    let diamonds_reader = CsvReader::new(Schema::infer_csv_bytes(&diamonds, "diamonds.csv", &options).unwrap());
    assert_eq!(
        diamonds_reader
            .read_bytes(&diamonds, "diamonds.csv")
            .unwrap()
            .num_rows(),
        53_940
    );

    let generated = kiln_benches::csv_bytes(GENERATED_ROWS);
    let generated_reader = CsvReader::new(kiln_benches::schema());
    assert_eq!(
        generated_reader
            .read_bytes(&generated, "generated.csv")
            .unwrap()
            .num_rows(),
        GENERATED_ROWS
    );

    let mut group = c.benchmark_group("csv_read");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(diamonds.len() as u64));
    group.bench_function("diamonds_53940_x_10", |b| {
        b.iter(|| {
            diamonds_reader
                .read_bytes(black_box(&diamonds), "diamonds.csv")
                .unwrap()
        });
    });
    group.throughput(Throughput::Bytes(generated.len() as u64));
    group.bench_function("generated_250k_x_20", |b| {
        b.iter(|| {
            generated_reader
                .read_bytes(black_box(&generated), "generated.csv")
                .unwrap()
        });
    });
    group.finish();

    let mut group = c.benchmark_group("infer_schema");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(diamonds.len() as u64));
    group.bench_function("diamonds_53940_x_10", |b| {
        b.iter(|| Schema::infer_csv_bytes(black_box(&diamonds), "diamonds.csv", &options).unwrap());
    });
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
