//! Validates records and batches against a Kiln [`Schema`](kiln_core::Schema),
//! with per-feature policies (reject, flag, coerce) and mergeable,
//! per-feature reports that feed monitoring.
//!
//! A [`Validator`] compiles a schema's rules once. Serving checks one
//! [`Record`](kiln_core::Record) at a time ([`Validator::validate_record`],
//! allocation-free when the record is valid); training and batch scoring
//! check a columnar [`Batch`](kiln_core::Batch) ([`Validator::validate_batch`])
//! and get a [`ValidationReport`] plus the rejected rows. Both paths apply
//! the same rules and agree exactly. Reports of shards merge into the report
//! of the whole, and [`ValidationReport::alerts`] turns a report (against a
//! baseline report) into [`Alert`]s with a [`Severity`].
//!
//! ```
//! use kiln_core::{Batch, DType, Feature, Record, Role, Schema};
//! use kiln_validate::{Severity, Validator, ViolationKind};
//!
//! let schema = Schema::new(vec![
//!     Feature::new("species", DType::Categorical).with_categories(["Adelie", "Chinstrap", "Gentoo"]).with_role(Role::Label),
//!     Feature::new("island", DType::Categorical).with_categories(["Biscoe", "Dream", "Torgersen"]),
//!     Feature::new("bill_length_mm", DType::Float64).with_nullable(true).with_range(Some(25.0), Some(65.0)),
//!     Feature::new("sex", DType::Categorical).with_nullable(true).with_categories(["female", "male"]),
//! ])?;
//!
//! // Serving: one request, rejected with every violation named.
//! let serving = Validator::for_serving(schema.without_roles(&[Role::Label]));
//! let request = Record::new().with("island", "Biscoe").with("bill_length_mm", 212.0).with("sex", "male");
//! let err = serving.validate_record(&request).unwrap_err();
//! assert_eq!(err.to_string(), r#"record rejected: feature "bill_length_mm": value 212 above max 65"#);
//!
//! // Training: a batch, every violation flagged and counted.
//! let rows = vec![
//!     Record::new().with("species", "Adelie").with("island", "Torgersen").with("bill_length_mm", 39.1).with("sex", "male"),
//!     Record::new().with("species", "Gentoo").with("island", "Atlantis").with("sex", None::<&str>),
//! ];
//! let batch = Batch::from_records(schema.clone(), &rows)?;
//! let outcome = Validator::for_training(schema).validate_batch(&batch);
//! let report = outcome.report;
//! assert_eq!(outcome.rejected.count_ones(), 0);
//! assert_eq!(report.feature("island").unwrap().count(ViolationKind::UnknownCategory), 1);
//! assert_eq!(report.feature("bill_length_mm").unwrap().null_rate(), 0.5);
//! println!("{report}");
//!
//! let alerts = report.alerts(None, &Default::default());
//! assert_eq!(alerts[0].severity, Severity::P1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! This crate has no cargo features.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | (none) | - | - |
//!
//! # Rules
//!
//! | violation | when |
//! |---|---|
//! | [missing](ViolationKind::Missing) | a non-nullable feature is absent (an absent nullable feature is a null) |
//! | [unexpected](ViolationKind::Unexpected) | a field the schema does not declare ([`Unexpected`] policy) |
//! | [null](ViolationKind::Null) | a null for a non-nullable feature |
//! | [wrong type](ViolationKind::WrongType) | a value that does not fit the feature's type |
//! | [below min](ViolationKind::BelowMin) / [above max](ViolationKind::AboveMax) | a number or timestamp outside `min`/`max` |
//! | [unknown category](ViolationKind::UnknownCategory) | a string not among the declared `categories` |
//! | [non-finite](ViolationKind::NonFinite) | NaN or an infinity in a float feature |
//!
//! `float32` values are checked as stored, after rounding to `f32` (so
//! `1e300` is infinite). What each [`Policy`] does with a violation, and what
//! coercion fixes, is described there.

mod batch;
mod compiled;
mod config;
mod error;
mod report;
mod severity;
mod validator;
mod violation;

pub use config::{DEFAULT_MAX_OFFENDING_ROWS, Policy, Unexpected, ValidatorConfig};
pub use error::{Error, Result};
pub use report::{FeatureReport, MAX_UNEXPECTED_NAMES, REPORT_FORMAT, ValidationReport};
pub use severity::{Alert, AlertKind, AlertThresholds, Severity};
pub use validator::{BatchOutcome, Outcome, Validator};
pub use violation::{MAX_VALUE_CHARS, Rule, Violation, ViolationKind, Violations};
