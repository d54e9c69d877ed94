//! Interoperability with the OpenSSF Model Signing reference implementation
//! (`model-signing` on PyPI, pinned in scripts/requirements.txt).
//!
//! Runs only when `KILN_PYTHON_VENV` names a virtual environment with
//! `model_signing` installed (`scripts/pyenv.sh` makes one; the test command
//! sets the variable). Without it, each test says so on stderr and returns;
//! the committed fixture in tests/data/oms-python (see tests/signing.rs)
//! still checks that Kiln verifies what Python signs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kiln_artifact::Error;
use kiln_artifact::keys::{KeyAlgorithm, SigningKey};
use kiln_artifact::oms::{self, SignOptions, TrustPolicy};

const VENV_VAR: &str = "KILN_PYTHON_VENV";

/// The OMS algorithms (Ed25519 is Kiln-only).
const OMS_ALGORITHMS: [KeyAlgorithm; 3] = [
    KeyAlgorithm::EcdsaP256,
    KeyAlgorithm::EcdsaP384,
    KeyAlgorithm::EcdsaP521,
];

/// The `model_signing` command of the venv, or `None` after saying loudly
/// why the test does not run.
fn model_signing(test: &str) -> Option<PathBuf> {
    let Some(venv) = std::env::var_os(VENV_VAR) else {
        let message = format!(
            "\n*** {test}: SKIPPED: {VENV_VAR} is not set, so the Python OMS reference \
             implementation was not run. Set it to the venv made by scripts/pyenv.sh. ***\n"
        );
        // Written to the real stderr in one piece, past the test harness's capture.
        let _ = std::io::stderr().write_all(message.as_bytes());
        return None;
    };
    let bin = Path::new(&venv).join("bin").join("model_signing");
    assert!(
        bin.is_file(),
        "{VENV_VAR}={} has no bin/model_signing: run scripts/pyenv.sh",
        Path::new(&venv).display()
    );
    Some(bin)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("model_signing runs")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn python_verify(bin: &Path, model: &Path, sig: &Path, public_key: &Path) -> Output {
    run(Command::new(bin)
        .args(["verify", "key"])
        .arg(model)
        .arg("--signature")
        .arg(sig)
        .arg("--public_key")
        .arg(public_key))
}

fn python_sign(bin: &Path, model: &Path, sig: &Path, private_key: &Path) -> Output {
    run(Command::new(bin)
        .args(["sign", "key"])
        .arg(model)
        .arg("--private_key")
        .arg(private_key)
        .arg("--signature")
        .arg(sig))
}

/// A model whose names exercise the path order ("a/b" before "a-b" and
/// "a.json"), plus a git directory that both sides leave out.
fn make_model(root: &Path) -> PathBuf {
    let model = root.join("model");
    for (rel, contents) in [
        ("weights.safetensors", vec![3u8; 70_000]),
        ("model.json", b"{\"layers\": 2}".to_vec()),
        ("a/b", b"b".to_vec()),
        ("a-b", b"dash".to_vec()),
        ("a.json", b"{}".to_vec()),
        ("nested/deeper/file.txt", b"deep".to_vec()),
        ("empty", Vec::new()),
        (".git/HEAD", b"ref: refs/heads/main".to_vec()),
    ] {
        let path = model.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    model
}

#[test]
fn python_verifies_kiln_signatures() {
    let Some(bin) = model_signing("python_verifies_kiln_signatures") else {
        return;
    };
    for alg in OMS_ALGORITHMS {
        let tmp = tempfile::tempdir().unwrap();
        let model = make_model(tmp.path());
        let key = SigningKey::generate(alg).unwrap();
        let public = tmp.path().join("key.pub.pem");
        fs::write(&public, key.verifying_key().to_public_key_pem()).unwrap();
        let sig = model.join("model.sig");
        oms::sign_dir(&model, &key, &SignOptions::default())
            .unwrap()
            .write(&sig)
            .unwrap();

        let out = python_verify(&bin, &model, &sig, &public);
        assert!(
            out.status.success(),
            "{alg}: Python must accept Kiln's signature: {}",
            describe(&out)
        );

        // A signature outside the model directory works as well.
        let outside = tmp.path().join("outside.sig");
        oms::sign_dir(&model, &key, &SignOptions::default())
            .unwrap()
            .write(&outside)
            .unwrap();
        let out = python_verify(&bin, &model, &outside, &public);
        assert!(out.status.success(), "{alg}: {}", describe(&out));

        // Tampered copies fail in Python too.
        fs::write(model.join("a-b"), b"DASH").unwrap();
        let out = python_verify(&bin, &model, &sig, &public);
        assert!(!out.status.success(), "{alg}: Python accepted a modified file");
        fs::write(model.join("a-b"), b"dash").unwrap();
        fs::write(model.join("nested/new.txt"), b"new").unwrap();
        let out = python_verify(&bin, &model, &sig, &public);
        assert!(!out.status.success(), "{alg}: Python accepted an unlisted file");
        fs::remove_file(model.join("nested/new.txt")).unwrap();
        let out = python_verify(&bin, &model, &sig, &public);
        assert!(out.status.success(), "{alg}: restored model: {}", describe(&out));

        // And another key's public key does not verify it.
        let stranger = SigningKey::generate(alg).unwrap();
        let stranger_pub = tmp.path().join("stranger.pub.pem");
        fs::write(&stranger_pub, stranger.verifying_key().to_public_key_pem()).unwrap();
        let out = python_verify(&bin, &model, &sig, &stranger_pub);
        assert!(!out.status.success(), "{alg}: Python accepted the wrong key");
    }
}

#[test]
fn kiln_verifies_python_signatures() {
    let Some(bin) = model_signing("kiln_verifies_python_signatures") else {
        return;
    };
    for alg in OMS_ALGORITHMS {
        let tmp = tempfile::tempdir().unwrap();
        let model = make_model(tmp.path());
        let key = SigningKey::generate(alg).unwrap();
        let private = tmp.path().join("key.pem");
        fs::write(&private, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let sig = model.join("model.sig");

        let out = python_sign(&bin, &model, &sig, &private);
        assert!(
            out.status.success(),
            "{alg}: Python could not sign with Kiln's key: {}",
            describe(&out)
        );

        let trust = TrustPolicy::from(key.verifying_key().clone());
        let verified = oms::verify_dir(&model, &sig, &trust)
            .unwrap_or_else(|e| panic!("{alg}: Kiln must accept Python's signature: {e}"));
        assert_eq!(verified.files().len(), 7, "{alg}");
        assert_eq!(verified.signer(), key.verifying_key());

        // Both implementations reach the same model digest.
        let ours = oms::sign_dir(&model, &key, &SignOptions::default()).unwrap();
        let ours = oms::verify_signature(&ours, &trust).unwrap();
        assert_eq!(ours.digest(), verified.digest(), "{alg}");
        let order = |files: &[(String, kiln_core::Digest)]| files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        let theirs = oms::verify_signature(&oms::SignatureFile::read(&sig).unwrap(), &trust).unwrap();
        assert_eq!(order(ours.files()), order(theirs.files()), "{alg}: same resource order");

        // Tampering is caught.
        fs::write(model.join("a/b"), b"B").unwrap();
        assert!(
            matches!(oms::verify_dir(&model, &sig, &trust), Err(Error::FileModified { ref path, .. }) if path == "a/b"),
            "{alg}"
        );
    }
}
