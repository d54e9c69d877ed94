//! Signing and verifying keys: ECDSA P-256, P-384 and P-521 (OpenSSF Model
//! Signing's key types) and Ed25519 (Kiln only).
//!
//! Keys travel as PEM, the form the `model-signing` Python package and
//! `openssl` use:
//!
//! | key | written as | also read |
//! |---|---|---|
//! | private | PKCS#8 (`BEGIN PRIVATE KEY`) | SEC1 (`BEGIN EC PRIVATE KEY`, what `openssl ecparam -genkey` writes) |
//! | public | SPKI (`BEGIN PUBLIC KEY`) | |
//!
//! Text around the PEM block (the `certtool` dump that some tools put before
//! it, an `EC PARAMETERS` block) is skipped. Encrypted private keys are
//! refused with a message saying how to decrypt them.
//!
//! A public key's [`hint`](VerifyingKey::hint) is what an OMS signature names
//! its key by: the hex SHA-256 of the key re-encoded as SPKI PEM (64-character
//! lines, `\n` line ends), exactly as `model-signing` 1.1 computes it. It does
//! not depend on how the PEM file given to Kiln was laid out.
//!
//! ```
//! use kiln_artifact::keys::{KeyAlgorithm, SigningKey, VerifyingKey};
//!
//! let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let public = VerifyingKey::from_public_key_pem(&key.verifying_key().to_public_key_pem())?;
//! assert_eq!(public.hint(), key.verifying_key().hint());
//!
//! let sig = key.sign(b"message")?;
//! public.verify(b"message", &sig)?;
//! assert!(public.verify(b"another message", &sig).is_err());
//! # Ok::<(), kiln_artifact::Error>(())
//! ```
//!
//! Ed25519 is not part of OMS 1.0: the Python verifier refuses Ed25519 keys.
//! Use it only where Kiln verifies ([`KeyAlgorithm::is_oms_interoperable`]).

use std::fmt;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use p256::elliptic_curve::Generate;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The largest key file read, in bytes: keys are a few hundred bytes, and a
/// PEM file with a certificate dump is a few kilobytes.
const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

/// A signature algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256 (OMS; the default).
    #[default]
    EcdsaP256,
    /// ECDSA over NIST P-384 with SHA-384 (OMS).
    EcdsaP384,
    /// ECDSA over NIST P-521 with SHA-512 (OMS).
    EcdsaP521,
    /// Ed25519 (Kiln only: the OMS reference verifier refuses it).
    Ed25519,
}

impl KeyAlgorithm {
    /// Every algorithm, in a stable order.
    pub const ALL: [Self; 4] = [Self::EcdsaP256, Self::EcdsaP384, Self::EcdsaP521, Self::Ed25519];

    /// The algorithm's name as Kiln writes and parses it: `ecdsa-p256`,
    /// `ecdsa-p384`, `ecdsa-p521`, `ed25519`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::EcdsaP521 => "ecdsa-p521",
            Self::Ed25519 => "ed25519",
        }
    }

    /// Whether signatures made with this algorithm verify with the OpenSSF
    /// Model Signing reference tools (`model_signing verify key`).
    #[must_use]
    pub const fn is_oms_interoperable(self) -> bool {
        !matches!(self, Self::Ed25519)
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    /// Parses a name written by [`KeyAlgorithm::name`] (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidKey {
                what: "key algorithm",
                reason: format!(
                    "unknown algorithm {:?}; expected one of ecdsa-p256, ecdsa-p384, ecdsa-p521, ed25519",
                    s.chars().take(40).collect::<String>()
                ),
            })
    }
}

/// A private key that signs.
///
/// The secret is wiped from memory when the key is dropped; `Debug` shows only
/// the algorithm and the public key's hint.
pub struct SigningKey {
    secret: Secret,
    public: VerifyingKey,
}

enum Secret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// A fresh key from the operating system's random number generator.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the operating system has no randomness to
    /// give.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        fn fail(e: impl fmt::Display) -> Error {
            Error::Crypto {
                operation: "key generation",
                reason: format!("no randomness from the operating system: {e}"),
            }
        }
        let secret = match algorithm {
            KeyAlgorithm::EcdsaP256 => Secret::P256(p256::ecdsa::SigningKey::try_generate().map_err(fail)?),
            KeyAlgorithm::EcdsaP384 => Secret::P384(p384::ecdsa::SigningKey::try_generate().map_err(fail)?),
            KeyAlgorithm::EcdsaP521 => Secret::P521(p521::ecdsa::SigningKey::try_generate().map_err(fail)?),
            KeyAlgorithm::Ed25519 => Secret::Ed25519(ed25519_dalek::SigningKey::try_generate().map_err(fail)?),
        };
        Self::from_secret(secret)
    }

    /// Reads a private key from PEM text: PKCS#8 (`BEGIN PRIVATE KEY`) for
    /// every algorithm, or SEC1 (`BEGIN EC PRIVATE KEY`) for ECDSA keys.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when there is no such PEM block, the key is
    /// encrypted, or it is not a P-256, P-384, P-521 or Ed25519 key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidKey {
            what: "private key",
            reason: reason.to_owned(),
        };
        let block = pem::find_block(pem, &["PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
            .map_err(|reason| invalid(&reason))?;
        let der = block.decode().map_err(|reason| invalid(&reason))?;
        let secret = match block.label {
            "PRIVATE KEY" => secret_from_pkcs8(&der)
                .ok_or_else(|| invalid("not a PKCS#8 P-256, P-384, P-521 or Ed25519 private key"))?,
            "EC PRIVATE KEY" => {
                secret_from_sec1(&der).ok_or_else(|| invalid("not a SEC1 P-256, P-384 or P-521 private key"))?
            }
            _ => {
                return Err(invalid(
                    "the key is encrypted; decrypt it first (openssl pkcs8 -in KEY -out PLAIN.pem), Kiln reads only unencrypted keys",
                ));
            }
        };
        Self::from_secret(secret)
    }

    /// Reads a private key from a PEM file (see [`SigningKey::from_pem`]).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read (or is over 1 MiB);
    /// [`Error::InvalidKey`] as for [`SigningKey::from_pem`].
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self> {
        let text = read_key_file(path.as_ref())?;
        Self::from_pem(&text)
    }

    /// The key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), in memory that is wiped
    /// when the returned string is dropped.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if encoding fails (it does not for keys Kiln
    /// reads or generates).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let doc = match &self.secret {
            Secret::P256(k) => k.to_pkcs8_der(),
            Secret::P384(k) => k.to_pkcs8_der(),
            Secret::P521(k) => k.to_pkcs8_der(),
            Secret::Ed25519(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::InvalidKey {
            what: "private key",
            reason: format!("cannot encode as PKCS#8: {e}"),
        })?;
        Ok(pem::encode_secret("PRIVATE KEY", doc.as_bytes()))
    }

    /// The matching public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm()
    }

    /// Signs `message`: an ASN.1 DER signature for ECDSA (deterministic,
    /// RFC 6979; the message is hashed with SHA-256, -384 or -512 for P-256,
    /// -384 or -521), the 64 raw bytes for Ed25519.
    ///
    /// # Errors
    /// [`Error::Crypto`] in the (negligibly unlikely) case that ECDSA derives
    /// an unusable nonce.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        use p256::ecdsa::signature::Signer as _;
        fn fail(e: impl fmt::Display) -> Error {
            Error::Crypto {
                operation: "signing",
                reason: e.to_string(),
            }
        }
        Ok(match &self.secret {
            Secret::P256(k) => {
                let sig: p256::ecdsa::DerSignature = k.try_sign(message).map_err(fail)?;
                sig.as_bytes().to_vec()
            }
            Secret::P384(k) => {
                let sig: p384::ecdsa::DerSignature = k.try_sign(message).map_err(fail)?;
                sig.as_bytes().to_vec()
            }
            Secret::P521(k) => {
                let sig: p521::ecdsa::DerSignature = k.try_sign(message).map_err(fail)?;
                sig.as_bytes().to_vec()
            }
            Secret::Ed25519(k) => k.try_sign(message).map_err(fail)?.to_bytes().to_vec(),
        })
    }

    fn from_secret(secret: Secret) -> Result<Self> {
        let public = match &secret {
            Secret::P256(k) => Public::P256(*k.verifying_key()),
            Secret::P384(k) => Public::P384(*k.verifying_key()),
            Secret::P521(k) => Public::P521(*k.verifying_key()),
            Secret::Ed25519(k) => Public::Ed25519(k.verifying_key()),
        };
        Ok(Self {
            secret,
            public: VerifyingKey::from_public(public)?,
        })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("hint", &self.public.hint())
            .finish_non_exhaustive()
    }
}

fn secret_from_pkcs8(der: &[u8]) -> Option<Secret> {
    if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
        return Some(Secret::P256(k));
    }
    if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
        return Some(Secret::P384(k));
    }
    if let Ok(k) = p521::ecdsa::SigningKey::from_pkcs8_der(der) {
        return Some(Secret::P521(k));
    }
    ed25519_dalek::SigningKey::from_pkcs8_der(der).ok().map(Secret::Ed25519)
}

fn secret_from_sec1(der: &[u8]) -> Option<Secret> {
    if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
        return Some(Secret::P256(k.into()));
    }
    if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
        return Some(Secret::P384(k.into()));
    }
    p521::SecretKey::from_sec1_der(der).ok().map(|k| Secret::P521(k.into()))
}

/// A public key that verifies signatures.
///
/// Two keys are equal when their SPKI encodings are.
#[derive(Clone)]
pub struct VerifyingKey {
    public: Public,
    spki_der: Vec<u8>,
    pem: String,
    hint: String,
}

#[derive(Clone)]
enum Public {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl VerifyingKey {
    /// Reads a public key from SPKI PEM text (`BEGIN PUBLIC KEY`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when there is no such block or it is not a
    /// P-256, P-384, P-521 or Ed25519 key.
    pub fn from_public_key_pem(pem: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidKey {
            what: "public key",
            reason,
        };
        let block = pem::find_block(pem, &["PUBLIC KEY"]).map_err(invalid)?;
        let der = block.decode().map_err(invalid)?;
        Self::from_public_key_der(&der)
    }

    /// Reads a public key from a PEM file (see
    /// [`VerifyingKey::from_public_key_pem`]).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read (or is over 1 MiB);
    /// [`Error::InvalidKey`] as for [`VerifyingKey::from_public_key_pem`].
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self> {
        let text = read_key_file(path.as_ref())?;
        Self::from_public_key_pem(&text)
    }

    /// Reads a public key from its DER SubjectPublicKeyInfo encoding.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when it is not a P-256, P-384, P-521 or Ed25519
    /// key.
    pub fn from_public_key_der(der: &[u8]) -> Result<Self> {
        let public = if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            Public::P256(k)
        } else if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            Public::P384(k)
        } else if let Ok(k) = p521::ecdsa::VerifyingKey::from_public_key_der(der) {
            Public::P521(k)
        } else if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            Public::Ed25519(k)
        } else {
            return Err(Error::InvalidKey {
                what: "public key",
                reason: "not an SPKI P-256, P-384, P-521 or Ed25519 public key".to_owned(),
            });
        };
        Self::from_public(public)
    }

    fn from_public(public: Public) -> Result<Self> {
        let doc = match &public {
            Public::P256(k) => k.to_public_key_der(),
            Public::P384(k) => k.to_public_key_der(),
            Public::P521(k) => k.to_public_key_der(),
            Public::Ed25519(k) => k.to_public_key_der(),
        }
        .map_err(|e| Error::InvalidKey {
            what: "public key",
            reason: format!("cannot encode as SPKI: {e}"),
        })?;
        let spki_der = doc.as_bytes().to_vec();
        let pem = pem::encode("PUBLIC KEY", &spki_der);
        let hint = kiln_core::Digest::of(pem.as_bytes()).to_hex();
        Ok(Self {
            public,
            spki_der,
            pem,
            hint,
        })
    }

    /// The key as SPKI PEM (`BEGIN PUBLIC KEY`, 64-character lines).
    #[must_use]
    pub fn to_public_key_pem(&self) -> String {
        self.pem.clone()
    }

    /// The key's DER SubjectPublicKeyInfo encoding.
    #[must_use]
    pub fn to_public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key's OMS hint: hex SHA-256 of [`to_public_key_pem`](Self::to_public_key_pem).
    #[must_use]
    pub fn hint(&self) -> &str {
        &self.hint
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.public {
            Public::P256(_) => KeyAlgorithm::EcdsaP256,
            Public::P384(_) => KeyAlgorithm::EcdsaP384,
            Public::P521(_) => KeyAlgorithm::EcdsaP521,
            Public::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// Checks `signature` over `message` (see [`SigningKey::sign`] for the
    /// encodings). Ed25519 uses strict verification (no malleable or
    /// small-order signatures).
    ///
    /// # Errors
    /// [`Error::BadSignature`] (naming this key's hint) when the signature is
    /// malformed or does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        use p256::ecdsa::signature::Verifier as _;
        let ok = match &self.public {
            Public::P256(k) => {
                p256::ecdsa::DerSignature::from_bytes(signature).is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
            Public::P384(k) => {
                p384::ecdsa::DerSignature::from_bytes(signature).is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
            Public::P521(k) => {
                p521::ecdsa::DerSignature::from_bytes(signature).is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
            Public::Ed25519(k) => {
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|sig| k.verify_strict(message, &sig).is_ok())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::BadSignature {
                hint: self.hint.clone(),
            })
        }
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for VerifyingKey {}

impl Hash for VerifyingKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.spki_der.hash(state);
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm())
            .field("hint", &self.hint)
            .finish()
    }
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "larger than 1 MiB: not a key file",
        )));
    }
    Ok(text)
}

/// Just enough PEM (RFC 7468) for key files.
mod pem {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::Zeroizing;

    pub(super) struct Block<'a> {
        pub(super) label: &'static str,
        body: Vec<&'a str>,
    }

    impl Block<'_> {
        /// The DER bytes, in memory wiped on drop (they may be a secret).
        pub(super) fn decode(&self) -> Result<Zeroizing<Vec<u8>>, String> {
            let mut b64 = Zeroizing::new(String::with_capacity(self.body.iter().map(|l| l.len()).sum()));
            for line in &self.body {
                b64.push_str(line);
            }
            let mut der = Zeroizing::new(Vec::with_capacity(b64.len() / 4 * 3 + 3));
            STANDARD
                .decode_vec(b64.as_bytes(), &mut der)
                .map_err(|e| format!("PEM block {:?} is not valid base64: {e}", self.label))?;
            Ok(der)
        }
    }

    /// The first block labelled with one of `labels`, skipping any text and
    /// other blocks around it.
    pub(super) fn find_block<'a>(text: &'a str, labels: &[&'static str]) -> Result<Block<'a>, String> {
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
                continue;
            };
            let Some(&label) = labels.iter().find(|&&l| l == label) else {
                continue;
            };
            let end = format!("-----END {label}-----");
            let mut body = Vec::new();
            for line in lines.by_ref() {
                if line == end {
                    return Ok(Block { label, body });
                }
                if line.contains(':') {
                    return Err(format!(
                        "PEM block {label:?} has headers ({line:?}); it is encrypted in the legacy OpenSSL format, decrypt it first"
                    ));
                }
                body.push(line);
            }
            return Err(format!("PEM block {label:?} has no END line"));
        }
        Err(format!(
            "no PEM block labelled {} found",
            labels.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(" or ")
        ))
    }

    /// PEM with 64-character lines and `\n` line ends, as OpenSSL and
    /// Python's `cryptography` write it.
    pub(super) fn encode(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
        write_wrapped(&mut out, label, &b64);
        out
    }

    /// Like [`encode`], for secrets: every buffer is wiped on drop, and
    /// sized up front so that no reallocation leaves a copy behind.
    pub(super) fn encode_secret(label: &str, der: &[u8]) -> Zeroizing<String> {
        let mut b64 = Zeroizing::new(String::with_capacity(der.len().div_ceil(3) * 4));
        STANDARD.encode_string(der, &mut b64);
        let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40));
        write_wrapped(&mut out, label, &b64);
        out
    }

    fn write_wrapped(out: &mut String, label: &str, b64: &str) {
        out.push_str("-----BEGIN ");
        out.push_str(label);
        out.push_str("-----\n");
        // Base64 is ASCII, so every 64-byte chunk is whole characters.
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END ");
        out.push_str(label);
        out.push_str("-----\n");
    }
}
