//! Weights as SafeTensors, through `burn::store`.
//!
//! Tensors are named `layers.<i>.weight` (`[inputs, outputs]`, Burn's row
//! layout) and `layers.<i>.bias` (`[outputs]`), all `F32`; the file's
//! metadata holds the model spec as JSON under [`SPEC_METADATA_KEY`] along
//! with Burn's own `format`/`producer`/`version` entries.
//!
//! Loading checks the file's header against the [`ModelSpec`] *before* Burn
//! builds any tensor: every expected tensor present, no extra ones, dtype
//! `F32`, the exact shape, and byte ranges that fit inside the file. A
//! crafted or mismatched file is rejected with [`Error::Weights`] naming the
//! tensor.
//!
//! ```
//! use kiln_train::{Backend, ModelSpec, TabularNet, TrainedModel};
//! let spec = ModelSpec::softmax_regression(4, 3);
//! let net = TabularNet::init(&spec, 1, &Backend::Flex.device()?)?;
//! let model = TrainedModel::new(spec.clone(), net, Backend::Flex)?;
//! let bytes = model.to_safetensors()?;
//! let back = TrainedModel::from_safetensors(spec, &bytes, &Backend::Flex)?;
//! assert_eq!(back.tensors()?, model.tensors()?);
//! let other = ModelSpec::softmax_regression(5, 3);
//! assert!(TrainedModel::from_safetensors(other, &bytes, &Backend::Flex).is_err());
//! # Ok::<(), kiln_train::Error>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::Deserialize;

use crate::backend::Backend;
use crate::model::{ModelSpec, TabularNet, TrainedModel};
use crate::{Error, Result};

/// Metadata key holding the model spec JSON.
pub const SPEC_METADATA_KEY: &str = "kiln.model_spec";

/// The largest header accepted (the safetensors crate's own limit).
const MAX_HEADER_BYTES: u64 = 100_000_000;

fn weights_err(what: &str, reason: impl Into<String>) -> Error {
    Error::Weights {
        what: what.to_owned(),
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// Checks a SafeTensors buffer against `spec` without building tensors.
///
/// # Errors
/// [`Error::Weights`] when the header is malformed or too large, a tensor is
/// missing or unexpected, or a dtype, shape or byte range is wrong.
pub fn check_safetensors(spec: &ModelSpec, bytes: &[u8], what: &str) -> Result<()> {
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| weights_err(what, "shorter than the 8-byte header length"))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_BYTES || header_len > (bytes.len() - 8) as u64 {
        return Err(weights_err(
            what,
            format!("header length {header_len} does not fit in {} bytes", bytes.len()),
        ));
    }
    let header_end = 8 + header_len as usize;
    let data_len = bytes.len() - header_end;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&bytes[8..header_end])
        .map_err(|e| weights_err(what, format!("header is not a JSON object: {e}")))?;
    let expected: BTreeMap<String, Vec<usize>> = spec.tensor_shapes().into_iter().collect();
    for name in header.keys() {
        if name != "__metadata__" && !expected.contains_key(name) {
            return Err(weights_err(what, format!("unexpected tensor {name:?}")));
        }
    }
    for (name, shape) in &expected {
        let raw = header
            .get(name)
            .ok_or_else(|| weights_err(what, format!("tensor {name:?} is missing")))?;
        let entry: HeaderEntry =
            serde_json::from_value(raw.clone()).map_err(|e| weights_err(what, format!("tensor {name:?}: {e}")))?;
        if entry.dtype != "F32" {
            return Err(weights_err(
                what,
                format!("tensor {name:?} has dtype {}, expected F32", entry.dtype),
            ));
        }
        if &entry.shape != shape {
            return Err(weights_err(
                what,
                format!("tensor {name:?} has shape {:?}, expected {shape:?}", entry.shape),
            ));
        }
        let [begin, end] = entry.data_offsets;
        let size = shape.iter().product::<usize>() * 4;
        if end < begin || end - begin != size || end > data_len {
            return Err(weights_err(
                what,
                format!("tensor {name:?} spans bytes {begin}..{end}, expected {size} bytes within {data_len}"),
            ));
        }
    }
    Ok(())
}

fn store_err(what: &str, e: impl std::fmt::Display) -> Error {
    weights_err(what, e.to_string())
}

impl TrainedModel {
    fn spec_json(&self) -> Result<String> {
        serde_json::to_string(self.spec()).map_err(|e| weights_err("model spec", e.to_string()))
    }

    /// The weights as a SafeTensors buffer.
    ///
    /// # Errors
    /// [`Error::Weights`] when Burn fails to serialize them.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut store = SafetensorsStore::from_bytes(None).metadata(SPEC_METADATA_KEY, self.spec_json()?);
        self.net().save_into(&mut store).map_err(|e| store_err("<memory>", e))?;
        store.get_bytes().map_err(|e| store_err("<memory>", e))
    }

    /// Writes the weights to `path` (atomically: a complete file or none).
    ///
    /// # Errors
    /// [`Error::Weights`] when the file cannot be written.
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut store = SafetensorsStore::from_file(path)
            .overwrite(true)
            .metadata(SPEC_METADATA_KEY, self.spec_json()?);
        self.net()
            .save_into(&mut store)
            .map_err(|e| store_err(&path.display().to_string(), e))
    }

    /// Loads weights for `spec` from a SafeTensors buffer onto `backend`,
    /// after [`check_safetensors`].
    ///
    /// # Errors
    /// [`Error::InvalidModelSpec`], [`Error::Weights`] or [`Error::Backend`].
    pub fn from_safetensors(spec: ModelSpec, bytes: &[u8], backend: &Backend) -> Result<Self> {
        Self::load_bytes(spec, bytes, backend, "<memory>")
    }

    /// Loads weights for `spec` from the file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; otherwise as
    /// [`from_safetensors`](Self::from_safetensors).
    pub fn load_safetensors(spec: ModelSpec, path: impl AsRef<Path>, backend: &Backend) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::load_bytes(spec, &bytes, backend, &path.display().to_string())
    }

    fn load_bytes(spec: ModelSpec, bytes: &[u8], backend: &Backend, what: &str) -> Result<Self> {
        spec.validate()?;
        check_safetensors(&spec, bytes, what)?;
        let device = backend.device()?;
        // The initial values are overwritten by the load below.
        let mut net = TabularNet::init(&spec, 0, &device)?;
        let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()));
        let result = net.load_from(&mut store).map_err(|e| store_err(what, e))?;
        if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
            return Err(weights_err(what, result.to_string()));
        }
        Self::new(spec, net, backend.clone())
    }
}

#[cfg(test)]
#[cfg(feature = "flex")]
mod tests {
    use super::*;
    use crate::model::Task;

    fn model(spec: &ModelSpec) -> TrainedModel {
        let device = Backend::Flex.device().unwrap();
        TrainedModel::new(spec.clone(), TabularNet::init(spec, 3, &device).unwrap(), Backend::Flex).unwrap()
    }

    /// Builds a SafeTensors buffer by hand.
    fn craft(entries: &[(&str, &str, Vec<usize>, [usize; 2])], data_len: usize) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        for (name, dtype, shape, offsets) in entries {
            header.insert(
                (*name).to_owned(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": offsets}),
            );
        }
        let json = serde_json::to_vec(&header).unwrap();
        let mut out = (json.len() as u64).to_le_bytes().to_vec();
        out.extend(json);
        out.extend(vec![0u8; data_len]);
        out
    }

    #[test]
    fn file_round_trip_keeps_weights_and_predictions() {
        let spec = ModelSpec::mlp(Task::Binary, 3, [5, 4]).with_class_names(["n", "y"]);
        let m = model(&spec);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        m.save_safetensors(&path).unwrap();
        m.save_safetensors(&path).unwrap(); // overwrite is allowed
        let back = TrainedModel::load_safetensors(spec.clone(), &path, &Backend::Flex).unwrap();
        assert_eq!(back.tensors().unwrap(), m.tensors().unwrap());
        let x = [0.5, -1.0, 2.0, 0.0, 0.1, 0.2];
        assert_eq!(back.predict_slice(&x, 2).unwrap(), m.predict_slice(&x, 2).unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        let stored: ModelSpec =
            serde_json::from_str(header["__metadata__"][SPEC_METADATA_KEY].as_str().unwrap()).unwrap();
        assert_eq!(stored, spec);
    }

    #[test]
    fn shape_dtype_and_name_mismatches_are_rejected_before_loading() {
        let spec = ModelSpec::logistic_regression(2);
        let ok = craft(
            &[
                ("layers.0.weight", "F32", vec![2, 1], [0, 8]),
                ("layers.0.bias", "F32", vec![1], [8, 12]),
            ],
            12,
        );
        check_safetensors(&spec, &ok, "t").unwrap();
        let cases = [
            (craft(&[("layers.0.weight", "F32", vec![2, 1], [0, 8])], 8), "missing"),
            (
                craft(
                    &[
                        ("layers.0.weight", "F32", vec![1, 2], [0, 8]),
                        ("layers.0.bias", "F32", vec![1], [8, 12]),
                    ],
                    12,
                ),
                "shape",
            ),
            (
                craft(
                    &[
                        ("layers.0.weight", "F64", vec![2, 1], [0, 16]),
                        ("layers.0.bias", "F32", vec![1], [16, 20]),
                    ],
                    20,
                ),
                "dtype",
            ),
            (
                craft(
                    &[
                        ("layers.0.weight", "F32", vec![2, 1], [0, 8]),
                        ("layers.0.bias", "F32", vec![1], [8, 4000]),
                    ],
                    12,
                ),
                "spans",
            ),
            (
                craft(
                    &[
                        ("layers.0.weight", "F32", vec![2, 1], [0, 8]),
                        ("layers.0.bias", "F32", vec![1], [8, 12]),
                        ("evil", "F32", vec![1], [0, 4]),
                    ],
                    12,
                ),
                "unexpected",
            ),
        ];
        for (bytes, needle) in cases {
            let err = TrainedModel::from_safetensors(spec.clone(), &bytes, &Backend::Flex).unwrap_err();
            assert!(
                matches!(&err, Error::Weights { reason, .. } if reason.contains(needle)),
                "{needle}: {err}"
            );
        }
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend(b"{}");
        assert!(check_safetensors(&spec, &huge, "t").is_err());
        assert!(check_safetensors(&spec, b"abc", "t").is_err());
    }

    #[test]
    fn weights_of_another_architecture_do_not_load() {
        let a = ModelSpec::mlp(Task::Regression, 3, [4]);
        let bytes = model(&a).to_safetensors().unwrap();
        let b = ModelSpec::mlp(Task::Regression, 3, [5]);
        assert!(matches!(
            TrainedModel::from_safetensors(b, &bytes, &Backend::Flex),
            Err(Error::Weights { .. })
        ));
    }
}
