//! Kiln: an embeddable Rust SDK for the machine-learning lifecycle, built on Burn.
//!
//! This facade re-exports Kiln's crates behind features, so an application
//! adds one dependency and picks what it links. Today Kiln has schema
//! contracts ([`kiln_core`]), validation ([`validate`]), feature transforms
//! ([`transform`]) and training on Burn ([`train`]); signed artifacts, the
//! registry, serving and monitoring are being built as separate crates and
//! will appear here behind their own features.
//!
//! ```
//! use kiln::{CsvReader, InferOptions, Schema};
//!
//! let csv = "species,island,bill_length_mm\nAdelie,Torgersen,39.1\nGentoo,Biscoe,NA\n";
//! let schema = Schema::infer_csv_bytes(csv.as_bytes(), "inline.csv", &InferOptions::default().with_label("species"))?;
//! let batch = CsvReader::new(schema.clone()).read_bytes(csv.as_bytes(), "inline.csv")?;
//! assert_eq!(batch.num_rows(), 2);
//! # Ok::<(), kiln::Error>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `validate` | yes | [`validate`]: check records and batches against a schema ([`kiln_validate`]) |
//! | `transform` | yes | [`transform`]: fit once, apply identically in training and serving ([`kiln_transform`]) |
//! | `train` | yes | [`train`]: tabular models on Burn, the training loop on the pure-Rust `flex` CPU backend, metrics, calibration, run records ([`kiln_train`]) |
//! | `wgpu` | no | with `train`: Burn's wgpu backend (Vulkan, Metal, DX12, WebGPU; Mesa's lavapipe on machines without a GPU) |
//! | `cuda` | no | with `train`: Burn's CUDA backend (NVIDIA GPUs) |
//! | `arrow` | no | Arrow `RecordBatch` conversion in every crate that has it |
//!
//! The core types (schemas, records, batches, digests, ids) are always
//! present and re-exported at the top level. An edge build (default
//! features off, then only what it needs) links no Burn unless it turns
//! `train` on.

pub use kiln_core::*;

/// The core crate, for paths like `kiln::core::timestamp`.
pub use kiln_core as core;

/// Validation of records and batches against a schema (feature `validate`).
#[cfg(feature = "validate")]
pub use kiln_validate as validate;

/// Feature transforms with one code path for training and serving (feature `transform`).
#[cfg(feature = "transform")]
pub use kiln_transform as transform;

/// Tabular models trained on Burn, with metrics, calibration and run records (feature `train`).
#[cfg(feature = "train")]
pub use kiln_train as train;

/// Signed model bundles: write, sign (OpenSSF Model Signing v1.0), verify on
/// load, predict (feature `artifact`).
#[cfg(feature = "artifact")]
pub use kiln_artifact as artifact;
