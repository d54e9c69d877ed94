//! Writing, signing, opening and loading bundles.
//!
//! A bundle moves through three states, and only the last one can predict:
//!
//! | state | made by | can |
//! |---|---|---|
//! | [`Bundle<Unsigned>`] | [`BundleWriter::write`] | be signed |
//! | [`Bundle<Signed>`] | [`Bundle::sign`] | be packed for transport, published |
//! | [`VerifiedBundle`] | [`Bundle::open`] (a directory or a `.tar`) | give its schema, pipeline and model; become a [`LoadedModel`] |
//!
//! # Verify first, then parse
//!
//! [`Bundle::open`] parses nothing of the model before the signature and
//! every file digest have been checked:
//!
//! 1. `model.sig` is read and verified against the [`TrustPolicy`]
//!    ([`oms::verify_signature`]);
//! 2. the directory must hold exactly the signed files, each with its signed
//!    SHA-256 ([`SignedManifest::check_dir`]); when a file is shorter than
//!    the (itself verified) manifest lists, the error is
//!    [`Error::FileTruncated`] rather than [`Error::FileModified`];
//! 3. every file is read into memory and hashed again, so that what is
//!    parsed is byte for byte what was verified (a file replaced between the
//!    check and the read is [`Error::FileModified`]);
//! 4. only then are the manifest, schema, pipeline, model spec, run record
//!    and profile parsed and checked against each other, and the weights'
//!    SafeTensors header checked against `model.json` (names, shapes,
//!    dtype, byte ranges) before any tensor is built.
//!
//! A `.tar` is unpacked (with [`pack::unpack`]'s checks) into a temporary
//! directory that is removed once the files are in memory.
//!
//! # Why the weights are read, not memory-mapped
//!
//! Burn's `SafetensorsStore::from_file` memory-maps the file, but still
//! copies every tensor out of the map while loading, so mapping would save
//! no copy of the weights. It would also break step 3: a mapped file can
//! change (or shrink, which raises `SIGBUS`) after its digest was checked,
//! so the bytes Burn reads would no longer be the bytes that were verified.
//! Kiln's models are tabular (kilobytes to a few megabytes of weights), so
//! the bundle reads the weights once into memory, verifies that buffer and
//! loads from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kiln_core::{Batch, Digest, ModelName, Record, Schema, Version};
use kiln_train::weights::check_safetensors;
use kiln_train::{Backend, Features, Predictions, RunRecord, TrainedModel};
use kiln_transform::FittedPipeline;
use kiln_validate::{Unexpected, Validator, ValidatorConfig};

use crate::card::{ModelCard, render_markdown};
use crate::hashing::{HashedFile, IgnorePaths, hash_dir};
use crate::keys::{SigningKey, VerifyingKey};
use crate::manifest::{
    CARD_FILE, Digests, FileEntry, IoSignature, MANIFEST_FILE, MANIFEST_FORMAT, MODEL_FILE, Manifest, ModelDoc,
    ModelInfo, PIPELINE_FILE, PROFILE_FILE, RUN_FILE, SCHEMA_FILE, SIGNATURE_FILE, WEIGHTS_FILE, rfc3339,
};
use crate::oms::{self, SignatureFile, SignedManifest, TrustPolicy};
use crate::pack::{self, UnpackLimits};
use crate::profile::Profile;
use crate::{Error, Result};

/// The state of a bundle just written: it cannot be published or served.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Unsigned;

/// The state of a signed bundle: its digest and the key that signed it.
#[derive(Clone, Debug)]
pub struct Signed {
    digest: Digest,
    signer: VerifyingKey,
}

/// A bundle directory on disk, in state `S` ([`Unsigned`] or [`Signed`]).
///
/// See the [module documentation](self) for the states.
#[derive(Clone, Debug)]
pub struct Bundle<S = Signed> {
    dir: PathBuf,
    manifest: Manifest,
    state: S,
}

impl<S> Bundle<S> {
    /// The bundle's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest as written.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

impl Bundle<Unsigned> {
    /// Reads the unsigned bundle in `dir` (one [`BundleWriter::write`]
    /// made, for instance on another machine), so that it can be signed.
    ///
    /// Only the manifest is parsed here; [`Bundle::sign`] then checks that
    /// the directory holds exactly the files it lists.
    ///
    /// # Errors
    /// [`Error::Io`] when `dir/manifest.json` cannot be read;
    /// [`Error::InvalidBundle`] when it is not a Kiln manifest;
    /// [`Error::InvalidBundle`] also when the bundle is already signed
    /// (`model.sig` exists): signing again takes an explicit removal of the
    /// old signature, never an accident.
    pub fn read_unsigned(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let manifest_path = dir.join(MANIFEST_FILE);
        let bytes = fs::read(&manifest_path).map_err(io_err(&manifest_path))?;
        let manifest = Manifest::from_json(&bytes)?;
        let signature = dir.join(SIGNATURE_FILE);
        if signature.symlink_metadata().is_ok() {
            return Err(Error::InvalidBundle(format!(
                "{} is already signed ({SIGNATURE_FILE} exists); remove it to sign again",
                dir.display()
            )));
        }
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            state: Unsigned,
        })
    }

    /// Signs every file of the bundle with `key` (OpenSSF Model Signing
    /// v1.0) and writes `model.sig`.
    ///
    /// The directory is hashed first and must hold exactly the files the
    /// manifest lists, with the listed sizes and digests: a file added or
    /// changed since [`BundleWriter::write`] is refused rather than signed.
    ///
    /// # Errors
    /// [`Error::InvalidBundle`] when the directory differs from the
    /// manifest; the hashing, signing and writing errors of [`oms`].
    pub fn sign(self, key: &SigningKey) -> Result<Bundle<Signed>> {
        let _span = tracing::info_span!("sign_bundle", dir = %self.dir.display()).entered();
        let ignore = IgnorePaths::with_git_paths([SIGNATURE_FILE])?;
        let files = hash_dir(&self.dir, &ignore)?;
        let manifest_bytes = fs::read(self.dir.join(MANIFEST_FILE)).map_err(io_err(&self.dir.join(MANIFEST_FILE)))?;
        if Manifest::from_json(&manifest_bytes)? != self.manifest {
            return Err(Error::InvalidBundle(format!(
                "{MANIFEST_FILE} was changed after it was written"
            )));
        }
        check_listing(&self.manifest, &files)?;
        let name = self
            .manifest
            .name
            .as_ref()
            .map_or_else(|| dir_name(&self.dir), ToString::to_string);
        let signature = oms::sign_files(&name, &files, key, &ignore)?;
        signature.write(&self.dir.join(SIGNATURE_FILE))?;
        // Verifying what was just written gives the digest through the same
        // code every reader uses.
        let signed = oms::verify_signature(&signature, &TrustPolicy::from(key.verifying_key().clone()))?;
        tracing::info!(digest = %signed.digest(), "bundle signed");
        Ok(Bundle {
            dir: self.dir,
            manifest: self.manifest,
            state: Signed {
                digest: signed.digest(),
                signer: signed.signer().clone(),
            },
        })
    }
}

impl Bundle<Signed> {
    /// The bundle's identity: the OMS subject digest, SHA-256 over the
    /// signed file digests.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.state.digest
    }

    /// The key that signed it.
    #[must_use]
    pub fn signer(&self) -> &VerifyingKey {
        &self.state.signer
    }

    /// Packs the bundle's files (those the manifest lists, the manifest and
    /// the signature) into a new tar at `out`; see [`pack::pack_files`].
    ///
    /// # Errors
    /// As [`pack::pack_files`].
    pub fn pack(&self, out: impl AsRef<Path>) -> Result<()> {
        let out = out.as_ref();
        let mut files: Vec<String> = self.manifest.files.iter().map(|f| f.path.clone()).collect();
        files.push(MANIFEST_FILE.to_owned());
        files.push(SIGNATURE_FILE.to_owned());
        pack::pack_files(&self.dir, &files, out)
    }

    /// Opens a bundle directory or `.tar`, verifies it against `policy`
    /// and parses it (see the [module documentation](self) for the order).
    ///
    /// # Errors
    /// Unpacking errors ([`Error::UnsafeTarEntry`], ...); every signature
    /// and file error of [`oms`] ([`Error::UntrustedKey`],
    /// [`Error::FileModified`], [`Error::UnlistedFile`], ...);
    /// [`Error::FileTruncated`]; then parsing errors ([`Error::Core`] for a
    /// document of an unsupported version, [`Error::InvalidBundle`] for
    /// parts that do not fit together, [`Error::Train`] for weights that do
    /// not match `model.json`).
    pub fn open(path: impl AsRef<Path>, policy: &TrustPolicy) -> Result<VerifiedBundle> {
        let path = path.as_ref();
        let _span = tracing::info_span!("open_bundle", path = %path.display()).entered();
        let meta = fs::metadata(path).map_err(io_err(path))?;
        if meta.is_dir() {
            return open_dir(path, policy);
        }
        // Everything is read into memory before the temporary directory goes.
        let (_tmp, dir) = pack::unpack_to_temp(path, &UnpackLimits::default())?;
        open_dir(&dir, policy)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Checks that `files` (the hashed directory, signature left out) are the
/// manifest's files plus the manifest itself, with the listed sizes and digests.
fn check_listing(manifest: &Manifest, files: &[HashedFile]) -> Result<()> {
    let mut listed: BTreeMap<&str, &FileEntry> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for f in files {
        if f.path == MANIFEST_FILE {
            continue;
        }
        match listed.remove(f.path.as_str()) {
            None => {
                return Err(Error::InvalidBundle(format!(
                    "{} is not listed in {MANIFEST_FILE}",
                    f.path
                )));
            }
            Some(entry) if entry.size != f.size || entry.sha256 != f.digest => {
                return Err(Error::InvalidBundle(format!(
                    "{}: {} bytes with sha256 {}, {MANIFEST_FILE} lists {} bytes with sha256 {}",
                    f.path,
                    f.size,
                    f.digest.to_hex(),
                    entry.size,
                    entry.sha256.to_hex()
                )));
            }
            Some(_) => {}
        }
    }
    if !files.iter().any(|f| f.path == MANIFEST_FILE) {
        return Err(Error::InvalidBundle(format!("{MANIFEST_FILE} is missing")));
    }
    if let Some(path) = listed.keys().next() {
        return Err(Error::InvalidBundle(format!(
            "{path} is listed in {MANIFEST_FILE} but missing"
        )));
    }
    Ok(())
}

fn open_dir(dir: &Path, policy: &TrustPolicy) -> Result<VerifiedBundle> {
    let signature = SignatureFile::read(&dir.join(SIGNATURE_FILE))?;
    let signed = oms::verify_signature(&signature, policy)?;
    let verified = signed.check_dir(dir).map_err(|e| refine_truncation(e, dir, &signed))?;
    let mut files = BTreeMap::new();
    let mut digests = BTreeMap::new();
    for f in verified.files() {
        files.insert(f.path.clone(), read_verified(dir, f)?);
        digests.insert(f.path.clone(), (f.size, f.digest));
    }
    let bundle = parse(files, &digests, signed.digest(), signed.signer().clone())?;
    tracing::info!(digest = %bundle.digest, signer = bundle.signer.hint(), "bundle verified");
    Ok(bundle)
}

/// Turns a [`Error::FileModified`] into [`Error::FileTruncated`] when the
/// file is shorter than the manifest lists and the manifest itself is intact.
fn refine_truncation(err: Error, dir: &Path, signed: &SignedManifest) -> Error {
    let Error::FileModified { path, actual_size, .. } = &err else {
        return err;
    };
    let listed_size = || -> Option<u64> {
        let bytes = fs::read(dir.join(MANIFEST_FILE)).ok()?;
        if path == MANIFEST_FILE || signed.file_digest(MANIFEST_FILE)? != Digest::of(&bytes) {
            return None;
        }
        Manifest::from_json(&bytes).ok()?.file(path).map(|f| f.size)
    };
    match listed_size() {
        Some(expected) if expected > *actual_size => Error::FileTruncated {
            path: path.clone(),
            expected,
            found: *actual_size,
        },
        _ => err,
    }
}

/// Reads a verified file and checks it still has its verified digest.
fn read_verified(dir: &Path, file: &HashedFile) -> Result<Vec<u8>> {
    let path = dir.join(&file.path);
    let handle = File::open(&path).map_err(io_err(&path))?;
    let mut bytes = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0).min(1 << 30));
    handle
        .take(file.size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err(&path))?;
    let actual = Digest::of(&bytes);
    if actual != file.digest {
        return Err(Error::FileModified {
            path: file.path.clone(),
            expected: file.digest,
            actual,
            actual_size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn take(files: &mut BTreeMap<String, Vec<u8>>, name: &str) -> Result<Vec<u8>> {
    files
        .remove(name)
        .ok_or_else(|| Error::InvalidBundle(format!("{name} is missing")))
}

/// Parses the verified `files`; `verified` holds the size and digest each
/// was read and checked with ([`read_verified`]); the manifest entries are compared with those, not hashed a third time.
fn parse(
    mut files: BTreeMap<String, Vec<u8>>,
    verified: &BTreeMap<String, (u64, Digest)>,
    digest: Digest,
    signer: VerifyingKey,
) -> Result<VerifiedBundle> {
    let manifest = Manifest::from_json(&take(&mut files, MANIFEST_FILE)?)?;
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    let signed: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    if listed != signed {
        let extra: Vec<&&str> = signed.difference(&listed).collect();
        let missing: Vec<&&str> = listed.difference(&signed).collect();
        return Err(Error::InvalidBundle(format!(
            "{MANIFEST_FILE} does not list the signed files: unlisted {extra:?}, not signed {missing:?}"
        )));
    }
    for entry in &manifest.files {
        if verified.get(&entry.path) != Some(&(entry.size, entry.sha256)) {
            return Err(Error::InvalidBundle(format!(
                "{}: {MANIFEST_FILE} lists another size or digest than the signed file's",
                entry.path
            )));
        }
    }
    let schema = Schema::from_json_bytes(&take(&mut files, SCHEMA_FILE)?)?;
    let pipeline = FittedPipeline::from_json_bytes(&take(&mut files, PIPELINE_FILE)?)?;
    let model = ModelDoc::from_json(&take(&mut files, MODEL_FILE)?)?;
    check_parts(&schema, &pipeline, &model.spec)?;
    if manifest.digests.schema != schema.digest() || manifest.digests.pipeline != pipeline.digest() {
        return Err(Error::InvalidBundle(format!(
            "{MANIFEST_FILE} names other schema or pipeline digests than {SCHEMA_FILE} and {PIPELINE_FILE} have"
        )));
    }
    let weights = take(&mut files, WEIGHTS_FILE)?;
    check_safetensors(&model.spec, &weights, WEIGHTS_FILE)?;
    let run = files.remove(RUN_FILE).map(|b| RunRecord::from_json(&b)).transpose()?;
    let profile = files.remove(PROFILE_FILE).map(|b| Profile::from_json(&b)).transpose()?;
    let card = String::from_utf8(take(&mut files, CARD_FILE)?)
        .map_err(|_| Error::InvalidBundle(format!("{CARD_FILE} is not UTF-8")))?;
    Ok(VerifiedBundle {
        digest,
        signer,
        manifest,
        schema,
        pipeline,
        model,
        weights,
        run,
        profile,
        card,
    })
}

/// Checks that the schema, pipeline and model spec fit together: every
/// pipeline input is a schema feature of the same type, and the model takes
/// as many inputs as the pipeline gives.
fn check_parts(schema: &Schema, pipeline: &FittedPipeline, spec: &kiln_train::ModelSpec) -> Result<()> {
    for input in pipeline.input_schema().features() {
        match schema.feature(&input.name) {
            Some(f) if f.dtype == input.dtype => {}
            Some(f) => {
                return Err(Error::InvalidBundle(format!(
                    "the pipeline reads {:?} as {}, the schema declares {}",
                    input.name, input.dtype, f.dtype
                )));
            }
            None => {
                return Err(Error::InvalidBundle(format!(
                    "the pipeline reads {:?}, which is not in the schema",
                    input.name
                )));
            }
        }
    }
    if spec.n_inputs != pipeline.n_outputs() {
        return Err(Error::InvalidBundle(format!(
            "the model takes {} inputs, the pipeline gives {}",
            spec.n_inputs,
            pipeline.n_outputs()
        )));
    }
    Ok(())
}

/// A bundle whose signature and every file digest were verified, parsed and
/// checked. Only a verified bundle gives its schema, pipeline and model.
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    digest: Digest,
    signer: VerifyingKey,
    manifest: Manifest,
    schema: Schema,
    pipeline: FittedPipeline,
    model: ModelDoc,
    weights: Vec<u8>,
    run: Option<RunRecord>,
    profile: Option<Profile>,
    card: String,
}

impl VerifiedBundle {
    /// The bundle's identity: the OMS subject digest (SHA-256 over the
    /// signed file digests, in order). Registry, prediction logs and
    /// lineage name a bundle by it.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The trusted key that signed the bundle.
    #[must_use]
    pub fn signer(&self) -> &VerifyingKey {
        &self.signer
    }

    /// The manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The model's name, when the manifest names it.
    #[must_use]
    pub fn name(&self) -> Option<&ModelName> {
        self.manifest.name.as_ref()
    }

    /// The model's version, when the manifest names it.
    #[must_use]
    pub fn version(&self) -> Option<Version> {
        self.manifest.version
    }

    /// The feature schema.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The fitted transform pipeline.
    #[must_use]
    pub fn pipeline(&self) -> &FittedPipeline {
        &self.pipeline
    }

    /// The model's architecture.
    #[must_use]
    pub fn model_spec(&self) -> &kiln_train::ModelSpec {
        &self.model.spec
    }

    /// The weights (SafeTensors), as verified.
    #[must_use]
    pub fn weights(&self) -> &[u8] {
        &self.weights
    }

    /// The training run's record, when the bundle has one.
    #[must_use]
    pub fn run(&self) -> Option<&RunRecord> {
        self.run.as_ref()
    }

    /// The baseline profile, when the bundle has one.
    #[must_use]
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// `MODEL_CARD.md`.
    #[must_use]
    pub fn card_markdown(&self) -> &str {
        &self.card
    }

    /// Builds the model on `backend` from the verified weights and pairs it
    /// with the schema and pipeline.
    ///
    /// # Errors
    /// [`Error::Train`] when the backend is not available or the weights do
    /// not load.
    pub fn load(&self, backend: &Backend) -> Result<LoadedModel> {
        let _span = tracing::info_span!("load_model", digest = %self.digest, backend = %backend).entered();
        let model = TrainedModel::from_safetensors(self.model.spec.clone(), &self.weights, backend)?;
        LoadedModel::new(self, model)
    }
}

/// A verified bundle's model, ready to predict: it validates each request
/// against the schema, transforms it with the fitted pipeline and runs the
/// model.
///
/// Requests are checked against the schema's rules for the features the
/// pipeline reads, every violation rejecting; other fields (the label, ids)
/// are ignored. [`with_validator_config`](Self::with_validator_config)
/// changes that.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    validator: Validator,
    pipeline: FittedPipeline,
    model: TrainedModel,
    digest: Digest,
    name: Option<ModelName>,
    version: Option<Version>,
}

impl LoadedModel {
    fn new(bundle: &VerifiedBundle, model: TrainedModel) -> Result<Self> {
        let inputs: Vec<&str> = bundle
            .pipeline
            .input_schema()
            .features()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let request_schema = bundle.schema.select(&inputs)?;
        let config = ValidatorConfig::serving().with_unexpected(Unexpected::Ignore);
        Ok(Self {
            validator: Validator::new(request_schema, config)?,
            pipeline: bundle.pipeline.clone(),
            model,
            digest: bundle.digest,
            name: bundle.manifest.name.clone(),
            version: bundle.manifest.version,
        })
    }

    /// Validates requests with `config` instead.
    ///
    /// # Errors
    /// [`Error::Validate`] when `config` names a feature the model does not read.
    pub fn with_validator_config(mut self, config: ValidatorConfig) -> Result<Self> {
        self.validator = Validator::new(self.validator.schema().clone(), config)?;
        Ok(self)
    }

    /// Validates, transforms and predicts one record.
    ///
    /// # Errors
    /// [`Error::Validate`] when the record is rejected; [`Error::Transform`]
    /// or [`Error::Train`] when it cannot be transformed or predicted.
    pub fn predict(&self, record: &Record) -> Result<Predictions> {
        self.validator.validate_record(record)?;
        let x = self.pipeline.transform_record(record)?;
        Ok(self.model.predict_slice(&x, 1)?)
    }

    /// Validates, transforms and predicts every row of a batch.
    ///
    /// # Errors
    /// [`Error::RowsRejected`] when a row is rejected (nothing is predicted);
    /// otherwise as [`predict`](Self::predict).
    pub fn predict_batch(&self, batch: &Batch) -> Result<Predictions> {
        let outcome = self.validator.validate_batch(batch);
        let first_rejected = outcome.rejected_rows().next();
        if let Some(first_row) = first_rejected {
            return Err(Error::RowsRejected {
                rejected: outcome.rejected_count(),
                rows: batch.num_rows(),
                first_row,
                report: Box::new(outcome.report),
            });
        }
        let x = self.pipeline.transform_batch(batch)?;
        Ok(self.model.predict(&Features::from_matrix(x)?)?)
    }

    /// The schema requests are validated against: the bundle schema's
    /// features that the pipeline reads.
    #[must_use]
    pub fn request_schema(&self) -> &Schema {
        self.validator.schema()
    }

    /// The fitted pipeline.
    #[must_use]
    pub fn pipeline(&self) -> &FittedPipeline {
        &self.pipeline
    }

    /// The model.
    #[must_use]
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// The digest of the bundle it was loaded from.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The model's name, when the bundle names it.
    #[must_use]
    pub fn name(&self) -> Option<&ModelName> {
        self.name.as_ref()
    }

    /// The model's version, when the bundle names it.
    #[must_use]
    pub fn version(&self) -> Option<Version> {
        self.version
    }
}

/// Collects a model's parts and writes them as a bundle directory.
///
/// Required: the schema, the fitted pipeline and the trained model.
/// Optional: a run record (`run.json`; it also fills the model card's
/// training data and metrics), a baseline profile (`profile.json`), the
/// owner's part of the model card, the model's name and version.
#[derive(Clone, Debug)]
pub struct BundleWriter {
    schema: Schema,
    pipeline: FittedPipeline,
    model: TrainedModel,
    run: Option<RunRecord>,
    profile: Option<Profile>,
    card: ModelCard,
    name: Option<ModelName>,
    version: Option<Version>,
    created_at: Option<SystemTime>,
}

impl BundleWriter {
    /// A writer for `model`, behind `pipeline`, on data described by `schema`.
    ///
    /// # Errors
    /// [`Error::InvalidBundle`] when the pipeline reads a feature the schema
    /// does not declare (or as another type), or the model does not take the
    /// pipeline's outputs.
    pub fn new(schema: Schema, pipeline: FittedPipeline, model: TrainedModel) -> Result<Self> {
        check_parts(&schema, &pipeline, model.spec())?;
        Ok(Self {
            schema,
            pipeline,
            model,
            run: None,
            profile: None,
            card: ModelCard::default(),
            name: None,
            version: None,
            created_at: None,
        })
    }

    /// Names the model.
    #[must_use]
    pub fn with_name(mut self, name: ModelName) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the model's version.
    #[must_use]
    pub fn with_version(mut self, version: Version) -> Self {
        self.version = Some(version);
        self
    }

    /// Adds the training run's record.
    ///
    /// # Errors
    /// [`Error::InvalidBundle`] when the record names another pipeline digest.
    pub fn with_run(mut self, run: RunRecord) -> Result<Self> {
        if let Some(d) = run.pipeline_digest
            && d != self.pipeline.digest()
        {
            return Err(Error::InvalidBundle(format!(
                "the run record is of pipeline {d}, the bundle's is {}",
                self.pipeline.digest()
            )));
        }
        self.run = Some(run);
        Ok(self)
    }

    /// Adds a baseline profile.
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Profiles the training batch ([`Profile::from_batch`]) and the model's
    /// predictions on it, as the baseline.
    ///
    /// # Errors
    /// [`Error::Transform`] or [`Error::Train`] when the batch cannot be
    /// transformed or predicted.
    pub fn with_baseline(self, batch: &Batch) -> Result<Self> {
        let x = self.pipeline.transform_batch(batch)?;
        let predictions = self.model.predict(&Features::from_matrix(x)?)?;
        let profile = Profile::from_batch(batch).with_predictions(&predictions, self.model.class_names());
        Ok(self.with_profile(profile))
    }

    /// Sets the owner's part of the model card (intended use, owner,
    /// limitations, slices); what the run measured is added when writing.
    #[must_use]
    pub fn with_card(mut self, card: ModelCard) -> Self {
        self.card = card;
        self
    }

    /// Records `time` as the creation time instead of now (for reproducible bundles).
    #[must_use]
    pub fn with_created_at(mut self, time: SystemTime) -> Self {
        self.created_at = Some(time);
        self
    }

    /// The bundle's files and manifest, in memory.
    fn build(&self) -> Result<(Manifest, BTreeMap<&'static str, Vec<u8>>)> {
        let spec = self.model.spec();
        let mut files: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
        files.insert(SCHEMA_FILE, self.schema.to_json().into_bytes());
        files.insert(PIPELINE_FILE, self.pipeline.to_json().into_bytes());
        files.insert(MODEL_FILE, ModelDoc::new(spec).to_json().into_bytes());
        files.insert(WEIGHTS_FILE, self.model.to_safetensors()?);
        if let Some(run) = &self.run {
            files.insert(RUN_FILE, run.to_json().into_bytes());
        }
        if let Some(profile) = &self.profile {
            files.insert(PROFILE_FILE, profile.to_json().into_bytes());
        }
        let card = match &self.run {
            Some(run) => self.card.clone().with_run(run),
            None => self.card.clone(),
        };
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            name: self.name.clone(),
            version: self.version,
            created_at: rfc3339(self.created_at.unwrap_or_else(SystemTime::now)),
            kiln_version: env!("CARGO_PKG_VERSION").to_owned(),
            files: Vec::new(),
            signature: IoSignature::new(self.pipeline.input_schema(), spec),
            model: ModelInfo::of(&self.model),
            digests: Digests {
                schema: self.schema.digest(),
                pipeline: self.pipeline.digest(),
                training_data: self.run.as_ref().map(|r| r.data.matrix_sha256),
            },
            card,
        };
        // The card is rendered from the manifest but does not show its file
        // list, so listing the card afterwards keeps the two consistent.
        files.insert(CARD_FILE, render_markdown(&manifest).into_bytes());
        manifest.files = files.iter().map(|(name, bytes)| FileEntry::of(*name, bytes)).collect();
        manifest.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((manifest, files))
    }

    /// Writes the bundle into the new directory `dir` (it must not exist).
    /// The files are written into a hidden sibling directory that is renamed
    /// to `dir` once complete, so the bundle appears whole or not at all.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when `dir` exists; [`Error::Train`] when the
    /// weights cannot be read back from the device; [`Error::Io`].
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<Bundle<Unsigned>> {
        let dir = dir.as_ref();
        let _span = tracing::info_span!("write_bundle", dir = %dir.display()).entered();
        if dir.symlink_metadata().is_ok() {
            return Err(Error::AlreadyExists { path: dir.to_owned() });
        }
        let (manifest, files) = self.build()?;
        let manifest_json = manifest.to_json();
        pack::write_fresh_dir(dir, ".kiln-bundle-", |staging| {
            let all = files
                .iter()
                .map(|(name, bytes)| (*name, bytes.as_slice()))
                .chain([(MANIFEST_FILE, manifest_json.as_bytes())]);
            for (name, bytes) in all {
                let path = staging.join(name);
                let mut file = File::create_new(&path).map_err(io_err(&path))?;
                file.write_all(bytes).map_err(io_err(&path))?;
                file.sync_all().map_err(io_err(&path))?;
            }
            Ok(())
        })?;
        tracing::info!(files = manifest.files.len() + 1, "bundle written");
        Ok(Bundle {
            dir: dir.to_owned(),
            manifest,
            state: Unsigned,
        })
    }
}
