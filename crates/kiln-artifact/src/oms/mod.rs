//! OpenSSF Model Signing (OMS) v1.0 in key mode: signing a model directory
//! and verifying it, interoperable with the `model-signing` Python package
//! (1.1) and its `model_signing sign key` / `verify key` commands.
//!
//! # The signature
//!
//! A signature file (`model.sig`) is a Sigstore bundle
//! (`application/vnd.dev.sigstore.bundle.v0.3+json`) whose verification
//! material names the public key by its [hint](crate::keys::VerifyingKey::hint)
//! and whose DSSE envelope signs, over DSSE's pre-authentication encoding,
//! an in-toto Statement v1:
//!
//! - `predicateType` `https://model_signing/signature/v1.0`;
//! - `predicate.serialization`: `{"method": "files", "hash_type": "sha256",
//!   "allow_symlinks": false, "ignore_paths": [...]}` (the paths left out,
//!   always including git's [`GIT_PATHS`](crate::hashing::GIT_PATHS));
//! - `predicate.resources`: one `{name, algorithm: "sha256", digest}` per
//!   file, in the reference implementation's order
//!   ([`canonical_cmp`]);
//! - one `subject`, named after the model directory, whose `sha256` is the
//!   SHA-256 of the concatenated raw file digests: the model's **digest**
//!   ([`SignedManifest::digest`]).
//!
//! # Verifying
//!
//! Verification is split in two so that a caller (the bundle layer) can
//! refine errors in between:
//!
//! 1. [`verify_signature`] checks the signature file against a
//!    [`TrustPolicy`] and returns the [`SignedManifest`]: the list of signed
//!    files it now trusts;
//! 2. [`SignedManifest::check_dir`] hashes the directory and compares.
//!
//! [`verify_dir`] does both. Every failure has its own [`Error`] variant,
//! checked in this order:
//!
//! | what is wrong | error |
//! |---|---|
//! | not a (key-mode, `files`, SHA-256) OMS signature | [`Error::MalformedSignature`], [`Error::UnsupportedSignature`] |
//! | an absolute or `..` file name | [`Error::UnsafeResourceName`] |
//! | file list reordered or a name repeated | [`Error::ResourcesNotCanonical`] |
//! | subject digest not that of the file list | [`Error::SubjectDigestMismatch`] |
//! | the signature names a trusted key but does not verify | [`Error::BadSignature`] |
//! | it verifies under a trusted key, but names another | [`Error::KeyHintMismatch`] |
//! | no trusted key made it | [`Error::UntrustedKey`] |
//! | two files' contents exchanged | [`Error::FilesSwapped`] |
//! | a file renamed | [`Error::FileRenamed`] |
//! | a file missing / added | [`Error::MissingFile`] / [`Error::UnlistedFile`] |
//! | a file's contents changed (or cut short) | [`Error::FileModified`] (with the size found) |
//!
//! The structural checks run before the signature check; they only parse
//! JSON of bounded size ([`MAX_SIGNATURE_BYTES`]).
//!
//! ```
//! use kiln_artifact::keys::{KeyAlgorithm, SigningKey};
//! use kiln_artifact::oms::{self, SignOptions, TrustPolicy};
//! # let dir = tempfile::tempdir()?;
//! # let model = dir.path();
//! std::fs::write(model.join("weights.bin"), b"\x00\x01\x02")?;
//! std::fs::write(model.join("config.json"), b"{}")?;
//!
//! let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let sig = oms::sign_dir(model, &key, &SignOptions::default())?;
//! sig.write(&model.join("model.sig"))?;
//!
//! let trust = TrustPolicy::from(key.verifying_key().clone());
//! let verified = oms::verify_dir(model, &model.join("model.sig"), &trust)?;
//! assert_eq!(verified.files().len(), 2);
//!
//! std::fs::write(model.join("weights.bin"), b"\x00\x01\x03")?;
//! let err = oms::verify_dir(model, &model.join("model.sig"), &trust).unwrap_err();
//! assert!(matches!(err, kiln_artifact::Error::FileModified { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Interoperability and limits
//!
//! - Kiln's ECDSA signatures verify with `model_signing verify key`, and
//!   Kiln verifies what `model_signing sign key` writes (both are tested).
//!   Ed25519 signatures have the same shape but only Kiln verifies them.
//! - Certificate and Sigstore (keyless) modes, shard serialization, BLAKE2/3
//!   and the 0.2 predicate are refused with [`Error::UnsupportedSignature`].
//! - Symbolic links are never followed, whatever `allow_symlinks` says.
//! - Names may be in the reference implementation's order or in plain
//!   code-point order (the OMS text's wording); Kiln writes the former.
//! - Exactly one signature is required and accepted: a DSSE envelope with
//!   several signatures is refused. A threshold ("N of M keys") policy is
//!   not implemented.

mod check;
mod statement;
mod wire;

use std::path::Path;

use kiln_core::Digest;

pub use wire::{MAX_SIGNATURE_BYTES, SignatureFile};

use crate::hashing::{HashedFile, IgnorePaths, canonical_cmp, hash_dir};
use crate::keys::{SigningKey, VerifyingKey};
use crate::{Error, Result};
use statement::Statement;

/// The signature file name OMS tools use, left out of the signature by
/// default.
pub const SIGNATURE_FILE: &str = "model.sig";

/// The keys whose signatures are accepted.
///
/// Today a signature file must hold exactly one signature, made by one of
/// these keys. A policy that asks for several signatures from different keys
/// is not implemented.
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    keys: Vec<VerifyingKey>,
}

impl TrustPolicy {
    /// Trusts each of `keys` (duplicates are kept once).
    ///
    /// # Errors
    /// [`Error::EmptyTrustPolicy`] when `keys` is empty.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self> {
        let mut unique: Vec<VerifyingKey> = Vec::new();
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        if unique.is_empty() {
            return Err(Error::EmptyTrustPolicy);
        }
        Ok(Self { keys: unique })
    }

    /// The trusted keys.
    #[must_use]
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Whether `key` is trusted.
    #[must_use]
    pub fn trusts(&self, key: &VerifyingKey) -> bool {
        self.keys.contains(key)
    }
}

impl From<VerifyingKey> for TrustPolicy {
    fn from(key: VerifyingKey) -> Self {
        Self { keys: vec![key] }
    }
}

/// How [`sign_dir`] signs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignOptions {
    /// The subject name; `None` uses the directory's name (as OMS does). It
    /// is informational: verification does not depend on it.
    pub model_name: Option<String>,
    /// Paths, relative to the model directory, to leave out of the signature
    /// besides git's ([`GIT_PATHS`](crate::hashing::GIT_PATHS)). Default:
    /// [`SIGNATURE_FILE`].
    pub ignore_paths: Vec<String>,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            model_name: None,
            ignore_paths: vec![SIGNATURE_FILE.to_owned()],
        }
    }
}

impl SignOptions {
    /// Sets the subject name.
    #[must_use]
    pub fn with_model_name(mut self, name: impl Into<String>) -> Self {
        self.model_name = Some(name.into());
        self
    }

    /// Adds a path to leave out.
    #[must_use]
    pub fn with_ignore_path(mut self, path: impl Into<String>) -> Self {
        self.ignore_paths.push(path.into());
        self
    }
}

/// Hashes every file of `dir` and signs the list (without writing anything:
/// see [`SignatureFile::write`]).
///
/// # Errors
/// [`Error::InvalidIgnorePath`]; [`Error::EmptyModel`] when no file is left
/// to sign; the walk's errors ([`Error::Symlink`], [`Error::SpecialFile`],
/// [`Error::NonUtf8Path`], [`Error::Io`]); [`Error::Crypto`].
pub fn sign_dir(dir: &Path, key: &SigningKey, options: &SignOptions) -> Result<SignatureFile> {
    let _span = tracing::info_span!("oms_sign", dir = %dir.display(), key = key.verifying_key().hint()).entered();
    let ignore = IgnorePaths::with_git_paths(&options.ignore_paths)?;
    let files = hash_dir(dir, &ignore)?;
    if files.is_empty() {
        return Err(Error::EmptyModel { dir: dir.to_owned() });
    }
    let name = match &options.model_name {
        Some(name) => name.clone(),
        None => dir_name(dir),
    };
    sign_files(&name, &files, key, &ignore)
}

/// The last component of `dir` (of its absolute form for `.` or `..`).
fn dir_name(dir: &Path) -> String {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    name(dir)
        .or_else(|| dir.canonicalize().ok().and_then(|p| name(&p)))
        .unwrap_or_else(|| "model".to_owned())
}

/// Signs a list of already hashed files (for a caller that hashed them
/// itself, e.g. to record sizes): `ignore_paths` is recorded as the paths
/// left out, and the files are put in canonical order.
///
/// # Errors
/// [`Error::MalformedSignature`] when `files` is empty;
/// [`Error::UnsafeResourceName`] for a path that is not a clean relative
/// path; [`Error::ResourcesNotCanonical`] for a path listed twice;
/// [`Error::Crypto`].
pub fn sign_files(
    model_name: &str,
    files: &[HashedFile],
    key: &SigningKey,
    ignore_paths: &IgnorePaths,
) -> Result<SignatureFile> {
    if !key.algorithm().is_oms_interoperable() {
        tracing::warn!(algorithm = %key.algorithm(), "this signature will verify with Kiln only, not with OMS tools");
    }
    let mut sorted: Vec<(&str, Digest)> = files.iter().map(|f| (f.path.as_str(), f.digest)).collect();
    sorted.sort_by(|a, b| canonical_cmp(a.0, b.0));
    let payload = statement::build_payload(model_name, &sorted, ignore_paths)?;
    // Parsing what was just built holds Kiln's signer to its verifier's rules.
    let statement = Statement::parse(&payload)?;
    let signature = key.sign(&wire::pae(wire::PAYLOAD_TYPE, &payload))?;
    tracing::info!(files = sorted.len(), digest = %statement.subject_digest, "signed model");
    Ok(SignatureFile {
        hint: Some(key.verifying_key().hint().to_owned()),
        payload_type: wire::PAYLOAD_TYPE.to_owned(),
        payload,
        signatures: vec![signature],
        statement,
    })
}

/// Checks a signature file against `policy` (see the module docs for the
/// order of checks) and returns the manifest it signs.
///
/// # Errors
/// [`Error::UnsupportedSignature`] for more than one signature;
/// [`Error::BadSignature`], [`Error::KeyHintMismatch`],
/// [`Error::UntrustedKey`].
pub fn verify_signature(signature: &SignatureFile, policy: &TrustPolicy) -> Result<SignedManifest> {
    let [sig] = signature.signatures.as_slice() else {
        return Err(Error::UnsupportedSignature {
            reason: format!(
                "{} signatures in the envelope; Kiln requires exactly one",
                signature.signatures.len()
            ),
        });
    };
    let message = wire::pae(&signature.payload_type, &signature.payload);
    let verifies = |key: &&VerifyingKey| key.verify(&message, sig).is_ok();
    let hint = signature.hint.as_deref().unwrap_or_default();
    let named = policy.keys.iter().find(|k| k.hint() == hint);
    let signer = match (named, policy.keys.iter().find(verifies)) {
        (Some(named), Some(signer)) if named == signer => signer,
        (_, Some(signer)) if signature.hint.is_none() => signer,
        (_, Some(signer)) => {
            return Err(Error::KeyHintMismatch {
                hint: hint.to_owned(),
                key: signer.hint().to_owned(),
            });
        }
        (Some(named), None) => {
            return Err(Error::BadSignature {
                hint: named.hint().to_owned(),
            });
        }
        (None, None) => return Err(Error::UntrustedKey { hint: hint.to_owned() }),
    };
    let st = &signature.statement;
    tracing::debug!(key = signer.hint(), digest = %st.subject_digest, "signature verified");
    Ok(SignedManifest {
        model_name: st.model_name.clone(),
        digest: st.subject_digest,
        files: st.files.clone(),
        ignore_paths: st.ignore_paths.clone(),
        signer: signer.clone(),
    })
}

/// The file list of a signature that verified: what the directory must hold.
#[derive(Clone, Debug)]
pub struct SignedManifest {
    model_name: String,
    digest: Digest,
    files: Vec<(String, Digest)>,
    ignore_paths: IgnorePaths,
    signer: VerifyingKey,
}

impl SignedManifest {
    /// The model's digest: the OMS subject digest, SHA-256 over the signed
    /// file digests in order.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The subject name the signer gave (informational).
    #[must_use]
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The signed files (relative path, digest), in the signature's order.
    #[must_use]
    pub fn files(&self) -> &[(String, Digest)] {
        &self.files
    }

    /// The signed digest of `path`, if it is listed.
    #[must_use]
    pub fn file_digest(&self, path: &str) -> Option<Digest> {
        self.files.iter().find(|(p, _)| p == path).map(|(_, d)| *d)
    }

    /// The paths the signature leaves out, as it records them.
    #[must_use]
    pub fn ignore_paths(&self) -> &IgnorePaths {
        &self.ignore_paths
    }

    /// The trusted key that made the signature.
    #[must_use]
    pub fn signer(&self) -> &VerifyingKey {
        &self.signer
    }

    /// Hashes `dir` (leaving out the signature's ignore paths and git's) and
    /// checks that it holds exactly the signed files.
    ///
    /// # Errors
    /// The file errors in the module docs' table; the walk's errors.
    pub fn check_dir(&self, dir: &Path) -> Result<VerifiedFiles> {
        self.check_dir_ignoring(dir, &IgnorePaths::default())
    }

    /// Like [`check_dir`](Self::check_dir), also leaving out `extra` (e.g.
    /// where the signature file itself lies, as `model_signing verify` does).
    ///
    /// # Errors
    /// As [`check_dir`](Self::check_dir).
    pub fn check_dir_ignoring(&self, dir: &Path, extra: &IgnorePaths) -> Result<VerifiedFiles> {
        let _span = tracing::info_span!("oms_check_dir", dir = %dir.display(), digest = %self.digest).entered();
        let ignore = IgnorePaths::with_git_paths(self.ignore_paths.iter().chain(extra.iter()))?;
        let actual = hash_dir(dir, &ignore)?;
        check::compare(&self.files, &actual)?;
        // `actual` holds exactly the signed files; list them in signed order.
        let order: std::collections::HashMap<&str, usize> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.as_str(), i))
            .collect();
        let mut files = actual;
        files.sort_by_key(|f| order.get(f.path.as_str()).copied());
        Ok(VerifiedFiles {
            model_name: self.model_name.clone(),
            digest: self.digest,
            files,
            signer: self.signer.clone(),
        })
    }
}

/// A model directory whose files all matched a verified signature.
#[derive(Clone, Debug)]
pub struct VerifiedFiles {
    model_name: String,
    digest: Digest,
    files: Vec<HashedFile>,
    signer: VerifyingKey,
}

impl VerifiedFiles {
    /// The model's digest (see [`SignedManifest::digest`]).
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The subject name the signer gave (informational).
    #[must_use]
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The verified files with digests and sizes, in the signature's order.
    #[must_use]
    pub fn files(&self) -> &[HashedFile] {
        &self.files
    }

    /// The verified file at `path`, if any.
    #[must_use]
    pub fn file(&self, path: &str) -> Option<&HashedFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The trusted key that made the signature.
    #[must_use]
    pub fn signer(&self) -> &VerifyingKey {
        &self.signer
    }
}

/// Reads the signature file at `signature`, verifies it against `policy`
/// and checks `dir` against it. A signature file inside `dir` is left out of
/// the check.
///
/// # Errors
/// As [`SignatureFile::read`], [`verify_signature`] and
/// [`SignedManifest::check_dir`].
pub fn verify_dir(dir: &Path, signature: &Path, policy: &TrustPolicy) -> Result<VerifiedFiles> {
    let manifest = verify_signature(&SignatureFile::read(signature)?, policy)?;
    let extra = match (dir.canonicalize(), signature.canonicalize()) {
        (Ok(dir), Ok(sig)) => match sig.strip_prefix(&dir).ok().and_then(Path::to_str) {
            Some(rel) if !rel.is_empty() => IgnorePaths::new([rel.replace(std::path::MAIN_SEPARATOR, "/")])?,
            _ => IgnorePaths::default(),
        },
        _ => IgnorePaths::default(),
    };
    manifest.check_dir_ignoring(dir, &extra)
}
