//! The signed payload: an in-toto Statement v1 with the OMS v1.0 predicate.
//!
//! [`Statement::parse`] reads untrusted bytes (it runs before the signature
//! is checked, so that a reordered or inconsistent manifest gets its own
//! error); it is bounded by the signature file's size limit and never panics.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use kiln_core::{Digest, Hasher};
use serde::{Deserialize, Serialize};

use crate::hashing::{IgnorePaths, canonical_cmp};
use crate::{Error, Result};

/// `_type` of an in-toto Statement v1.
pub(crate) const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The OMS v1.0 predicate type.
pub(crate) const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The predicate type of `model-signing` 0.2, which Kiln does not read.
const PREDICATE_TYPE_V0_2: &str = "https://model_signing/Digests/v0.1";
/// The only hash Kiln signs and verifies files with.
const SHA256: &str = "sha256";

/// A parsed and structurally checked OMS statement (not yet trusted).
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) model_name: String,
    pub(crate) subject_digest: Digest,
    /// Signed files in the payload's (canonical) order.
    pub(crate) files: Vec<(String, Digest)>,
    /// `serialization.ignore_paths`, normalized.
    pub(crate) ignore_paths: IgnorePaths,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedSignature { reason: reason.into() }
}

fn unsupported(reason: impl Into<String>) -> Error {
    Error::UnsupportedSignature { reason: reason.into() }
}

fn cut(s: &str) -> String {
    s.chars().take(200).collect()
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "_type")]
    type_: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
}

#[derive(Deserialize)]
struct InStatement {
    subject: Vec<InSubject>,
    predicate: InPredicate,
}

#[derive(Deserialize)]
struct InSubject {
    #[serde(default)]
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct InPredicate {
    serialization: InSerialization,
    resources: Vec<InResource>,
}

#[derive(Deserialize)]
struct InSerialization {
    method: String,
    hash_type: String,
    // Required by OMS, but Kiln never follows links whatever it says.
    #[allow(dead_code)]
    allow_symlinks: bool,
    #[serde(default)]
    ignore_paths: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct InResource {
    name: String,
    algorithm: String,
    digest: String,
}

#[derive(Serialize)]
struct OutStatement<'a> {
    #[serde(rename = "_type")]
    type_: &'static str,
    subject: [OutSubject<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: OutPredicate<'a>,
}

#[derive(Serialize)]
struct OutSubject<'a> {
    name: &'a str,
    digest: OutDigest,
}

#[derive(Serialize)]
struct OutDigest {
    sha256: String,
}

#[derive(Serialize)]
struct OutPredicate<'a> {
    serialization: OutSerialization<'a>,
    resources: Vec<OutResource<'a>>,
}

#[derive(Serialize)]
struct OutSerialization<'a> {
    method: &'static str,
    hash_type: &'static str,
    allow_symlinks: bool,
    ignore_paths: Vec<&'a str>,
}

#[derive(Serialize)]
struct OutResource<'a> {
    name: &'a str,
    algorithm: &'static str,
    digest: String,
}

/// SHA-256 over the concatenated raw file digests, in order: the OMS subject
/// (root) digest.
pub(crate) fn subject_digest<'a>(digests: impl IntoIterator<Item = &'a Digest>) -> Digest {
    let mut h = Hasher::new();
    for d in digests {
        h.update(d.as_bytes());
    }
    h.finish()
}

/// The payload bytes for `files` (already in canonical order).
pub(crate) fn build_payload(model_name: &str, files: &[(&str, Digest)], ignore_paths: &IgnorePaths) -> Result<Vec<u8>> {
    let statement = OutStatement {
        type_: STATEMENT_TYPE,
        subject: [OutSubject {
            name: model_name,
            digest: OutDigest {
                sha256: subject_digest(files.iter().map(|(_, d)| d)).to_hex(),
            },
        }],
        predicate_type: PREDICATE_TYPE,
        predicate: OutPredicate {
            serialization: OutSerialization {
                method: "files",
                hash_type: SHA256,
                allow_symlinks: false,
                ignore_paths: ignore_paths.iter().collect(),
            },
            resources: files
                .iter()
                .map(|(name, digest)| OutResource {
                    name,
                    algorithm: SHA256,
                    digest: digest.to_hex(),
                })
                .collect(),
        },
    };
    serde_json::to_vec(&statement).map_err(|source| Error::Json {
        what: "OMS statement",
        source,
    })
}

/// 64 lowercase hex digits, as OMS writes digests.
fn parse_hex_digest(s: &str, what: &str) -> Result<Digest> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(malformed(format!(
            "{what}: {:?} is not 64 lowercase hex digits",
            cut(s)
        )));
    }
    s.parse().map_err(|_| malformed(format!("{what}: invalid digest")))
}

/// A resource name must be a clean relative path: no leading `/`, no empty,
/// `.` or `..` component.
fn check_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.contains('\0')
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        Err(Error::UnsafeResourceName { name: cut(name) })
    } else {
        Ok(())
    }
}

/// Files must be strictly increasing (so also unique) in the reference
/// implementation's order ([`canonical_cmp`]) or in plain code-point order of
/// the whole names (the OMS 1.0 text's wording); the two differ only for
/// names with characters below `/`.
fn check_order(files: &[(String, Digest)]) -> Result<()> {
    let first_violation =
        |cmp: fn(&str, &str) -> Ordering| files.windows(2).position(|w| cmp(&w[0].0, &w[1].0) != Ordering::Less);
    match first_violation(canonical_cmp) {
        None => Ok(()),
        Some(_) if first_violation(|a, b| a.cmp(b)).is_none() => Ok(()),
        Some(i) => Err(Error::ResourcesNotCanonical {
            before: cut(&files[i].0),
            after: cut(&files[i + 1].0),
        }),
    }
}

impl Statement {
    /// Parses and checks a payload (see the module docs).
    pub(crate) fn parse(payload: &[u8]) -> Result<Self> {
        let head: Head = serde_json::from_slice(payload)
            .map_err(|e| malformed(format!("payload is not an in-toto statement: {e}")))?;
        if head.type_ != STATEMENT_TYPE {
            return Err(malformed(format!(
                "statement type {:?}, expected {STATEMENT_TYPE:?}",
                cut(&head.type_)
            )));
        }
        if head.predicate_type == PREDICATE_TYPE_V0_2 {
            return Err(unsupported(
                "predicate type of model-signing 0.2 (https://model_signing/Digests/v0.1); re-sign the model with a current signer",
            ));
        }
        if head.predicate_type != PREDICATE_TYPE {
            return Err(malformed(format!(
                "predicate type {:?}, expected {PREDICATE_TYPE:?}",
                cut(&head.predicate_type)
            )));
        }
        let st: InStatement = serde_json::from_slice(payload)
            .map_err(|e| malformed(format!("payload is not an OMS v1.0 statement: {e}")))?;

        let [subject] = <[InSubject; 1]>::try_from(st.subject)
            .map_err(|s| malformed(format!("{} subjects, expected exactly one", s.len())))?;
        let signed_root = subject
            .digest
            .get(SHA256)
            .ok_or_else(|| malformed("subject has no sha256 digest"))?;
        let signed_root = parse_hex_digest(signed_root, "subject digest")?;

        let ser = st.predicate.serialization;
        match ser.method.as_str() {
            "files" => {}
            "shards" => return Err(unsupported("shard serialization (\"shards\"); Kiln reads \"files\"")),
            other => return Err(malformed(format!("unknown serialization method {:?}", cut(other)))),
        }
        if ser.hash_type != SHA256 {
            return Err(unsupported(format!(
                "file hash {:?}; Kiln reads sha256 only",
                cut(&ser.hash_type)
            )));
        }
        let ignore_paths =
            IgnorePaths::new(ser.ignore_paths.unwrap_or_default()).map_err(|e| malformed(e.to_string()))?;

        if st.predicate.resources.is_empty() {
            return Err(malformed("the statement signs no files"));
        }
        let mut files = Vec::with_capacity(st.predicate.resources.len());
        for r in st.predicate.resources {
            check_name(&r.name)?;
            if r.algorithm != SHA256 {
                return Err(malformed(format!(
                    "resource {:?}: algorithm {:?}, but the serialization says sha256",
                    cut(&r.name),
                    cut(&r.algorithm)
                )));
            }
            let digest = parse_hex_digest(&r.digest, "resource digest")?;
            files.push((r.name, digest));
        }
        check_order(&files)?;
        let computed = subject_digest(files.iter().map(|(_, d)| d));
        if computed != signed_root {
            return Err(Error::SubjectDigestMismatch {
                signed: signed_root.to_hex(),
                computed: computed.to_hex(),
            });
        }
        Ok(Self {
            model_name: subject.name,
            subject_digest: signed_root,
            files,
            ignore_paths,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(resources: &[(&str, Digest)]) -> Vec<u8> {
        build_payload("m", resources, &IgnorePaths::new(["model.sig"]).unwrap()).unwrap()
    }

    #[test]
    fn round_trip() {
        let files = [("a", Digest::of(b"a")), ("b/c", Digest::of(b"c"))];
        let st = Statement::parse(&payload(&files)).unwrap();
        assert_eq!(st.model_name, "m");
        assert_eq!(st.files.len(), 2);
        assert_eq!(st.subject_digest, subject_digest([&files[0].1, &files[1].1]));
        assert_eq!(st.ignore_paths.iter().collect::<Vec<_>>(), ["model.sig"]);
    }

    #[test]
    fn both_orders_accepted_but_not_others() {
        let d = Digest::of(b"x");
        // pathlib order and code-point order of "model/x" and "model.json".
        assert!(Statement::parse(&payload(&[("model/x", d), ("model.json", d)])).is_ok());
        assert!(Statement::parse(&payload(&[("model.json", d), ("model/x", d)])).is_ok());
        assert!(matches!(
            Statement::parse(&payload(&[("b", d), ("a", d)])),
            Err(Error::ResourcesNotCanonical { .. })
        ));
        assert!(matches!(
            Statement::parse(&payload(&[("a", d), ("a", d)])),
            Err(Error::ResourcesNotCanonical { .. })
        ));
    }

    #[test]
    fn unsafe_names_rejected() {
        let d = Digest::of(b"x");
        for name in ["/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/", ""] {
            assert!(
                matches!(
                    Statement::parse(&payload(&[(name, d)])),
                    Err(Error::UnsafeResourceName { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [&b""[..], b"{}", b"[]", b"null", b"{\"_type\":1}", b"\xff\xfe"] {
            assert!(Statement::parse(bad).is_err());
        }
    }
}
