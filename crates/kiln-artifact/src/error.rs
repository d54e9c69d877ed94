//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while writing, signing, packing, unpacking,
/// verifying or loading a bundle.
///
/// Verification failures each have their own variant, so that a caller (and
/// `kiln verify`) can say exactly what failed: a modified file, an unlisted
/// file, a signature from an untrusted key, ...
///
/// Where an error wraps another (I/O, JSON, kiln-core), the inner error is its
/// [`source`](std::error::Error::source) and not repeated in the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: I/O error", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A JSON document could not be parsed or written.
    #[error("{what}: invalid JSON")]
    Json {
        /// Which document.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// An error from kiln-core (schema, format tags, ids).
    #[error(transparent)]
    Core(#[from] kiln_core::Error),

    /// An error from kiln-transform (fitted pipeline).
    #[error(transparent)]
    Transform(#[from] kiln_transform::Error),

    /// An error from kiln-train (model spec, weights).
    #[error(transparent)]
    Train(#[from] kiln_train::Error),

    /// A record was rejected by the model's schema (validation before predicting).
    #[error(transparent)]
    Validate(#[from] kiln_validate::Error),

    /// Rows of a batch were rejected by the model's schema; the report names
    /// the features and the first offending rows.
    #[error("{rejected} of {rows} rows rejected by the model's schema (first: row {first_row})")]
    RowsRejected {
        /// Rows rejected.
        rejected: usize,
        /// Rows in the batch.
        rows: usize,
        /// The first rejected row (0-based).
        first_row: usize,
        /// The validation report of the batch.
        report: Box<kiln_validate::ValidationReport>,
    },

    /// The place a bundle (or an unpacked tar, or a packed tar) would be
    /// written to already exists; bundles are never overwritten.
    #[error("{}: already exists; bundles are written to a fresh path", path.display())]
    AlreadyExists {
        /// The path.
        path: PathBuf,
    },

    /// A tar entry was refused while packing or unpacking a bundle.
    #[error("tar entry {entry:?} refused: {reason}")]
    UnsafeTarEntry {
        /// The entry's path as written in the archive (cut to 200 characters).
        entry: String,
        /// Why it was refused.
        reason: crate::pack::UnsafeEntry,
    },

    /// A signed file is shorter than the (verified) manifest says: the
    /// bundle was cut off, e.g. by an interrupted copy or download.
    #[error("{path}: truncated: {found} bytes, the manifest lists {expected}")]
    FileTruncated {
        /// The file, relative to the bundle root.
        path: String,
        /// The size the manifest lists.
        expected: u64,
        /// The size found.
        found: u64,
    },

    /// The bundle's parts, although signed, do not fit together: the
    /// manifest's file list differs from the signed files, a required file
    /// is missing, the model's inputs do not match the pipeline's outputs, ...
    #[error("invalid bundle: {0}")]
    InvalidBundle(String),

    // ---- keys (src/keys.rs) ----
    /// A key, or a key algorithm name, could not be read.
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// What was being read: "private key", "public key", "key algorithm".
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A cryptographic operation failed (no randomness from the operating
    /// system, an unusable ECDSA nonce).
    #[error("{operation} failed: {reason}")]
    Crypto {
        /// "key generation" or "signing".
        operation: &'static str,
        /// The underlying failure.
        reason: String,
    },

    // ---- hashing a model directory (src/hashing.rs) ----
    /// A symbolic link was found in a model directory (or is the directory):
    /// OMS signing with `allow_symlinks: false` neither follows nor signs links.
    #[error("{}: symbolic link; model signing does not follow links (replace it with the file it points to)", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },

    /// A socket, FIFO or device was found in a model directory.
    #[error("{}: not a regular file or directory; a model holds only files", path.display())]
    SpecialFile {
        /// The special file.
        path: PathBuf,
    },

    /// A file name in a model directory is not UTF-8, so it cannot be named in
    /// a signature.
    #[error("{}: file name is not UTF-8", path.display())]
    NonUtf8Path {
        /// The file.
        path: PathBuf,
    },

    /// A path to leave out of a signature is not a safe relative path.
    #[error("ignore path {path:?}: {reason}")]
    InvalidIgnorePath {
        /// The path as given (cut to 200 characters).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// There is nothing to sign: no file is left once ignored paths are left out.
    #[error("{}: no files to sign", dir.display())]
    EmptyModel {
        /// The model directory.
        dir: PathBuf,
    },

    // ---- the signature file (src/oms) ----
    /// The signature file is not a well-formed OMS signature: not a Sigstore
    /// bundle, bad base64, a payload that is not an OMS in-toto statement, a
    /// bad digest, ...
    #[error("malformed model signature: {reason}")]
    MalformedSignature {
        /// What is wrong.
        reason: String,
    },

    /// The signature is well formed but uses an OMS feature Kiln does not
    /// implement (certificate or Sigstore mode, shard serialization, a hash
    /// other than SHA-256, several signatures, the v0.2 predicate).
    #[error("unsupported model signature: {reason}")]
    UnsupportedSignature {
        /// What is not supported.
        reason: String,
    },

    /// A file name in the signed manifest is absolute, empty, or has `.`,
    /// `..` or empty components.
    #[error("signed manifest names an unsafe path {name:?}")]
    UnsafeResourceName {
        /// The name (cut to 200 characters).
        name: String,
    },

    /// The signed manifest's files are not in canonical order (or one is
    /// listed twice): the payload was edited, or not written by an OMS signer.
    #[error("signed manifest is not in canonical order: {after:?} is listed after {before:?}")]
    ResourcesNotCanonical {
        /// The earlier entry.
        before: String,
        /// The entry that should not follow it.
        after: String,
    },

    /// The statement's subject digest is not the digest of its file digests.
    #[error("signed manifest is inconsistent: subject digest {signed}, but its files hash to {computed}")]
    SubjectDigestMismatch {
        /// The digest the statement states.
        signed: String,
        /// The digest its file list gives.
        computed: String,
    },

    /// The signature was made for a trusted key (by its hint) but does not
    /// verify: the signature or the signed payload was altered.
    #[error("signature does not verify under the trusted key {hint}")]
    BadSignature {
        /// The hint of the key it was checked with.
        hint: String,
    },

    /// The signature names a key that is not trusted, and it verifies under
    /// no trusted key.
    #[error("signature was not made by a trusted key (it names key {hint:?})")]
    UntrustedKey {
        /// The key hint the signature names ("" when it names none).
        hint: String,
    },

    /// The signature verifies under a trusted key, but names another key:
    /// the hint in the signature file was altered.
    #[error("signature names key {hint:?} but was made by the trusted key {key}")]
    KeyHintMismatch {
        /// The hint the signature file names.
        hint: String,
        /// The hint of the trusted key it verifies under.
        key: String,
    },

    /// A trust policy was built without any key.
    #[error("a trust policy needs at least one trusted key")]
    EmptyTrustPolicy,

    // ---- checking files against a verified signature (src/oms) ----
    /// A signed file's contents differ from what was signed.
    #[error("{path}: modified since it was signed (now {actual}, {actual_size} bytes; signed {expected})")]
    FileModified {
        /// The file, relative to the model directory.
        path: String,
        /// The signed digest.
        expected: kiln_core::Digest,
        /// The digest of the file now.
        actual: kiln_core::Digest,
        /// The file's size now, in bytes (the signature records no sizes; a
        /// caller that knows the signed size can tell a truncation).
        actual_size: u64,
    },

    /// A file is present that the signature does not list.
    #[error("{path}: not covered by the signature (added after signing)")]
    UnlistedFile {
        /// The file, relative to the model directory.
        path: String,
    },

    /// A file the signature lists is missing.
    #[error("{path}: signed file is missing")]
    MissingFile {
        /// The file, relative to the model directory.
        path: String,
    },

    /// A signed file was renamed: it is missing, and an unlisted file has its
    /// signed contents.
    #[error("signed file {from} was renamed to {to}")]
    FileRenamed {
        /// The signed name.
        from: String,
        /// The name it has now.
        to: String,
    },

    /// Two signed files swapped contents.
    #[error("signed files {a} and {b} were swapped")]
    FilesSwapped {
        /// One file.
        a: String,
        /// The other.
        b: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
