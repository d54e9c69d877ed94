//! The signature file on disk: a Sigstore bundle (v0.3 JSON) holding a DSSE
//! envelope, as `model-signing` writes it in key mode.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::statement::Statement;
use crate::{Error, Result};

/// `mediaType` of the Sigstore bundles OMS writes.
pub(crate) const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// DSSE `payloadType` of an in-toto statement.
pub(crate) const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The largest signature file read, in bytes (a signature lists about 150
/// bytes per file, so this allows a couple of hundred thousand files).
pub const MAX_SIGNATURE_BYTES: u64 = 32 << 20;

/// Base64 as protobuf's JSON mapping reads it: padding optional.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// The URL-safe alphabet, which protobuf's JSON mapping also accepts.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An OMS signature file (`model.sig`): parsed, its payload statement
/// structurally checked, but not yet verified.
///
/// Made by [`sign_dir`](super::sign_dir) / [`sign_files`](super::sign_files)
/// or read with [`SignatureFile::from_json`]; verified with
/// [`verify_signature`](super::verify_signature).
#[derive(Clone)]
pub struct SignatureFile {
    pub(crate) hint: Option<String>,
    pub(crate) payload_type: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) signatures: Vec<Vec<u8>>,
    pub(crate) statement: Statement,
}

impl fmt::Debug for SignatureFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureFile")
            .field("hint", &self.hint)
            .field("model_name", &self.statement.model_name)
            .field("digest", &self.statement.subject_digest)
            .field("files", &self.statement.files.len())
            .field("signatures", &self.signatures.len())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InBundle {
    media_type: String,
    verification_material: InMaterial,
    dsse_envelope: Option<InEnvelope>,
    message_signature: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InMaterial {
    public_key: Option<InPublicKey>,
    x509_certificate_chain: Option<IgnoredAny>,
    certificate: Option<IgnoredAny>,
    tlog_entries: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize)]
struct InPublicKey {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<InSignature>,
}

#[derive(Deserialize)]
struct InSignature {
    sig: String,
    // OMS: absent, "" or null, and never used.
    #[allow(dead_code)]
    keyid: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutBundle<'a> {
    media_type: &'static str,
    verification_material: OutMaterial<'a>,
    dsse_envelope: OutEnvelope<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutMaterial<'a> {
    public_key: OutPublicKey<'a>,
    tlog_entries: [(); 0],
}

#[derive(Serialize)]
struct OutPublicKey<'a> {
    hint: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutEnvelope<'a> {
    payload: String,
    payload_type: &'a str,
    signatures: Vec<OutSignature>,
}

#[derive(Serialize)]
struct OutSignature {
    sig: String,
    keyid: &'static str,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedSignature { reason: reason.into() }
}

fn unsupported(reason: impl Into<String>) -> Error {
    Error::UnsupportedSignature { reason: reason.into() }
}

fn decode_base64(text: &str, what: &str) -> Result<Vec<u8>> {
    let engine = if text.contains(['-', '_']) {
        &URL_SAFE_LENIENT
    } else {
        &STANDARD_LENIENT
    };
    engine
        .decode(text)
        .map_err(|e| malformed(format!("{what} is not valid base64: {e}")))
}

/// DSSE's pre-authentication encoding: what the signature covers.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let head = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len());
    let mut out = Vec::with_capacity(head.len() + payload.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(payload);
    out
}

impl SignatureFile {
    /// Parses a signature file.
    ///
    /// Checks everything that needs no key: the Sigstore bundle structure
    /// (media type v0.3, key mode, one DSSE envelope of an in-toto payload),
    /// and the payload statement (OMS v1.0 predicate, `files` serialization
    /// with SHA-256, safe and canonically ordered file names, a subject digest
    /// that matches them). Unknown fields are ignored. Bundles of
    /// `model-signing` before 1.1 (no key hint, `keyid: null`, no
    /// `ignore_paths`) are accepted.
    ///
    /// # Errors
    /// [`Error::MalformedSignature`] for anything malformed or over
    /// [`MAX_SIGNATURE_BYTES`]; [`Error::UnsupportedSignature`] for OMS
    /// features Kiln does not implement; [`Error::UnsafeResourceName`],
    /// [`Error::ResourcesNotCanonical`], [`Error::SubjectDigestMismatch`]
    /// for a bad file list.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
            return Err(malformed(format!(
                "{} bytes, over the {MAX_SIGNATURE_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let bundle: InBundle =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not a Sigstore bundle: {e}")))?;
        if bundle.media_type != BUNDLE_MEDIA_TYPE {
            return Err(malformed(format!(
                "media type {:?}, expected {BUNDLE_MEDIA_TYPE:?}",
                bundle.media_type.chars().take(100).collect::<String>()
            )));
        }
        let material = bundle.verification_material;
        if material.x509_certificate_chain.is_some() || material.certificate.is_some() {
            return Err(unsupported(
                "certificate or Sigstore (keyless) signing; Kiln verifies key-mode signatures",
            ));
        }
        let public_key = material
            .public_key
            .ok_or_else(|| malformed("verification material names no public key"))?;
        if material.tlog_entries.is_some_and(|t| !t.is_empty()) {
            tracing::warn!(
                "signature carries transparency-log entries; key mode does not use them and Kiln ignores them"
            );
        }
        let hint = public_key.hint.filter(|h| !h.is_empty());
        if hint.is_none() {
            tracing::warn!(
                "signature names no public-key hint (written by model-signing before 1.1); every trusted key will be tried"
            );
        }
        let envelope = match (bundle.dsse_envelope, bundle.message_signature) {
            (Some(envelope), _) => envelope,
            (None, Some(_)) => return Err(unsupported("a message signature instead of a DSSE envelope")),
            (None, None) => return Err(malformed("no DSSE envelope")),
        };
        if envelope.payload_type != PAYLOAD_TYPE {
            return Err(malformed(format!(
                "payload type {:?}, expected {PAYLOAD_TYPE:?}",
                envelope.payload_type.chars().take(100).collect::<String>()
            )));
        }
        if envelope.signatures.is_empty() {
            return Err(malformed("the DSSE envelope holds no signature"));
        }
        let payload = decode_base64(&envelope.payload, "payload")?;
        let signatures = envelope
            .signatures
            .iter()
            .map(|s| decode_base64(&s.sig, "signature"))
            .collect::<Result<Vec<_>>>()?;
        let statement = Statement::parse(&payload)?;
        Ok(Self {
            hint,
            payload_type: envelope.payload_type,
            payload,
            signatures,
            statement,
        })
    }

    /// Reads and parses a signature file (see [`SignatureFile::from_json`]).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read; as [`SignatureFile::from_json`].
    pub fn read(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut bytes = Vec::new();
        File::open(path)
            .map_err(io)?
            .take(MAX_SIGNATURE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::from_json(&bytes)
    }

    /// The signature file's JSON, as `model-signing` lays it out (compact,
    /// with a final newline).
    ///
    /// # Errors
    /// [`Error::Json`] if serialization fails (it does not in practice).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let bundle = OutBundle {
            media_type: BUNDLE_MEDIA_TYPE,
            verification_material: OutMaterial {
                public_key: OutPublicKey {
                    hint: self.hint.as_deref().unwrap_or_default(),
                },
                tlog_entries: [],
            },
            dsse_envelope: OutEnvelope {
                payload: STANDARD.encode(&self.payload),
                payload_type: &self.payload_type,
                signatures: self
                    .signatures
                    .iter()
                    .map(|s| OutSignature {
                        sig: STANDARD.encode(s),
                        keyid: "",
                    })
                    .collect(),
            },
        };
        let mut out = serde_json::to_vec(&bundle).map_err(|source| Error::Json {
            what: "model signature",
            source,
        })?;
        out.push(b'\n');
        Ok(out)
    }

    /// Writes the signature file to `path`, replacing it if it exists. The
    /// file is written beside `path` and renamed into place, so a reader
    /// never sees half a signature.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be written.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = self.to_json()?;
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(&json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// The public-key hint the signature names, if any (unverified).
    #[must_use]
    pub fn key_hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// How many signatures the DSSE envelope holds (unverified).
    #[must_use]
    pub fn signature_count(&self) -> usize {
        self.signatures.len()
    }
}
