//! Reproducibility records (`kiln.run/v1`) and the local folder that keeps them.
//!
//! Every training run produces a [`RunRecord`]: when it ran, on what code
//! (git commit and dirty flag of the calling application), on what data
//! (source file and its SHA-256, the digest of the exact feature matrix, the
//! schema and fitted-pipeline digests), with what model and hyperparameters,
//! on which backend, device, host and toolchain, and what it measured per
//! epoch and at the end. A [`RunStore`] keeps records as JSON files in a
//! folder, lists them and compares two of them.
//!
//! ```
//! use kiln_train::run::{RunStore, RunRecord};
//! let dir = tempfile::tempdir()?;
//! let store = RunStore::open(dir.path())?;
//! assert!(store.list()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use kiln_core::{Digest, Hasher, Schema};
use serde::{Deserialize, Serialize};

use crate::config::Hyperparameters;
use crate::metrics::Evaluation;
use crate::model::ModelSpec;
use crate::{Error, Result};

/// The format tag of run records.
pub const RUN_FORMAT: &str = "kiln.run/v1";

/// One epoch of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Mean training loss over the epoch's batches (weighted by batch rows,
    /// with dropout active).
    pub train_loss: f64,
    /// Loss on the validation split after the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_loss: Option<f64>,
    /// Validation metrics after the epoch ([`Evaluation::scalars`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub validation_metrics: BTreeMap<String, f64>,
    /// Wall-clock time of the epoch in milliseconds.
    pub duration_ms: u64,
}

/// The git state of the application that trained the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// Whether tracked files had uncommitted changes (`git status
    /// --porcelain --untracked-files=no` printed anything).
    pub dirty: bool,
}

impl GitInfo {
    /// Asks `git` about the repository containing `dir`; `None` when git is
    /// not installed or `dir` is not in a repository.
    #[must_use]
    pub fn detect(dir: &Path) -> Option<Self> {
        let run = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
        };
        let commit = run(&["rev-parse", "HEAD"])?.trim().to_owned();
        let status = run(&["status", "--porcelain", "--untracked-files=no"])?;
        Some(Self {
            commit,
            dirty: !status.trim().is_empty(),
        })
    }
}

/// What data a run saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DataInfo {
    /// The source file, as given in [`RunContext::with_data_source`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// SHA-256 of the source file's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<Digest>,
    /// SHA-256 of the feature matrix and targets the model trained on
    /// ([`Dataset::digest`](crate::Dataset::digest)).
    pub matrix_sha256: Digest,
    /// Rows in the dataset.
    pub rows: usize,
    /// Feature columns.
    pub cols: usize,
    /// Rows used for training.
    pub train_rows: usize,
    /// Rows held out for validation.
    pub validation_rows: usize,
    /// The label feature, when the data was read from a batch
    /// ([`Dataset::from_batch`](crate::Dataset::from_batch)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The name of every feature column (the fitted pipeline's outputs),
    /// when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_names: Vec<String>,
    /// Rows of the batch dropped because their label was missing.
    #[serde(default)]
    pub null_label_rows: usize,
}

/// Versions of the software that trained the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    /// kiln-train's version.
    pub kiln: String,
    /// Burn's version.
    pub burn: String,
    /// `rustc -V` of the compiler that built kiln-train.
    pub rustc: String,
}

impl Versions {
    /// The versions of this build.
    #[must_use]
    pub fn current() -> Self {
        Self {
            kiln: env!("CARGO_PKG_VERSION").to_owned(),
            // burn-store stamps its own version (= Burn's) into every SafeTensors file.
            burn: burn::store::SafetensorsStore::default_metadata()
                .get("version")
                .cloned()
                .unwrap_or_else(|| "unknown".to_owned()),
            rustc: env!("KILN_RUSTC_VERSION").to_owned(),
        }
    }
}

/// The machine a run trained on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HostInfo {
    /// `std::env::consts::OS` (`linux`, `macos`, `windows`).
    pub os: String,
    /// The OS release (`PRETTY_NAME` of `/etc/os-release`) when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_release: Option<String>,
    /// `std::env::consts::ARCH`.
    pub arch: String,
    /// The CPU model (`/proc/cpuinfo`) when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// The GPU or adapter the backend ran on, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
}

impl HostInfo {
    /// Describes this machine; `gpu` is the backend's adapter name.
    #[must_use]
    pub fn detect(gpu: Option<String>) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let os_release = read("/etc/os-release").and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
        let cpu = read("/proc/cpuinfo").and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
        Self {
            os: std::env::consts::OS.to_owned(),
            os_release,
            arch: std::env::consts::ARCH.to_owned(),
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            gpu,
        }
    }
}

/// The reproducibility record of one training run (`kiln.run/v1`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRecord {
    /// Always [`RUN_FORMAT`].
    pub format: String,
    /// Unique id: `<UTC start, YYYYMMDDTHHMMSSZ>-<8 hex>`.
    pub run_id: String,
    /// Optional human label ([`RunContext::with_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// End time, RFC 3339 UTC.
    pub ended_at: String,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: u64,
    /// The calling application's git state, when it is in a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// The data.
    pub data: DataInfo,
    /// Digest of the feature schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_digest: Option<Digest>,
    /// Digest of the fitted transform pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_digest: Option<Digest>,
    /// The model architecture.
    pub model: ModelSpec,
    /// The hyperparameters, with the loss resolved (never `None`).
    pub hyperparameters: Hyperparameters,
    /// The seed (also in `hyperparameters`; here for quick reading).
    pub seed: u64,
    /// The backend (`flex`, `wgpu`, `cuda:0`).
    pub backend: String,
    /// Burn's description of the device.
    pub device: String,
    /// Software versions.
    pub versions: Versions,
    /// The machine.
    pub host: HostInfo,
    /// Per-epoch history.
    pub epochs: Vec<EpochMetrics>,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
    /// Whether early stopping ended the run before the last epoch.
    pub stopped_early: bool,
    /// Final metrics of the kept weights, flattened for comparison:
    /// `train.loss`, `train.accuracy`, `validation.loss`, `validation.f1_macro`, ...
    pub metrics: BTreeMap<String, f64>,
    /// Full evaluation on the training split.
    pub train_evaluation: Evaluation,
    /// Full evaluation on the validation split, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_evaluation: Option<Evaluation>,
    /// Evaluation on held-out test rows, when the caller adds one
    /// ([`RunRecord::set_test_evaluation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_evaluation: Option<Evaluation>,
}

impl RunRecord {
    /// Adds the evaluation on held-out test rows (e.g.
    /// [`TrainedModel::evaluate_batch`](crate::TrainedModel::evaluate_batch)
    /// on the rows the trainer never saw), with its scalar metrics under
    /// `test.` in [`RunRecord::metrics`] so that run comparisons show them.
    /// Call it before storing the record.
    pub fn set_test_evaluation(&mut self, evaluation: Evaluation) {
        self.metrics.retain(|name, _| !name.starts_with("test."));
        for (name, value) in evaluation.scalars() {
            self.metrics.insert(format!("test.{name}"), value);
        }
        self.test_evaluation = Some(evaluation);
    }

    /// Pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A record holds only strings, numbers, maps and lists: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a record, checking its format tag first.
    ///
    /// # Errors
    /// [`Error::Core`] for another format or major version, or invalid JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        Ok(kiln_core::format::from_json_slice(bytes, RUN_FORMAT, "run record")?)
    }

    /// A one-line summary for listings.
    #[must_use]
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            run_id: self.run_id.clone(),
            name: self.name.clone(),
            started_at: self.started_at.clone(),
            model: self.model.family().to_owned(),
            backend: self.backend.clone(),
            epochs: self.epochs.len(),
            best_epoch: self.best_epoch,
            metrics: self.metrics.clone(),
        }
    }
}

/// What the caller knows about a run that the trainer cannot see: where the
/// data came from, which schema and pipeline produced the features, which
/// repository to ask git about.
///
/// ```
/// use kiln_train::run::RunContext;
/// let ctx = RunContext::new().with_name("baseline").without_git();
/// # let _ = ctx;
/// ```
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    pub(crate) name: Option<String>,
    pub(crate) data_source: Option<PathBuf>,
    pub(crate) schema_digest: Option<Digest>,
    pub(crate) pipeline_digest: Option<Digest>,
    pub(crate) git_dir: Option<PathBuf>,
    pub(crate) no_git: bool,
}

impl RunContext {
    /// An empty context: git is asked about the current directory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A human label for the run.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The file the training data was read from; its SHA-256 is recorded.
    #[must_use]
    pub fn with_data_source(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_source = Some(path.into());
        self
    }

    /// Records the digest of `schema`.
    #[must_use]
    pub fn with_schema(mut self, schema: &Schema) -> Self {
        self.schema_digest = Some(schema.digest());
        self
    }

    /// Records a schema digest.
    #[must_use]
    pub fn with_schema_digest(mut self, digest: Digest) -> Self {
        self.schema_digest = Some(digest);
        self
    }

    /// Records the fitted pipeline's digest.
    #[must_use]
    pub fn with_pipeline_digest(mut self, digest: Digest) -> Self {
        self.pipeline_digest = Some(digest);
        self
    }

    /// Asks git about the repository containing `dir` instead of the
    /// current directory.
    #[must_use]
    pub fn with_git_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.git_dir = Some(dir.into());
        self.no_git = false;
        self
    }

    /// Records no git state.
    #[must_use]
    pub fn without_git(mut self) -> Self {
        self.no_git = true;
        self
    }

    #[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
    pub(crate) fn git(&self) -> Option<GitInfo> {
        if self.no_git {
            return None;
        }
        let dir = self.git_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        GitInfo::detect(&dir)
    }

    /// The SHA-256 of the data source file, streamed.
    #[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
    pub(crate) fn source_digest(&self) -> Result<Option<Digest>> {
        let Some(path) = &self.data_source else {
            return Ok(None);
        };
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Some(hasher.finish()))
    }
}

/// A run in a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run id.
    pub run_id: String,
    /// The run's label.
    pub name: Option<String>,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// The model family (`softmax_regression`, `mlp_classifier`, ...).
    pub model: String,
    /// The backend.
    pub backend: String,
    /// Epochs trained.
    pub epochs: usize,
    /// The kept epoch.
    pub best_epoch: usize,
    /// Final metrics.
    pub metrics: BTreeMap<String, f64>,
}

/// A metric in two runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDiff {
    /// Metric name (`validation.accuracy`).
    pub name: String,
    /// Value in the first run.
    pub a: Option<f64>,
    /// Value in the second run.
    pub b: Option<f64>,
    /// `b - a` when both exist.
    pub delta: Option<f64>,
}

/// A setting that differs between two runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingDiff {
    /// Dotted path (`hyperparameters.learning_rate`, `model.hidden.0`).
    pub path: String,
    /// Value in the first run (`null` when absent).
    pub a: serde_json::Value,
    /// Value in the second run (`null` when absent).
    pub b: serde_json::Value,
}

/// Two runs side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    /// The first run.
    pub a: RunSummary,
    /// The second run.
    pub b: RunSummary,
    /// Every final metric of either run.
    pub metrics: Vec<MetricDiff>,
    /// Settings that differ: model, hyperparameters, data digests, backend,
    /// versions, git commit.
    pub settings: Vec<SettingDiff>,
}

impl RunComparison {
    /// Compares two records.
    #[must_use]
    pub fn new(a: &RunRecord, b: &RunRecord) -> Self {
        let names: BTreeSet<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
        let metrics = names
            .into_iter()
            .map(|name| {
                let (va, vb) = (a.metrics.get(name).copied(), b.metrics.get(name).copied());
                MetricDiff {
                    name: name.clone(),
                    a: va,
                    b: vb,
                    delta: va.zip(vb).map(|(x, y)| y - x),
                }
            })
            .collect();
        let (fa, fb) = (settings(a), settings(b));
        let paths: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
        let settings = paths
            .into_iter()
            .filter_map(|path| {
                let null = serde_json::Value::Null;
                let (va, vb) = (fa.get(path).unwrap_or(&null), fb.get(path).unwrap_or(&null));
                (va != vb).then(|| SettingDiff {
                    path: path.clone(),
                    a: va.clone(),
                    b: vb.clone(),
                })
            })
            .collect();
        Self {
            a: a.summary(),
            b: b.summary(),
            metrics,
            settings,
        }
    }
}

/// The settings of a run that a comparison looks at, flattened to dotted paths.
fn settings(r: &RunRecord) -> BTreeMap<String, serde_json::Value> {
    let doc = serde_json::json!({
        "model": r.model,
        "hyperparameters": r.hyperparameters,
        "data": {
            "source": r.data.source,
            "source_sha256": r.data.source_sha256,
            "matrix_sha256": r.data.matrix_sha256,
            "train_rows": r.data.train_rows,
            "validation_rows": r.data.validation_rows,
            "label": r.data.label,
            "null_label_rows": r.data.null_label_rows,
        },
        "schema_digest": r.schema_digest,
        "pipeline_digest": r.pipeline_digest,
        "backend": r.backend,
        "versions": r.versions,
        "git": r.git,
    });
    let mut out = BTreeMap::new();
    flatten("", &doc, &mut out);
    out
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

/// A folder of run records, one `<run_id>.json` per run.
#[derive(Clone, Debug)]
pub struct RunStore {
    root: PathBuf,
}

impl RunStore {
    /// Opens (creating if needed) the folder `root`.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be created.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(Self { root })
    }

    /// The folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, run_id: &str) -> Result<PathBuf> {
        check_run_id(run_id)?;
        Ok(self.root.join(format!("{run_id}.json")))
    }

    /// Stores a record; never overwrites an existing run.
    ///
    /// # Errors
    /// [`Error::Run`] when the id is invalid or already stored; [`Error::Io`]
    /// when writing fails.
    pub fn save(&self, record: &RunRecord) -> Result<PathBuf> {
        let path = self.path_of(&record.run_id)?;
        if path.exists() {
            return Err(Error::Run {
                run_id: record.run_id.clone(),
                reason: "already stored".into(),
            });
        }
        // Write beside, then rename: a reader never sees half a record.
        let tmp = self.root.join(format!(".{}.json.tmp", record.run_id));
        std::fs::write(&tmp, record.to_json()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// Loads the record `run_id`.
    ///
    /// # Errors
    /// [`Error::Run`] when no such run is stored; [`Error::Core`] when the
    /// file is not a `kiln.run/v1` record.
    pub fn load(&self, run_id: &str) -> Result<RunRecord> {
        let path = self.path_of(run_id)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Run {
                    run_id: run_id.to_owned(),
                    reason: format!("not in {}", self.root.display()),
                });
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        RunRecord::from_json(&bytes)
    }

    /// Summaries of every stored run, oldest first. Files that are not run
    /// records are skipped with a warning.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be read.
    pub fn list(&self) -> Result<Vec<RunSummary>> {
        let entries = std::fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&self.root, e))?.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if check_run_id(id).is_err() {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| Error::io(&path, e))
                .and_then(|b| RunRecord::from_json(&b))
            {
                Ok(record) => out.push(record.summary()),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping file in run store")
                }
            }
        }
        out.sort_by(|a, b| (&a.started_at, &a.run_id).cmp(&(&b.started_at, &b.run_id)));
        Ok(out)
    }

    /// Compares two stored runs.
    ///
    /// # Errors
    /// As [`RunStore::load`].
    pub fn compare(&self, a: &str, b: &str) -> Result<RunComparison> {
        Ok(RunComparison::new(&self.load(a)?, &self.load(b)?))
    }
}

/// Run ids are file names: ASCII letters, digits, `-`, `_`, `.`, not starting with `.`.
fn check_run_id(run_id: &str) -> Result<()> {
    let ok = !run_id.is_empty()
        && run_id.len() <= 128
        && !run_id.starts_with('.')
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Run {
            run_id: run_id.chars().take(130).collect(),
            reason: "run ids are 1-128 ASCII letters, digits, '-', '_' or '.', not starting with '.'".into(),
        })
    }
}

/// A fresh run id: the UTC start second and 8 hex digits of a digest of the
/// start time, process id, a counter and the seed.
#[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
pub(crate) fn new_run_id(started: SystemTime, seed: u64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let salt = format!(
        "{nanos}:{}:{}:{seed}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let hex = Digest::of(salt.as_bytes()).to_hex();
    let stamp: String = rfc3339(started)
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{stamp}Z-{}", &hex[..8])
}

/// RFC 3339 UTC with milliseconds: `2026-11-29T19:34:57.123Z`.
#[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's algorithm.
#[cfg_attr(not(feature = "train"), allow(dead_code))] // used by the training loop
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_by_hand() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29T12:34:56.789Z = 951827696.789
        let t = UNIX_EPOCH + Duration::from_millis(951_827_696_789);
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56.789Z");
        // 2026-11-29T00:00:00Z = 1795910400
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_910_400)),
            "2026-11-29T00:00:00.000Z"
        );
    }

    #[test]
    fn run_ids_are_unique_and_valid() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_910_400);
        let a = new_run_id(t, 1);
        let b = new_run_id(t, 1);
        assert_ne!(a, b);
        assert!(a.starts_with("20261129T000000Z-"), "{a}");
        check_run_id(&a).unwrap();
        assert!(check_run_id("../etc/passwd").is_err());
        assert!(check_run_id(".hidden").is_err());
        assert!(check_run_id("").is_err());
    }

    #[test]
    fn flatten_uses_dotted_paths() {
        let mut out = BTreeMap::new();
        flatten(
            "",
            &serde_json::json!({"a": {"b": [1, {"c": true}]}, "d": null}),
            &mut out,
        );
        assert_eq!(out["a.b.0"], serde_json::json!(1));
        assert_eq!(out["a.b.1.c"], serde_json::json!(true));
        assert_eq!(out["d"], serde_json::Value::Null);
    }

    #[test]
    fn host_and_versions_are_filled() {
        let v = Versions::current();
        assert!(v.burn.starts_with("0.22."), "{}", v.burn);
        assert!(v.rustc.starts_with("rustc "), "{}", v.rustc);
        let h = HostInfo::detect(None);
        assert!(h.cpus >= 1);
        assert_eq!(h.os, std::env::consts::OS);
    }

    #[test]
    fn data_source_digest_streams_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let ctx = RunContext::new().with_data_source(&path);
        assert_eq!(ctx.source_digest().unwrap(), Some(Digest::of(&bytes)));
        let missing = RunContext::new().with_data_source(dir.path().join("nope"));
        assert!(matches!(missing.source_digest(), Err(Error::Io { .. })));
    }
}
