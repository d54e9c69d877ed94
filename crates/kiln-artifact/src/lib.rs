//! Kiln's model bundle: everything a prediction needs (schema, fitted
//! pipeline, weights, run record, baseline profile, model card), signed once
//! with OpenSSF Model Signing v1.0 and verified on every load.
//!
//! A [`BundleWriter`] writes a bundle directory, which starts
//! [`Unsigned`] and cannot be served; [`Bundle::sign`]
//! signs it (`model.sig`); [`Bundle::open`] verifies the signature and every
//! file digest of a directory or `.tar` *before* parsing anything, and gives
//! a [`VerifiedBundle`], the only way to the schema, pipeline and model. A
//! verified bundle becomes a [`LoadedModel`] that validates, transforms and
//! predicts.
//!
//! ```
//! use kiln_artifact::{Bundle, BundleWriter, KeyAlgorithm, SigningKey, TrustPolicy};
//! use kiln_core::{CsvReader, InferOptions, ModelName, Record, Schema};
//! use kiln_train::{Backend, Dataset, Hyperparameters, ModelSpec, RunContext, Trainer};
//! use kiln_transform::Pipeline;
//!
//! // Train a tiny model on a few rows.
//! let csv = "x,colour,label\n\
//!            -2.0,red,low\n-1.5,red,low\n-1.0,blue,low\n-0.5,red,low\n-0.2,blue,low\n-1.2,red,low\n\
//!            0.3,blue,high\n0.8,red,high\n1.1,blue,high\n1.6,blue,high\n2.0,red,high\n0.6,blue,high\n";
//! let schema = Schema::infer_csv_bytes(csv.as_bytes(), "train.csv", &InferOptions::default().with_label("label"))?;
//! let batch = CsvReader::new(schema.clone()).read_bytes(csv.as_bytes(), "train.csv")?;
//! let pipeline = Pipeline::auto(&schema).fit(&batch)?;
//! let data = Dataset::from_batch(&pipeline, &batch)?;
//! let hyper = Hyperparameters::default().with_epochs(40).with_learning_rate(0.1).with_validation_fraction(0.0);
//! let trained = Trainer::new(ModelSpec::for_dataset(&data, []), hyper)
//!     .with_progress(false)
//!     .with_context(RunContext::new().without_git())
//!     .fit(&data)?;
//!
//! // Write and sign the bundle.
//! let work = tempfile::tempdir()?;
//! let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let signed = BundleWriter::new(schema, pipeline, trained.model)?
//!     .with_name(ModelName::new("colour-sign")?)
//!     .with_run(trained.record)?
//!     .with_baseline(&batch)?
//!     .write(work.path().join("colour-sign"))?
//!     .sign(&key)?;
//!
//! // Open it (verifying first), load it and predict.
//! let trust = TrustPolicy::from(key.verifying_key().clone());
//! let bundle = Bundle::open(signed.dir(), &trust)?;
//! assert_eq!(bundle.digest(), signed.digest());
//! let model = bundle.load(&Backend::Flex)?;
//! let p = model.predict(&Record::new().with("x", 1.7).with("colour", "red"))?;
//! assert_eq!(model.model().predicted_labels(&p)?, ["high"]);
//!
//! // A file cut short (or otherwise modified) is caught before anything is parsed.
//! std::fs::write(signed.dir().join("schema.json"), b"{}")?;
//! let err = Bundle::open(signed.dir(), &trust).unwrap_err();
//! assert!(matches!(err, kiln_artifact::Error::FileTruncated { .. }), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `wgpu` | no | loading models onto Burn's wgpu backend (`kiln-train/wgpu`); Burn's CPU backend `flex` is always there |
//!
//! # The bundle
//!
//! | file | format | what |
//! |---|---|---|
//! | `manifest.json` | `kiln.manifest/v1` ([`Manifest`]) | file list with sizes and SHA-256, input/output signature, model summary, digests, machine-readable model card, name, version, creation time, Kiln version |
//! | `schema.json` | `kiln.schema/v1` | the feature schema |
//! | `pipeline.json` | `kiln.pipeline/v1` | the fitted transform pipeline |
//! | `model.json` | `kiln.model/v1` ([`manifest::ModelDoc`]) | the architecture and the tensors the weights must hold |
//! | `model.safetensors` | SafeTensors | the weights (`layers.<i>.weight`, `layers.<i>.bias`, `F32`) |
//! | `run.json` | `kiln.run/v1` | the training run's record (optional) |
//! | `profile.json` | `kiln.profile/v1` ([`Profile`]) | the baseline profile for drift monitoring (optional) |
//! | `MODEL_CARD.md` | Markdown | the model card ([`card`]) |
//! | `model.sig` | OMS v1.0 (Sigstore bundle) | the signature over every other file ([`oms`]) |
//!
//! Every JSON document carries a `"format"` tag; readers refuse another
//! major version and ignore unknown fields. The bundle's identity is its
//! digest, the OMS subject digest ([`VerifiedBundle::digest`]). For
//! transport a bundle is one `.tar` ([`pack`]), unpacked with checks against
//! path traversal, links and oversized entries.
//!
//! # Modules
//!
//! - [`bundle`]: the writer, the typestate, verification and loading;
//! - [`manifest`], [`card`], [`profile`]: the documents;
//! - [`pack`]: tar packing and safe unpacking;
//! - [`keys`], [`hashing`], [`oms`]: keys, directory hashing and OpenSSF
//!   Model Signing.

pub mod bundle;
pub mod card;
pub mod error;
pub mod hashing;
pub mod keys;
pub mod manifest;
pub mod oms;
pub mod pack;
pub mod profile;

pub use bundle::{Bundle, BundleWriter, LoadedModel, Signed, Unsigned, VerifiedBundle};
pub use card::ModelCard;
pub use error::{Error, Result};
pub use keys::{KeyAlgorithm, SigningKey, VerifyingKey};
pub use manifest::Manifest;
pub use oms::TrustPolicy;
pub use pack::{UnpackLimits, UnsafeEntry};
pub use profile::Profile;

/// The device a bundle loads onto and what a [`LoadedModel`] predicts,
/// re-exported so that an inference-only (edge) build can name them
/// without depending on `kiln-train` itself.
pub use kiln_train::{Backend, Predictions};
