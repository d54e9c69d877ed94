//! Where tensors live: Burn's runtime [`Device`], chosen by name.
//!
//! Burn 0.22 has no backend type parameter: a model is one type and its
//! tensors carry a runtime `Device`. Kiln names the devices it supports with
//! [`Backend`]; a backend whose Cargo feature is off fails with
//! [`Error::Backend`] instead of a compile error, so configuration files can
//! name any of them.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A compute backend for training and inference.
///
/// ```
/// use kiln_train::Backend;
/// let b: Backend = "cuda:1".parse()?;
/// assert_eq!(b, Backend::Cuda { index: 1 });
/// assert_eq!(b.to_string(), "cuda:1");
/// assert_eq!(Backend::default(), Backend::Flex);
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (`Device::flex()`, feature `flex`, default).
    /// Single-threaded here, so a seed gives bit-identical runs.
    #[default]
    Flex,
    /// Burn's wgpu backend on the default adapter (feature `wgpu`): Vulkan,
    /// Metal, DX12 or WebGPU; Mesa's lavapipe on machines without a GPU.
    Wgpu,
    /// Burn's CUDA backend on GPU `index` (feature `cuda`).
    Cuda {
        /// The CUDA device ordinal.
        index: usize,
    },
}

impl Backend {
    /// The backends compiled into this build, in the order listed above.
    #[must_use]
    pub fn compiled() -> Vec<Backend> {
        let mut out = Vec::new();
        if cfg!(feature = "flex") {
            out.push(Backend::Flex);
        }
        if cfg!(feature = "wgpu") {
            out.push(Backend::Wgpu);
        }
        if cfg!(feature = "cuda") {
            out.push(Backend::Cuda { index: 0 });
        }
        out
    }

    /// Whether this backend's Cargo feature is on.
    #[must_use]
    pub fn is_compiled(&self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Cuda { .. } => cfg!(feature = "cuda"),
        }
    }

    /// The Burn device for this backend (without autodiff).
    ///
    /// The wgpu runtime is initialised once per process and shared; CUDA
    /// devices are created lazily by Burn, so a missing driver shows up at
    /// the first tensor operation.
    ///
    /// # Errors
    /// [`Error::Backend`] when the feature is not compiled in, or when wgpu
    /// finds no adapter.
    pub fn device(&self) -> Result<Device> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => wgpu_device(),
            #[cfg(feature = "cuda")]
            Backend::Cuda { index } => Ok(Device::cuda(*index)),
            #[allow(unreachable_patterns)] // reachable when a backend feature is off
            other => Err(Error::Backend {
                backend: other.to_string(),
                reason: format!("not compiled in; enable the kiln-train feature `{}`", other.feature()),
            }),
        }
    }

    /// The Cargo feature that compiles this backend in.
    #[must_use]
    pub fn feature(&self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
            Backend::Cuda { .. } => "cuda",
        }
    }

    /// The adapter or GPU name when the backend reports one (wgpu, CUDA).
    #[must_use]
    pub fn device_name(&self, device: &Device) -> Option<String> {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        if !matches!(self, Backend::Flex) {
            return device.identity().map(|identity| identity.name);
        }
        let _ = device;
        None
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    use std::sync::OnceLock;
    // Burn refuses to initialise one wgpu runtime twice: keep the first answer.
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| Device::wgpu_options().init().map_err(|e| e.to_string()))
        .clone()
        .map_err(|reason| Error::Backend {
            backend: "wgpu".into(),
            reason,
        })
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Flex => f.write_str("flex"),
            Backend::Wgpu => f.write_str("wgpu"),
            Backend::Cuda { index } => write!(f, "cuda:{index}"),
        }
    }
}

impl FromStr for Backend {
    type Err = Error;

    /// Parses `flex`, `wgpu`, `cuda` (device 0) or `cuda:N`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Backend {
            backend: s.to_owned(),
            reason: reason.to_owned(),
        };
        match s {
            "flex" => Ok(Backend::Flex),
            "wgpu" => Ok(Backend::Wgpu),
            "cuda" => Ok(Backend::Cuda { index: 0 }),
            _ => match s.strip_prefix("cuda:") {
                Some(n) => n
                    .parse()
                    .map(|index| Backend::Cuda { index })
                    .map_err(|_| bad("expected cuda:<device number>")),
                None => Err(bad("unknown backend; expected flex, wgpu, cuda or cuda:N")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for b in [Backend::Flex, Backend::Wgpu, Backend::Cuda { index: 3 }] {
            assert_eq!(b.to_string().parse::<Backend>().unwrap(), b);
        }
        assert!("tpu".parse::<Backend>().is_err());
        assert!("cuda:x".parse::<Backend>().is_err());
    }

    #[test]
    fn uncompiled_backends_give_typed_errors() {
        for b in [Backend::Flex, Backend::Wgpu, Backend::Cuda { index: 0 }] {
            if !b.is_compiled() {
                assert!(matches!(b.device(), Err(Error::Backend { .. })));
            }
        }
        assert!(Backend::compiled().iter().all(Backend::is_compiled));
    }
}
