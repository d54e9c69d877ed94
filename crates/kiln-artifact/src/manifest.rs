//! `manifest.json` (`kiln.manifest/v1`): what a bundle holds and how to use it.
//!
//! The manifest lists every other file of the bundle (except itself and the
//! signature `model.sig`) with its size and SHA-256, and says what the model
//! takes and gives ([`IoSignature`]), what it is ([`ModelInfo`]), when and
//! with which Kiln it was written, the digests of its schema, fitted
//! pipeline and training data, and the machine-readable part of its
//! [model card](crate::card::ModelCard).
//!
//! The manifest is signed with every other file; after the signature is
//! verified, [`Bundle::open`](crate::bundle::Bundle::open) also checks that
//! the manifest's file list names exactly the signed files, with their
//! digests and sizes.
//!
//! `model.json` (`kiln.model/v1`, [`ModelDoc`]) holds the architecture
//! needed to rebuild the Burn module before the weights are loaded.

use std::time::SystemTime;

use kiln_core::format::from_json_slice;
use kiln_core::{DType, Digest, ModelName, Schema, Version};
use kiln_train::{ModelSpec, Task, TrainedModel};
use serde::{Deserialize, Serialize};

use crate::card::ModelCard;
use crate::{Error, Result};

/// The format tag of `manifest.json`.
pub const MANIFEST_FORMAT: &str = "kiln.manifest/v1";
/// The format tag of `model.json`.
pub const MODEL_FORMAT: &str = "kiln.model/v1";

/// `manifest.json`: the bundle's table of contents.
pub const MANIFEST_FILE: &str = "manifest.json";
/// `schema.json`: the feature schema (`kiln.schema/v1`).
pub const SCHEMA_FILE: &str = "schema.json";
/// `pipeline.json`: the fitted transform pipeline (`kiln.pipeline/v1`).
pub const PIPELINE_FILE: &str = "pipeline.json";
/// `model.json`: the model architecture (`kiln.model/v1`).
pub const MODEL_FILE: &str = "model.json";
/// `model.safetensors`: the weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// `run.json`: the training run's reproducibility record (`kiln.run/v1`), when known.
pub const RUN_FILE: &str = "run.json";
/// `profile.json`: the baseline profile (`kiln.profile/v1`), when given.
pub const PROFILE_FILE: &str = "profile.json";
/// `MODEL_CARD.md`: the human-readable model card.
pub const CARD_FILE: &str = "MODEL_CARD.md";
/// `model.sig`: the OpenSSF Model Signing signature over every other file
/// (the name every OMS tool uses; defined in [`crate::oms`]).
pub use crate::oms::SIGNATURE_FILE;

/// The data type of every weight tensor Kiln writes.
pub const WEIGHTS_DTYPE: &str = "F32";

/// One file of the bundle: its path relative to the bundle root, size and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileEntry {
    /// Path relative to the bundle root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents, as 64 lowercase hex digits.
    #[serde(with = "hex_digest")]
    pub sha256: Digest,
}

impl FileEntry {
    /// The entry of a file called `path` holding `bytes`.
    #[must_use]
    pub fn of(path: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            path: path.into(),
            size: bytes.len() as u64,
            sha256: Digest::of(bytes),
        }
    }
}

/// One input field of the model: a feature the fitted pipeline reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputField {
    /// The feature's name.
    pub name: String,
    /// Its type.
    pub dtype: DType,
    /// Whether a request may leave it null.
    pub nullable: bool,
}

/// One output of the model, per row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputField {
    /// `label` (the most probable class), `probabilities` or `value`.
    pub name: String,
    /// The type of each element.
    pub dtype: DType,
    /// The shape of one row's output: `[]` for a scalar, `[n_classes]` for probabilities.
    pub shape: Vec<usize>,
    /// For `label`: the class names, in index order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
}

/// What the model takes and gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IoSignature {
    /// The request fields the fitted pipeline reads, in its input schema's order.
    pub inputs: Vec<InputField>,
    /// The outputs of one prediction.
    pub outputs: Vec<OutputField>,
}

impl IoSignature {
    /// The signature of `model` behind a pipeline whose input schema is `inputs`.
    #[must_use]
    pub fn new(inputs: &Schema, model: &ModelSpec) -> Self {
        let inputs = inputs
            .features()
            .iter()
            .map(|f| InputField {
                name: f.name.clone(),
                dtype: f.dtype,
                nullable: f.nullable,
            })
            .collect();
        let outputs = match model.task.n_classes() {
            None => vec![OutputField {
                name: "value".to_owned(),
                dtype: DType::Float64,
                shape: Vec::new(),
                categories: None,
            }],
            Some(k) => vec![
                OutputField {
                    name: "label".to_owned(),
                    dtype: DType::Categorical,
                    shape: Vec::new(),
                    categories: (!model.class_names.is_empty()).then(|| model.class_names.clone()),
                },
                OutputField {
                    name: "probabilities".to_owned(),
                    dtype: DType::Float64,
                    shape: vec![k],
                    categories: None,
                },
            ],
        };
        Self { inputs, outputs }
    }
}

/// What the model is, in brief.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The family (`logistic_regression`, `mlp_classifier`, ...).
    pub family: String,
    /// What it predicts.
    pub task: Task,
    /// Input columns (the fitted pipeline's outputs).
    pub n_inputs: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// The backend the weights were computed on (`flex`, `wgpu`, `cuda:0`).
    pub backend: String,
    /// The weights' data type ([`WEIGHTS_DTYPE`]).
    pub dtype: String,
}

impl ModelInfo {
    /// The summary of `model`.
    #[must_use]
    pub fn of(model: &TrainedModel) -> Self {
        let spec = model.spec();
        Self {
            family: spec.family().to_owned(),
            task: spec.task,
            n_inputs: spec.n_inputs,
            parameters: spec.num_params(),
            backend: model.backend().to_string(),
            dtype: WEIGHTS_DTYPE.to_owned(),
        }
    }
}

/// Content digests of what the model was built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Digests {
    /// [`Schema::digest`] of `schema.json`.
    pub schema: Digest,
    /// [`FittedPipeline::digest`](kiln_transform::FittedPipeline::digest) of `pipeline.json`.
    pub pipeline: Digest,
    /// The digest of the exact training matrix and targets, from the run
    /// record, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_data: Option<Digest>,
}

/// `manifest.json` (`kiln.manifest/v1`).
///
/// ```
/// use kiln_artifact::manifest::{Manifest, MANIFEST_FORMAT};
/// let json = br#"{"format": "kiln.manifest/v2"}"#;
/// assert!(Manifest::from_json(json).is_err()); // a future major version
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`] (or a minor revision of it).
    pub format: String,
    /// The model's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ModelName>,
    /// The model's version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// When the bundle was written, RFC 3339 UTC (`2025-01-31T12:00:00Z`).
    pub created_at: String,
    /// The version of Kiln that wrote it.
    pub kiln_version: String,
    /// Every file of the bundle except `manifest.json` and `model.sig`, sorted by path.
    pub files: Vec<FileEntry>,
    /// What the model takes and gives.
    pub signature: IoSignature,
    /// What the model is.
    pub model: ModelInfo,
    /// Digests of the schema, pipeline and training data.
    pub digests: Digests,
    /// The machine-readable model card.
    pub card: ModelCard,
}

impl Manifest {
    /// Parses `manifest.json`: another major version is an error, unknown
    /// fields are ignored.
    ///
    /// # Errors
    /// [`Error::Core`] for invalid JSON or an unsupported format tag;
    /// [`Error::InvalidBundle`] for a file listed twice or an unsafe path.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let manifest: Self = from_json_slice(bytes, MANIFEST_FORMAT, "manifest")?;
        let mut seen = std::collections::BTreeSet::new();
        for f in &manifest.files {
            if !is_bundle_path(&f.path) {
                return Err(Error::InvalidBundle(format!(
                    "manifest lists an unsafe path {:?}",
                    f.path
                )));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(Error::InvalidBundle(format!("manifest lists {:?} twice", f.path)));
            }
        }
        Ok(manifest)
    }

    /// Pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Strings, numbers, lists and maps only: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The entry of the file at `path`.
    #[must_use]
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// Whether `path` is a relative, `/`-separated path of normal components.
pub(crate) fn is_bundle_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains(['\\', '\0']))
}

/// One weight tensor as `model.json` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TensorInfo {
    /// `layers.<i>.weight` or `layers.<i>.bias`.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// `model.json` (`kiln.model/v1`): the architecture to rebuild before loading
/// the weights, and the tensors the weights file must hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelDoc {
    /// Always [`MODEL_FORMAT`] (or a minor revision of it).
    pub format: String,
    /// The architecture.
    pub spec: ModelSpec,
    /// The weights file, relative to the bundle root ([`WEIGHTS_FILE`]).
    pub weights: String,
    /// The weights' data type ([`WEIGHTS_DTYPE`]).
    pub dtype: String,
    /// The tensors of the weights file, as the spec implies them (names and
    /// shapes are checked against the file before any tensor is built).
    pub tensors: Vec<TensorInfo>,
}

impl ModelDoc {
    /// The document for `spec`.
    #[must_use]
    pub fn new(spec: &ModelSpec) -> Self {
        Self {
            format: MODEL_FORMAT.to_owned(),
            spec: spec.clone(),
            weights: WEIGHTS_FILE.to_owned(),
            dtype: WEIGHTS_DTYPE.to_owned(),
            tensors: spec
                .tensor_shapes()
                .into_iter()
                .map(|(name, shape)| TensorInfo { name, shape })
                .collect(),
        }
    }

    /// Parses `model.json` and checks it: a valid spec whose tensors are the
    /// ones listed, in `F32`, in [`WEIGHTS_FILE`].
    ///
    /// # Errors
    /// [`Error::Core`] for invalid JSON or an unsupported format tag;
    /// [`Error::Train`] for an invalid spec; [`Error::InvalidBundle`] when the
    /// tensor list, dtype or weights file do not match.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let doc: Self = from_json_slice(bytes, MODEL_FORMAT, "model")?;
        doc.spec.validate()?;
        if doc != Self::new(&doc.spec).with_format(&doc.format) {
            return Err(Error::InvalidBundle(format!(
                "{MODEL_FILE}: the weights must be {WEIGHTS_DTYPE} tensors {:?} in {WEIGHTS_FILE}",
                doc.spec.tensor_shapes()
            )));
        }
        Ok(doc)
    }

    fn with_format(mut self, format: &str) -> Self {
        format.clone_into(&mut self.format);
        self
    }

    /// Pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Strings, numbers, lists and maps only: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `t` as RFC 3339 UTC with whole seconds (`2025-01-31T12:00:00Z`); times
/// before 1970 are written as the epoch.
#[must_use]
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// (De)serializes a [`Digest`] as bare lowercase hex, as OpenSSF Model
/// Signing writes file digests.
mod hex_digest {
    use kiln_core::Digest;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_hex())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() != 64 {
            return Err(serde::de::Error::custom("expected 64 hex digits"));
        }
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_910_400);
        assert_eq!(rfc3339(t), "2026-11-29T00:00:00Z");
        for secs in [0u64, 59, 86_399, 951_827_696, 4_102_444_800] {
            let s = rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
            let micros = kiln_core::timestamp::parse_micros(&s).unwrap_or(-1);
            assert_eq!(micros, i64::try_from(secs).unwrap_or(0) * 1_000_000, "{s}");
        }
    }

    #[test]
    fn bundle_paths() {
        for ok in ["a", "model.sig", "dir/file.json"] {
            assert!(is_bundle_path(ok), "{ok}");
        }
        for bad in ["", "/abs", "../x", "a/../b", "a//b", "./a", "a\\b", "a/"] {
            assert!(!is_bundle_path(bad), "{bad}");
        }
    }

    #[test]
    fn model_doc_round_trip_and_tamper() {
        let spec = ModelSpec::mlp(Task::Binary, 3, [4]).with_class_names(["n", "y"]);
        let doc = ModelDoc::new(&spec);
        assert_eq!(ModelDoc::from_json(doc.to_json().as_bytes()).ok(), Some(doc.clone()));
        let mut v: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap_or_default();
        v["future"] = serde_json::json!(true);
        assert!(ModelDoc::from_json(v.to_string().as_bytes()).is_ok());
        v["tensors"][0]["shape"] = serde_json::json!([4, 3]);
        assert!(matches!(
            ModelDoc::from_json(v.to_string().as_bytes()),
            Err(Error::InvalidBundle(_))
        ));
        v["format"] = serde_json::json!("kiln.model/v2");
        assert!(matches!(
            ModelDoc::from_json(v.to_string().as_bytes()),
            Err(Error::Core(_))
        ));
    }
}
