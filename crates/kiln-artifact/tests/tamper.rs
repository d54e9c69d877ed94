//! The tamper matrix: every way of altering a signed model directory or its
//! signature fails with its own error, naming what was altered, for every
//! key algorithm.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kiln_artifact::Error;
use kiln_artifact::keys::{KeyAlgorithm, SigningKey};
use kiln_artifact::oms::{self, SignOptions, TrustPolicy};
use serde_json::Value;

const FILES: [(&str, &[u8]); 4] = [
    ("config.json", b"{\"hidden\": 8}"),
    ("weights.bin", &[0x5a; 4096]),
    ("tokenizer/vocab.txt", b"a\nb\nc\n"),
    ("tokenizer.json", b"{\"vocab\": 3}"),
];

/// A signed model directory: the files above, `model.sig` inside.
struct Signed {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    sig: PathBuf,
    trust: TrustPolicy,
}

impl Signed {
    fn new(key: &SigningKey) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("model");
        for (rel, contents) in FILES {
            let path = dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        let sig = dir.join("model.sig");
        oms::sign_dir(&dir, key, &SignOptions::default())
            .unwrap()
            .write(&sig)
            .unwrap();
        Self {
            _tmp: tmp,
            dir,
            sig,
            trust: TrustPolicy::from(key.verifying_key().clone()),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn verify(&self) -> kiln_artifact::Result<kiln_artifact::oms::VerifiedFiles> {
        oms::verify_dir(&self.dir, &self.sig, &self.trust)
    }

    fn bundle(&self) -> Value {
        serde_json::from_slice(&fs::read(&self.sig).unwrap()).unwrap()
    }

    fn set_bundle(&self, bundle: &Value) {
        fs::write(&self.sig, serde_json::to_vec(bundle).unwrap()).unwrap();
    }
}

fn each_algorithm(case: impl Fn(&SigningKey, Signed)) {
    for alg in KeyAlgorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        let signed = Signed::new(&key);
        signed
            .verify()
            .unwrap_or_else(|e| panic!("{alg}: untouched model must verify: {e}"));
        case(&key, signed);
    }
}

fn flip_bit(path: &Path, byte: usize) {
    let mut bytes = fs::read(path).unwrap();
    let i = byte % bytes.len();
    bytes[i] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

#[test]
fn one_bit_flipped_in_any_file() {
    each_algorithm(|_, signed| {
        for (rel, contents) in FILES {
            flip_bit(&signed.path(rel), contents.len() / 2);
            match signed.verify() {
                Err(Error::FileModified { path, actual_size, .. }) => {
                    assert_eq!(path, rel);
                    assert_eq!(actual_size, contents.len() as u64);
                }
                other => panic!("{rel}: expected FileModified, got {other:?}"),
            }
            flip_bit(&signed.path(rel), contents.len() / 2);
            signed.verify().unwrap();
        }
    });
}

#[test]
fn truncated_file() {
    each_algorithm(|_, signed| {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(signed.path("weights.bin"))
            .unwrap();
        f.set_len(1000).unwrap();
        match signed.verify() {
            Err(Error::FileModified { path, actual_size, .. }) => {
                assert_eq!(path, "weights.bin");
                // The size found lets a caller with a size list say "truncated".
                assert_eq!(actual_size, 1000);
            }
            other => panic!("expected FileModified, got {other:?}"),
        }
    });
}

#[test]
fn unlisted_file_added() {
    each_algorithm(|_, signed| {
        fs::write(signed.path("tokenizer/extra.txt"), b"new").unwrap();
        match signed.verify() {
            Err(Error::UnlistedFile { path }) => assert_eq!(path, "tokenizer/extra.txt"),
            other => panic!("expected UnlistedFile, got {other:?}"),
        }
    });
}

#[test]
fn file_removed() {
    each_algorithm(|_, signed| {
        fs::remove_file(signed.path("tokenizer.json")).unwrap();
        match signed.verify() {
            Err(Error::MissingFile { path }) => assert_eq!(path, "tokenizer.json"),
            other => panic!("expected MissingFile, got {other:?}"),
        }
    });
}

#[test]
fn file_renamed() {
    each_algorithm(|_, signed| {
        fs::rename(signed.path("config.json"), signed.path("tokenizer/config.json")).unwrap();
        match signed.verify() {
            Err(Error::FileRenamed { from, to }) => {
                assert_eq!(from, "config.json");
                assert_eq!(to, "tokenizer/config.json");
            }
            other => panic!("expected FileRenamed, got {other:?}"),
        }
    });
}

#[test]
fn two_files_swapped() {
    each_algorithm(|_, signed| {
        let tmp = signed.path("swap.tmp");
        fs::rename(signed.path("config.json"), &tmp).unwrap();
        fs::rename(signed.path("tokenizer.json"), signed.path("config.json")).unwrap();
        fs::rename(&tmp, signed.path("tokenizer.json")).unwrap();
        match signed.verify() {
            Err(Error::FilesSwapped { a, b }) => {
                let mut pair = [a, b];
                pair.sort();
                assert_eq!(pair, ["config.json", "tokenizer.json"]);
            }
            other => panic!("expected FilesSwapped, got {other:?}"),
        }
    });
}

#[test]
fn signature_replaced_by_another_keys() {
    each_algorithm(|key, signed| {
        let intruder = SigningKey::generate(key.algorithm()).unwrap();
        oms::sign_dir(&signed.dir, &intruder, &SignOptions::default())
            .unwrap()
            .write(&signed.sig)
            .unwrap();
        match signed.verify() {
            Err(Error::UntrustedKey { hint }) => assert_eq!(hint, intruder.verifying_key().hint()),
            other => panic!("expected UntrustedKey, got {other:?}"),
        }
    });
}

#[test]
fn only_the_key_hint_replaced() {
    each_algorithm(|key, signed| {
        let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let mut bundle = signed.bundle();
        bundle["verificationMaterial"]["publicKey"]["hint"] = other.verifying_key().hint().into();
        signed.set_bundle(&bundle);
        match signed.verify() {
            Err(Error::KeyHintMismatch { hint, key: signer }) => {
                assert_eq!(hint, other.verifying_key().hint());
                assert_eq!(signer, key.verifying_key().hint());
            }
            r => panic!("expected KeyHintMismatch, got {r:?}"),
        }
        // The same when the named key is trusted too.
        let both = TrustPolicy::new([key.verifying_key().clone(), other.verifying_key().clone()]).unwrap();
        assert!(matches!(
            oms::verify_dir(&signed.dir, &signed.sig, &both),
            Err(Error::KeyHintMismatch { .. })
        ));
    });
}

#[test]
fn signature_byte_flipped() {
    each_algorithm(|key, signed| {
        let mut bundle = signed.bundle();
        let sig_b64 = bundle["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap();
        let mut sig = STANDARD.decode(sig_b64).unwrap();
        // A byte inside the signature value (past any DER header).
        let i = sig.len() - 5;
        sig[i] ^= 0x40;
        bundle["dsseEnvelope"]["signatures"][0]["sig"] = STANDARD.encode(&sig).into();
        signed.set_bundle(&bundle);
        match signed.verify() {
            Err(Error::BadSignature { hint }) => assert_eq!(hint, key.verifying_key().hint()),
            other => panic!("expected BadSignature, got {other:?}"),
        }
    });
}

fn edit_statement(signed: &Signed, f: impl Fn(&mut Value)) {
    let mut bundle = signed.bundle();
    let payload = STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let mut statement: Value = serde_json::from_slice(&payload).unwrap();
    f(&mut statement);
    bundle["dsseEnvelope"]["payload"] = STANDARD.encode(serde_json::to_vec(&statement).unwrap()).into();
    signed.set_bundle(&bundle);
}

#[test]
fn manifest_entries_reordered() {
    each_algorithm(|_, signed| {
        edit_statement(&signed, |st| {
            st["predicate"]["resources"].as_array_mut().unwrap().swap(0, 3);
        });
        match signed.verify() {
            Err(Error::ResourcesNotCanonical { before, after }) => {
                assert_eq!(before, "weights.bin");
                assert_eq!(after, "tokenizer/vocab.txt");
            }
            other => panic!("expected ResourcesNotCanonical, got {other:?}"),
        }
    });
}

#[test]
fn manifest_digest_replaced_to_match_a_tampered_file() {
    each_algorithm(|_, signed| {
        fs::write(signed.path("config.json"), b"{\"hidden\": 9}").unwrap();
        let forged = kiln_core::Digest::of(b"{\"hidden\": 9}").to_hex();
        edit_statement(&signed, |st| {
            st["predicate"]["resources"][0]["digest"] = forged.clone().into();
        });
        // The subject digest no longer matches the file list.
        assert!(matches!(signed.verify(), Err(Error::SubjectDigestMismatch { .. })));
    });
}

#[test]
fn payload_edited_consistently_but_not_re_signed() {
    each_algorithm(|key, signed| {
        edit_statement(&signed, |st| st["subject"][0]["name"] = "renamed-model".into());
        match signed.verify() {
            Err(Error::BadSignature { hint }) => assert_eq!(hint, key.verifying_key().hint()),
            other => panic!("expected BadSignature, got {other:?}"),
        }
    });
}

#[test]
fn every_tamper_error_is_distinct_and_says_what_failed() {
    let messages = [
        Error::FileModified {
            path: "w.bin".into(),
            expected: kiln_core::Digest::of(b"a"),
            actual: kiln_core::Digest::of(b"b"),
            actual_size: 3,
        },
        Error::UnlistedFile { path: "w.bin".into() },
        Error::MissingFile { path: "w.bin".into() },
        Error::FileRenamed {
            from: "w.bin".into(),
            to: "v.bin".into(),
        },
        Error::FilesSwapped {
            a: "w.bin".into(),
            b: "v.bin".into(),
        },
        Error::UntrustedKey { hint: "abc".into() },
        Error::KeyHintMismatch {
            hint: "abc".into(),
            key: "def".into(),
        },
        Error::BadSignature { hint: "abc".into() },
        Error::ResourcesNotCanonical {
            before: "w.bin".into(),
            after: "v.bin".into(),
        },
    ]
    .map(|e| e.to_string());
    for (i, m) in messages.iter().enumerate() {
        assert!(m.contains("w.bin") || m.contains("abc"), "{m}");
        assert!(messages[..i].iter().all(|other| other != m));
    }
}
