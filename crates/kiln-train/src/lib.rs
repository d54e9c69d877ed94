//! Kiln's trainer: tabular models (linear, logistic, softmax regression and
//! MLPs) trained on Burn 0.22, with evaluation metrics, calibration and a
//! reproducibility record for every run.
//!
//! ```
//! use kiln_train::{Dataset, Features, Hyperparameters, ModelSpec, Targets, Trainer};
//! use kiln_train::run::RunContext;
//!
//! // The features a fitted pipeline produced: a dense row-major f32 matrix.
//! let x: Vec<f32> = (0..60).map(|i| (i % 20) as f32 / 5.0 - 2.0).collect();
//! let y: Vec<usize> = x.iter().map(|&v| if v < -0.7 { 0 } else if v < 0.7 { 1 } else { 2 }).collect();
//! let data = Dataset::new(
//!     Features::new(x, 60, 1)?,
//!     Targets::classes(y, vec!["low".into(), "mid".into(), "high".into()])?,
//! )?;
//!
//! let spec = ModelSpec::for_dataset(&data, [16]); // one hidden layer of 16
//! let hyper = Hyperparameters::default().with_epochs(150).with_learning_rate(0.05).with_seed(1);
//! let outcome = Trainer::new(spec, hyper)
//!     .with_context(RunContext::new().with_name("doc").without_git())
//!     .fit(&data)?;
//!
//! assert!(outcome.record.metrics["train.accuracy"] > 0.8);
//! let predictions = outcome.model.predict_slice(&[-1.8, 0.1, 1.9], 3)?;
//! assert_eq!(predictions.classes(), [0, 1, 2]);
//! let weights: Vec<u8> = outcome.model.to_safetensors()?;
//! # let _ = weights;
//! # Ok::<(), kiln_train::Error>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `flex` | yes | Burn's pure-Rust CPU backend, [`Backend::Flex`] (`Device::flex()`) |
//! | `train` | yes | the training loop ([`Trainer`]): Burn's optimizers, LR schedulers and autodiff, and an `indicatif` progress bar. Without it: models, inference, weights, metrics and run records only |
//! | `wgpu` | no | [`Backend::Wgpu`]: Vulkan, Metal, DX12 or WebGPU; Mesa's lavapipe on machines without a GPU |
//! | `cuda` | no | [`Backend::Cuda`]: NVIDIA GPUs (builds without a GPU; needs the CUDA driver to run) |
//!
//! GPU backends are never on by default. A backend whose feature is off can
//! still be named (in configuration files, say): asking it for a device
//! gives [`Error::Backend`].
//!
//! # How the pieces fit
//!
//! - [`data`]: [`Features`] (checked `rows x cols` matrix; a fitted
//!   pipeline's `kiln_transform::Matrix` moves in without a copy) and
//!   [`Targets`] (classes or values). [`Dataset::from_batch`] reads both
//!   from a labelled `kiln_core::Batch` through a fitted pipeline: the label
//!   is the schema's `label` feature, classes get a stable recorded order,
//!   rows without a label are dropped and counted, and the run record gets
//!   the schema and pipeline digests ([`Trainer::fit_batch`] does it in one
//!   call; [`TrainedModel::evaluate_batch`] evaluates held-out rows the same
//!   way).
//! - [`model`]: [`ModelSpec`] (the architecture, class names and, for
//!   regression, the [`TargetScale`]; serialisable), the Burn module
//!   [`TabularNet`], [`model::infer`] and [`TrainedModel`]. Inference needs
//!   nothing from the training loop, optimizers or autodiff.
//! - [`weights`]: SafeTensors through `burn::store`, with the header checked
//!   against the spec before any tensor is built.
//! - [`config`]: [`Hyperparameters`], [`OptimizerSpec`] (Adam, AdamW, SGD),
//!   [`LrSchedule`] (constant, step, exponential, cosine), [`LossSpec`] (MSE,
//!   Huber, cross entropy with class weights), [`EarlyStopping`].
//! - [`train`]: the loop: mini-batches, a validation split (stratified for
//!   classes), early stopping, best-epoch restore, seeded determinism,
//!   `tracing` events per epoch.
//! - [`metrics`] and [`calibration`]: accuracy, precision/recall/F1 (per
//!   class and macro), ROC AUC (binary and one-vs-rest), log loss, confusion
//!   matrix, RMSE, MAE, R2, ECE, Brier score, reliability curves, per-slice
//!   reports; plain Rust over `f64` slices.
//! - [`run`]: [`RunRecord`] (`kiln.run/v1`) and the [`RunStore`] folder.
//!
//! # Determinism
//!
//! Initial weights, the validation split, shuffles and dropout masks are
//! drawn from a seeded generator on the host, never from Burn's global RNG.
//! With the same seed, data and backend, two runs on `flex` give
//! bit-identical weights and metrics. Different backends start from the same
//! weights and see the same batches; their results agree to within float
//! rounding: the test suite checks that the same run on `flex` and `wgpu`
//! ends with weights within 1e-4 and validation loss within 1e-5 of each
//! other, and that inference on the same weights agrees within 1e-5.

pub mod backend;
pub mod calibration;
pub mod config;
pub mod data;
pub mod error;
#[cfg(feature = "train")]
mod loss;
pub mod metrics;
pub mod model;
mod rng;
pub mod run;
#[cfg(feature = "train")]
pub mod train;
pub mod weights;

pub use backend::Backend;
pub use config::{EarlyStopping, Hyperparameters, LossSpec, LrSchedule, OptimizerSpec};
pub use data::{Dataset, Features, Provenance, Targets};
pub use error::{Error, Result};
pub use metrics::Evaluation;
pub use model::{Activation, ModelSpec, Predictions, TabularNet, TargetScale, Task, TrainedModel};
pub use run::{RunContext, RunRecord, RunStore};
#[cfg(feature = "train")]
pub use train::{TrainOutcome, Trainer};
