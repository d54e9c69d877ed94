//! Keys, signing and verification of model directories (OpenSSF Model
//! Signing, key mode), and a model signed by the Python reference
//! implementation (tests/data/oms-python, made by
//! tests/interop/make_python_fixture.py).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kiln_artifact::Error;
use kiln_artifact::hashing::{IgnorePaths, hash_dir};
use kiln_artifact::keys::{KeyAlgorithm, SigningKey, VerifyingKey};
use kiln_artifact::oms::{self, SignOptions, SignatureFile, TrustPolicy};
use kiln_core::Digest;
use proptest::prelude::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oms-python")
}

fn write(dir: &Path, rel: &str, contents: &[u8]) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn model_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "weights.bin", &[7u8; 3000]);
    write(dir.path(), "config.json", b"{}");
    write(dir.path(), "model/x", b"x");
    write(dir.path(), "model.json", b"{\"a\": 1}");
    dir
}

fn payload_json(sig: &SignatureFile) -> serde_json::Value {
    let bundle: serde_json::Value = serde_json::from_slice(&sig.to_json().unwrap()).unwrap();
    let payload = STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn keys_round_trip_through_pem() {
    for alg in KeyAlgorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg}");
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.verifying_key(), key.verifying_key(), "{alg}");

        let public_pem = key.verifying_key().to_public_key_pem();
        let public = VerifyingKey::from_public_key_pem(&public_pem).unwrap();
        assert_eq!(&public, key.verifying_key());
        assert_eq!(public.algorithm(), alg);
        // The hint is the SHA-256 of the canonical SPKI PEM.
        assert_eq!(public.hint(), Digest::of(public_pem.as_bytes()).to_hex());
        assert!(public_pem.lines().all(|l| l.len() <= 64));

        let sig = key.sign(b"payload").unwrap();
        public.verify(b"payload", &sig).unwrap();
        assert!(matches!(
            public.verify(b"payloaD", &sig),
            Err(Error::BadSignature { .. })
        ));
        let other = SigningKey::generate(alg).unwrap();
        assert!(other.verifying_key().verify(b"payload", &sig).is_err());
        assert_ne!(other.verifying_key().hint(), public.hint());
    }
}

#[test]
fn key_files_round_trip_and_text_around_pem_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let public = format!(
        "Public Key Info:\n\tPublic Key Algorithm: EC/ECDSA\n\n{}",
        key.verifying_key().to_public_key_pem().replace('\n', "\r\n")
    );
    fs::write(dir.path().join("k.pub"), public).unwrap();
    fs::write(dir.path().join("k.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let public = VerifyingKey::from_pem_file(dir.path().join("k.pub")).unwrap();
    assert_eq!(&public, key.verifying_key());
    assert_eq!(public.hint(), key.verifying_key().hint());
    let private = SigningKey::from_pem_file(dir.path().join("k.pem")).unwrap();
    assert_eq!(private.verifying_key(), key.verifying_key());
    assert!(matches!(
        SigningKey::from_pem_file(dir.path().join("absent.pem")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn bad_keys_are_refused_with_a_reason() {
    let err = |r: kiln_artifact::Result<SigningKey>| match r {
        Err(Error::InvalidKey { reason, .. }) => reason,
        other => panic!("expected InvalidKey, got {other:?}"),
    };
    assert!(err(SigningKey::from_pem("")).contains("no PEM block"));
    assert!(
        err(SigningKey::from_pem(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ))
        .contains("encrypted")
    );
    assert!(
        err(SigningKey::from_pem(
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END EC PRIVATE KEY-----\n"
        ))
        .contains("encrypted")
    );
    assert!(
        err(SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n"
        ))
        .contains("base64")
    );
    assert!(
        err(SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ))
        .contains("PKCS#8")
    );
    assert!(err(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n")).contains("END"));
    // A public key is not a private key, and the other way round.
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(SigningKey::from_pem(&key.verifying_key().to_public_key_pem()).is_err());
    assert!(VerifyingKey::from_public_key_pem(&key.to_pkcs8_pem().unwrap()).is_err());
    assert!(VerifyingKey::from_public_key_der(b"\x30\x00").is_err());
}

#[test]
fn algorithm_names_parse_and_print() {
    for alg in KeyAlgorithm::ALL {
        assert_eq!(alg.name().parse::<KeyAlgorithm>().unwrap(), alg);
        assert_eq!(alg.to_string(), alg.name());
    }
    assert_eq!("ECDSA-P384".parse::<KeyAlgorithm>().unwrap(), KeyAlgorithm::EcdsaP384);
    assert!("rsa".parse::<KeyAlgorithm>().is_err());
    assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::EcdsaP256);
    assert!(!KeyAlgorithm::Ed25519.is_oms_interoperable());
}

#[test]
fn debug_output_has_no_secret() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains(key.verifying_key().hint()));
    let pem = key.to_pkcs8_pem().unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!debug.contains(&body[..20]));
}

#[test]
fn sign_and_verify_every_algorithm() {
    for alg in KeyAlgorithm::ALL {
        let dir = model_dir();
        let key = SigningKey::generate(alg).unwrap();
        let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
        sig.write(&dir.path().join("model.sig")).unwrap();
        let trust = TrustPolicy::from(key.verifying_key().clone());
        let verified = oms::verify_dir(dir.path(), &dir.path().join("model.sig"), &trust).unwrap();

        let names: Vec<&str> = verified.files().iter().map(|f| f.path.as_str()).collect();
        // Component-wise order: "model/x" before "model.json".
        assert_eq!(names, ["config.json", "model/x", "model.json", "weights.bin"], "{alg}");
        assert_eq!(verified.file("weights.bin").unwrap().size, 3000);
        assert_eq!(verified.file("config.json").unwrap().digest, Digest::of(b"{}"));
        let expected_root = {
            let mut h = kiln_core::Hasher::new();
            for f in verified.files() {
                h.update(f.digest.as_bytes());
            }
            h.finish()
        };
        assert_eq!(verified.digest(), expected_root);
        assert_eq!(verified.signer(), key.verifying_key());
        assert_eq!(verified.model_name(), dir.path().file_name().unwrap().to_str().unwrap());
    }
}

#[test]
fn statement_has_the_oms_shape() {
    let dir = model_dir();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default().with_model_name("my-model")).unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&sig.to_json().unwrap()).unwrap();
    assert_eq!(bundle["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert_eq!(
        bundle["verificationMaterial"]["publicKey"]["hint"],
        key.verifying_key().hint()
    );
    assert_eq!(bundle["verificationMaterial"]["tlogEntries"], serde_json::json!([]));
    assert_eq!(bundle["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(bundle["dsseEnvelope"]["signatures"][0]["keyid"], "");
    let st = payload_json(&sig);
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://model_signing/signature/v1.0");
    assert_eq!(st["subject"][0]["name"], "my-model");
    let ser = &st["predicate"]["serialization"];
    assert_eq!(ser["method"], "files");
    assert_eq!(ser["hash_type"], "sha256");
    assert_eq!(ser["allow_symlinks"], false);
    assert_eq!(
        ser["ignore_paths"],
        serde_json::json!([".git", ".gitattributes", ".github", ".gitignore", "model.sig"])
    );
    let res = &st["predicate"]["resources"][0];
    assert_eq!(res["name"], "config.json");
    assert_eq!(res["algorithm"], "sha256");
    assert_eq!(res["digest"], Digest::of(b"{}").to_hex());
}

#[test]
fn signature_json_round_trips() {
    let dir = model_dir();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
    let json = sig.to_json().unwrap();
    let again = SignatureFile::from_json(&json).unwrap();
    assert_eq!(again.to_json().unwrap(), json);
    assert_eq!(again.key_hint(), Some(key.verifying_key().hint()));
    assert_eq!(again.signature_count(), 1);
    let trust = TrustPolicy::from(key.verifying_key().clone());
    let manifest = oms::verify_signature(&again, &trust).unwrap();
    assert_eq!(manifest.files().len(), 4);
    assert_eq!(manifest.file_digest("model/x"), Some(Digest::of(b"x")));
    // The signature may live outside the directory.
    let outside = tempfile::tempdir().unwrap();
    sig.write(&outside.path().join("m.sig")).unwrap();
    let verified = oms::verify_dir(dir.path(), &outside.path().join("m.sig"), &trust).unwrap();
    assert_eq!(verified.digest(), manifest.digest());
}

#[test]
fn ignored_and_git_paths_are_left_out() {
    let dir = model_dir();
    write(dir.path(), ".git/HEAD", b"ref: main");
    write(dir.path(), ".gitignore", b"*.log");
    write(dir.path(), "cache/tmp.bin", b"scratch");
    write(dir.path(), "sub/.git", b"not top-level: signed");
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default().with_ignore_path("cache/")).unwrap();
    let trust = TrustPolicy::from(key.verifying_key().clone());
    let manifest = oms::verify_signature(&sig, &trust).unwrap();
    assert!(manifest.file_digest("sub/.git").is_some());
    assert!(manifest.file_digest("cache/tmp.bin").is_none());
    assert!(manifest.ignore_paths().is_ignored("cache/tmp.bin"));
    // Files in ignored places may change or appear without failing.
    write(dir.path(), "cache/new.bin", b"new");
    write(dir.path(), ".git/ORIG_HEAD", b"x");
    manifest.check_dir(dir.path()).unwrap();
}

#[test]
fn directories_that_cannot_be_signed() {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let empty = tempfile::tempdir().unwrap();
    write(empty.path(), ".git/HEAD", b"x");
    assert!(matches!(
        oms::sign_dir(empty.path(), &key, &SignOptions::default()),
        Err(Error::EmptyModel { .. })
    ));
    assert!(matches!(
        oms::sign_dir(&empty.path().join("absent"), &key, &SignOptions::default()),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        oms::sign_dir(&empty.path().join(".git/HEAD"), &key, &SignOptions::default()),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        oms::sign_dir(empty.path(), &key, &SignOptions::default().with_ignore_path("../x")),
        Err(Error::InvalidIgnorePath { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused_not_followed() {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret", b"outside the model");
    let dir = model_dir();
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
    let err = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Symlink { path } if path.ends_with("link")),
        "{err}"
    );

    // A link added after signing fails verification too.
    let dir = model_dir();
    let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("model/dirlink")).unwrap();
    let manifest = oms::verify_signature(&sig, &TrustPolicy::from(key.verifying_key().clone())).unwrap();
    assert!(matches!(manifest.check_dir(dir.path()), Err(Error::Symlink { .. })));

    // The model directory itself may not be a link either.
    let dir = model_dir();
    let holder = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(dir.path(), holder.path().join("m")).unwrap();
    assert!(matches!(
        oms::sign_dir(&holder.path().join("m"), &key, &SignOptions::default()),
        Err(Error::Symlink { .. })
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn non_utf8_names_are_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = model_dir();
    fs::write(dir.path().join(OsStr::from_bytes(b"bad\xff")), b"x").unwrap();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(matches!(
        oms::sign_dir(dir.path(), &key, &SignOptions::default()),
        Err(Error::NonUtf8Path { .. })
    ));
}

#[test]
fn trust_policies() {
    assert!(matches!(TrustPolicy::new([]), Err(Error::EmptyTrustPolicy)));
    let a = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let b = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let policy = TrustPolicy::new([
        a.verifying_key().clone(),
        b.verifying_key().clone(),
        a.verifying_key().clone(),
    ])
    .unwrap();
    assert_eq!(policy.keys().len(), 2);
    assert!(policy.trusts(b.verifying_key()));
    let dir = model_dir();
    for key in [&a, &b] {
        let sig = oms::sign_dir(dir.path(), key, &SignOptions::default()).unwrap();
        let manifest = oms::verify_signature(&sig, &policy).unwrap();
        assert_eq!(manifest.signer(), key.verifying_key());
    }
}

#[test]
fn several_signatures_are_refused() {
    let dir = model_dir();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
    let mut bundle: serde_json::Value = serde_json::from_slice(&sig.to_json().unwrap()).unwrap();
    let first = bundle["dsseEnvelope"]["signatures"][0].clone();
    bundle["dsseEnvelope"]["signatures"].as_array_mut().unwrap().push(first);
    let sig = SignatureFile::from_json(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    assert_eq!(sig.signature_count(), 2);
    assert!(matches!(
        oms::verify_signature(&sig, &TrustPolicy::from(key.verifying_key().clone())),
        Err(Error::UnsupportedSignature { .. })
    ));
}

#[test]
fn malformed_and_unsupported_signature_files() {
    let dir = model_dir();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&sig.to_json().unwrap()).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut b = bundle.clone();
        f(&mut b);
        SignatureFile::from_json(&serde_json::to_vec(&b).unwrap())
    };
    let with_statement = |f: &dyn Fn(&mut serde_json::Value)| {
        edit(&|b| {
            let mut st = payload_json(&sig);
            f(&mut st);
            b["dsseEnvelope"]["payload"] = STANDARD.encode(serde_json::to_vec(&st).unwrap()).into();
        })
    };
    let malformed = |r: kiln_artifact::Result<SignatureFile>| matches!(r, Err(Error::MalformedSignature { .. }));
    let unsupported = |r: kiln_artifact::Result<SignatureFile>| matches!(r, Err(Error::UnsupportedSignature { .. }));

    assert!(malformed(SignatureFile::from_json(b"")));
    assert!(malformed(SignatureFile::from_json(b"[1,2]")));
    assert!(malformed(SignatureFile::from_json(&vec![b' '; 33 << 20])));
    assert!(malformed(edit(&|b| b["mediaType"] = "application/json".into())));
    assert!(malformed(edit(
        &|b| b["dsseEnvelope"]["payloadType"] = "text/plain".into()
    )));
    assert!(malformed(edit(&|b| b["dsseEnvelope"]["payload"] = "%%%".into())));
    assert!(malformed(edit(
        &|b| b["dsseEnvelope"]["signatures"] = serde_json::json!([])
    )));
    assert!(malformed(edit(&|b| {
        b.as_object_mut().unwrap().remove("dsseEnvelope");
    })));
    assert!(malformed(edit(&|b| {
        b["verificationMaterial"].as_object_mut().unwrap().remove("publicKey");
    })));
    assert!(unsupported(edit(&|b| {
        b["verificationMaterial"]["x509CertificateChain"] = serde_json::json!({"certificates": []});
    })));
    assert!(malformed(with_statement(&|st| st["_type"] = "x".into())));
    assert!(malformed(with_statement(&|st| st["predicateType"] = "x".into())));
    assert!(unsupported(with_statement(&|st| {
        st["predicateType"] = "https://model_signing/Digests/v0.1".into();
    })));
    assert!(unsupported(with_statement(
        &|st| st["predicate"]["serialization"]["method"] = "shards".into()
    )));
    assert!(unsupported(with_statement(
        &|st| st["predicate"]["serialization"]["hash_type"] = "blake3".into()
    )));
    assert!(malformed(with_statement(
        &|st| st["predicate"]["resources"] = serde_json::json!([])
    )));
    assert!(malformed(with_statement(
        &|st| st["predicate"]["resources"][0]["digest"] = "ABC".into()
    )));
    assert!(malformed(with_statement(
        &|st| st["predicate"]["resources"][0]["algorithm"] = "md5".into()
    )));
    assert!(malformed(with_statement(
        &|st| st["predicate"]["serialization"]["ignore_paths"] = serde_json::json!(["/etc"])
    )));
    assert!(malformed(with_statement(&|st| {
        st["subject"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "b", "digest": {}}));
    })));
    assert!(matches!(
        with_statement(&|st| st["predicate"]["resources"][1]["name"] = "../../etc/passwd".into()),
        Err(Error::UnsafeResourceName { .. })
    ));
    assert!(matches!(
        with_statement(&|st| st["subject"][0]["digest"]["sha256"] = Digest::of(b"").to_hex().into()),
        Err(Error::SubjectDigestMismatch { .. })
    ));
    // Older signers: no hint, `keyid: null`, no ignore_paths, extra fields.
    let old = with_statement(&|st| {
        st["predicate"]["serialization"]
            .as_object_mut()
            .unwrap()
            .remove("ignore_paths");
        st["predicate"]["extra"] = "ignored".into();
    });
    assert!(old.is_ok());
    let no_hint = edit(&|b| {
        b["verificationMaterial"]["publicKey"] = serde_json::json!({"rawBytes": "AAAA"});
        b["dsseEnvelope"]["signatures"][0]["keyid"] = serde_json::Value::Null;
    })
    .unwrap();
    assert_eq!(no_hint.key_hint(), None);
    oms::verify_signature(&no_hint, &TrustPolicy::from(key.verifying_key().clone())).unwrap();
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(matches!(
        oms::verify_signature(&no_hint, &TrustPolicy::from(other.verifying_key().clone())),
        Err(Error::UntrustedKey { hint }) if hint.is_empty()
    ));
}

#[test]
fn python_signed_fixture_verifies() {
    let data = fixture();
    // The fixture key is in OpenSSL's SEC1 form, as `openssl ecparam` writes.
    let key_text = fs::read_to_string(data.join("key.pem")).unwrap();
    assert!(key_text.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let private = SigningKey::from_pem(&key_text).unwrap();
    assert_eq!(private.algorithm(), KeyAlgorithm::EcdsaP384);
    let public = VerifyingKey::from_pem_file(data.join("key.pub.pem")).unwrap();
    assert_eq!(private.verifying_key(), &public);

    let sig_path = data.join("model/model.sig");
    let sig = SignatureFile::read(&sig_path).unwrap();
    // model-signing names the key by the same hint Kiln computes.
    assert_eq!(sig.key_hint(), Some(public.hint()));
    let trust = TrustPolicy::from(public);
    let verified = oms::verify_dir(&data.join("model"), &sig_path, &trust).unwrap();
    let names: Vec<&str> = verified.files().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        ["config.json", "tokenizer/vocab.txt", "tokenizer.json", "weights.bin"]
    );
    assert_eq!(verified.model_name(), "model");

    // Kiln, signing the same files with the same key and the same ignore
    // list, reaches the same model digest.
    let ours = oms::sign_dir(
        &data.join("model"),
        &private,
        &SignOptions::default().with_ignore_path("notes.log"),
    )
    .unwrap();
    let ours = oms::verify_signature(&ours, &trust).unwrap();
    assert_eq!(ours.digest(), verified.digest());
    let hashed = hash_dir(
        &data.join("model"),
        &IgnorePaths::with_git_paths(["model.sig", "notes.log"]).unwrap(),
    )
    .unwrap();
    assert_eq!(hashed.len(), 4);

    // And a key that did not sign it is not trusted.
    let stranger = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    assert!(matches!(
        oms::verify_dir(
            &data.join("model"),
            &sig_path,
            &TrustPolicy::from(stranger.verifying_key().clone())
        ),
        Err(Error::UntrustedKey { .. })
    ));
}

/// File names from a small alphabet that includes the characters that sort
/// differently component-wise ('.', '-').
fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-c.\\-]{1,3}")
        .unwrap()
        .prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn tree() -> impl Strategy<Value = Vec<(Vec<String>, Vec<u8>)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(name(), 1..4),
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sign_verify_round_trip(files in tree(), alg in prop::sample::select(KeyAlgorithm::ALL.to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let mut written = std::collections::BTreeMap::new();
        for (parts, contents) in files {
            let rel = parts.join("/");
            let path = dir.path().join(&rel);
            // Skip paths that collide with a file or directory already made.
            if fs::create_dir_all(path.parent().unwrap()).is_err() || path.is_dir() {
                continue;
            }
            fs::write(&path, &contents).unwrap();
            written.insert(rel, contents);
        }
        written.retain(|rel, _| dir.path().join(rel).is_file());
        prop_assume!(!written.is_empty());
        let key = SigningKey::generate(alg).unwrap();
        let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
        let sig = SignatureFile::from_json(&sig.to_json().unwrap()).unwrap();
        let trust = TrustPolicy::from(key.verifying_key().clone());
        let verified = oms::verify_signature(&sig, &trust).unwrap().check_dir(dir.path()).unwrap();
        prop_assert_eq!(verified.files().len(), written.len());
        for f in verified.files() {
            prop_assert_eq!(f.digest, Digest::of(&written[&f.path]));
        }
    }
}

/// A valid signature file (made once) and its decoded payload.
fn valid_signature() -> &'static (Vec<u8>, Vec<u8>) {
    static SIG: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    SIG.get_or_init(|| {
        let dir = model_dir();
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let sig = oms::sign_dir(dir.path(), &key, &SignOptions::default()).unwrap();
        let payload = serde_json::to_vec(&payload_json(&sig)).unwrap();
        (sig.to_json().unwrap(), payload)
    })
}

/// The signature file with its payload replaced by `payload`.
fn with_payload(payload: &[u8]) -> Vec<u8> {
    let mut bundle: serde_json::Value = serde_json::from_slice(&valid_signature().0).unwrap();
    bundle["dsseEnvelope"]["payload"] = STANDARD.encode(payload).into();
    serde_json::to_vec(&bundle).unwrap()
}

fn damage(mut bytes: Vec<u8>, edits: &[(prop::sample::Index, u8)], cut: prop::sample::Index) -> (Vec<u8>, Vec<u8>) {
    for (at, byte) in edits {
        let i = at.index(bytes.len());
        bytes[i] = *byte;
    }
    let cut_at = cut.index(bytes.len());
    (bytes.clone(), bytes[..cut_at].to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Damaged signature files and payloads are refused with an error, never
    /// a panic.
    #[test]
    fn damaged_signature_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (json, payload) = valid_signature();
        // Any prefix that stops before the closing brace is not JSON.
        let prefix = &json[..cut.index(json.len() - 1)];
        prop_assert!(
            matches!(SignatureFile::from_json(prefix), Err(Error::MalformedSignature { .. })),
            "prefix accepted"
        );
        // Damage anywhere in the file, or inside the envelope where the
        // statement parser sees it: an error or (rarely) a still-valid
        // file, never a panic.
        let (edited, truncated) = damage(json.clone(), &edits, cut);
        let _ = SignatureFile::from_json(&edited);
        let _ = SignatureFile::from_json(&truncated);
        let (edited, truncated) = damage(payload.clone(), &edits, cut);
        let _ = SignatureFile::from_json(&with_payload(&edited));
        let _ = SignatureFile::from_json(&with_payload(&truncated));
    }
}
