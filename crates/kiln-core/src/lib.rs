//! Kiln's foundation: feature schemas, typed values, records, columnar
//! batches, validated identifiers and content digests.
//!
//! Every other Kiln crate builds on these types. A [`Schema`] is the data
//! contract of a model: named, typed [`Feature`]s with ranges, categories, a
//! null policy and a role. Data travels as a [`Record`] (one request, named
//! values) or a [`Batch`] (columnar, Arrow-compatible layout), and the two
//! convert into each other losslessly.
//!
//! ```
//! use kiln_core::{Batch, CsvReader, Schema, InferOptions};
//!
//! let csv = "species,island,bill_length_mm,sex\n\
//!            Adelie,Torgersen,39.1,male\n\
//!            Gentoo,Biscoe,NA,female\n";
//! let schema = Schema::infer_csv_bytes(csv.as_bytes(), "penguins.csv", &InferOptions::default().with_label("species"))?;
//! assert!(schema.feature("bill_length_mm").unwrap().nullable);
//!
//! let batch: Batch = CsvReader::new(schema.clone()).read_bytes(csv.as_bytes(), "penguins.csv")?;
//! assert_eq!(batch.num_rows(), 2);
//! println!("{}", schema.to_json());
//! # Ok::<(), kiln_core::Error>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `arrow` | no | zero-copy `Batch` <-> Arrow `RecordBatch` conversion and `Schema::infer_arrow` |
//!
//! # Formats
//!
//! Schemas are JSON documents tagged `"format": "kiln.schema/v1"`; see
//! [`format`](mod@format) for how versions are read.

pub mod batch;
pub mod buffer;
pub mod compat;
pub mod csv;
pub mod digest;
pub mod error;
pub mod format;
pub mod ids;
pub mod infer;
pub mod schema;
pub mod strkey;
pub mod timestamp;
pub mod value;

#[cfg(feature = "arrow")]
pub mod arrow;

pub use batch::{Batch, Bitmap, Column, ColumnBuilder, ColumnData, StringColumn};
pub use compat::{Change, ChangeKind, CompatReport, Compatibility};
pub use csv::{BadCell, CsvBatches, CsvIssues, CsvReader, DEFAULT_NULL_TOKENS};
pub use digest::{Digest, Hasher};
pub use error::{Error, Result};
pub use ids::{ModelName, Version};
pub use infer::InferOptions;
pub use schema::{DType, Feature, Role, SCHEMA_FORMAT, Schema};
pub use strkey::StrKey;
pub use value::{Record, Value, ValueRef};
