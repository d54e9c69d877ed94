//! Tracing events of the training loop. In its own test binary: tracing
//! caches per-callsite interest process-wide, so a scoped subscriber only
//! sees every event when no other test runs the same callsites concurrently.

#![cfg(all(feature = "train", feature = "flex"))]
#![allow(clippy::unwrap_used)] // test helpers may panic

mod common;

use kiln_train::run::RunContext;
use kiln_train::{Backend, Hyperparameters, ModelSpec, Trainer};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Counts `epoch finished` events (a minimal tracing subscriber).
struct Counter(Arc<AtomicUsize>);

struct Message(bool);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}") == "epoch finished" {
            self.0 = true;
        }
    }
}

impl Subscriber for Counter {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(false);
        event.record(&mut m);
        if m.0 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn one_tracing_event_per_epoch() {
    let p = common::penguins();
    let data = common::species(&p);
    let count = Arc::new(AtomicUsize::new(0));
    let subscriber = Counter(count.clone());
    let out = tracing::subscriber::with_default(subscriber, || {
        Trainer::new(
            ModelSpec::for_dataset(&data, []),
            Hyperparameters::default().with_epochs(7).with_early_stopping(None),
        )
        .with_backend(Backend::Flex)
        .with_progress(false)
        .with_context(RunContext::new().without_git())
        .fit(&data)
        .unwrap()
    });
    assert_eq!(out.record.epochs.len(), 7);
    assert_eq!(count.load(Ordering::Relaxed), 7);
}
