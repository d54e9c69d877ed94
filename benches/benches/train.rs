//! Training throughput: one epoch of logistic regression and of an MLP with
//! two hidden layers of 64 (ReLU) over 1,000,000 x 20 `f32` rows
//! ([`kiln_benches::train_data`]), on Burn's `flex` CPU backend (one
//! thread), Adam, batches of 256, reshuffled.
//!
//! `cargo bench -p kiln-benches --bench train`. Each sample is one
//! `Trainer::fit` of one epoch without a validation split; the time counted
//! is the epoch's own clock from the run record (`epochs[0].duration_ms`:
//! the shuffle, every batch's forward pass, loss, backward pass and
//! optimizer step), not the set-up and the final evaluation around it.
//! `benches/compare/train_epoch.py` times scikit-learn (and PyTorch, where
//! it is installed) on the same rows.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::train::run::RunContext;
use kiln::train::{Dataset, Features, Hyperparameters, ModelSpec, Targets, Task, Trainer};
use kiln_benches::train_data::{self, BATCH_SIZE, COLS, ROWS};

fn epoch(c: &mut Criterion) {
    let (x, y) = train_data::matrix(ROWS);
    let data = Dataset::new(
        Features::new(x, ROWS, COLS).unwrap(),
        Targets::classes(y, vec!["0".into(), "1".into()]).unwrap(),
    )
    .unwrap();
    let hyper = Hyperparameters::default()
        .with_epochs(1)
        .with_batch_size(BATCH_SIZE)
        .with_learning_rate(1e-3)
        .with_validation_fraction(0.0)
        .with_early_stopping(None);

    let mut group = c.benchmark_group("train_epoch");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, spec) in [
        ("logistic_regression_1m_x_20", ModelSpec::logistic_regression(COLS)),
        ("mlp_2x64_1m_x_20", ModelSpec::mlp(Task::Binary, COLS, [64, 64])),
    ] {
        let trainer = Trainer::new(spec, hyper.clone())
            .with_progress(false)
            .with_context(RunContext::new().without_git());
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let outcome = trainer.fit(&data).unwrap();
                        assert_eq!(outcome.record.epochs.len(), 1);
                        Duration::from_millis(outcome.record.epochs[0].duration_ms)
                    })
                    .sum()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
