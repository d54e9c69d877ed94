//! `kiln keygen`, `kiln sign` and `kiln verify` through the real binary, on
//! a plain model directory and on a Kiln bundle (directory and .tar).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use kiln::artifact::BundleWriter;
use kiln::train::{Dataset, Hyperparameters, ModelSpec, RunContext, Trainer};
use kiln::transform::Pipeline;
use kiln::{CsvReader, InferOptions, ModelName, Schema};

mod common;
use common::{kiln, text};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `kiln keygen --out dir/name.pem [--algorithm alg]`; returns (private, public).
fn keygen(dir: &Path, name: &str, algorithm: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let o = kiln(&["keygen", "--out", s(&private), "--algorithm", algorithm]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let public = dir.join(format!("{name}.pem.pub"));
    assert!(private.is_file() && public.is_file());
    assert!(text(&o.stdout).contains("key hint:"), "{}", text(&o.stdout));
    (private, public)
}

/// A plain model directory of a few files.
fn model_dir(root: &Path) -> PathBuf {
    let dir = root.join("model");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("weights.bin"), vec![7u8; 4096]).unwrap();
    std::fs::write(dir.join("config.json"), br#"{"layers": 2}"#).unwrap();
    std::fs::write(dir.join("sub/vocab.txt"), b"a\nb\n").unwrap();
    dir
}

#[test]
fn keygen_refuses_to_overwrite_and_rejects_unknown_algorithms() {
    let tmp = tempfile::tempdir().unwrap();
    let (private, _) = keygen(tmp.path(), "k", "ecdsa-p256");
    let o = kiln(&["keygen", "--out", s(&private)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--force"), "{}", text(&o.stderr));
    let o = kiln(&["keygen", "--out", s(&private), "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = kiln(&["keygen", "--out", s(&tmp.path().join("x.pem")), "--algorithm", "rsa"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown algorithm"), "{}", text(&o.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
}

#[test]
fn sign_then_verify_a_model_directory_with_every_algorithm() {
    for algorithm in ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519"] {
        let tmp = tempfile::tempdir().unwrap();
        let (private, public) = keygen(tmp.path(), "k", algorithm);
        let dir = model_dir(tmp.path());
        let o = kiln(&["sign", s(&dir), "--key", s(&private)]);
        assert_eq!(o.status.code(), Some(0), "{algorithm}: {}", text(&o.stderr));
        assert!(dir.join("model.sig").is_file());

        let o = kiln(&["verify", s(&dir), "--public-key", s(&public)]);
        assert_eq!(o.status.code(), Some(0), "{algorithm}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains("verified model") && out.contains("3 files"), "{out}");
        assert!(out.contains("sub/vocab.txt"), "{out}");

        // One changed byte: exit 1, and the message names the file.
        let mut bytes = std::fs::read(dir.join("weights.bin")).unwrap();
        bytes[100] ^= 0x10;
        std::fs::write(dir.join("weights.bin"), bytes).unwrap();
        let o = kiln(&["verify", s(&dir), "--public-key", s(&public)]);
        assert_eq!(o.status.code(), Some(1), "{algorithm}");
        let err = text(&o.stderr);
        assert!(
            err.contains("verification failed") && err.contains("weights.bin") && err.contains("modified"),
            "{algorithm}: {err}"
        );
    }
}

#[test]
fn verify_names_what_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let (private, public) = keygen(tmp.path(), "trusted", "ecdsa-p256");
    let (_, other_public) = keygen(tmp.path(), "other", "ecdsa-p256");
    let dir = model_dir(tmp.path());
    assert_eq!(kiln(&["sign", s(&dir), "--key", s(&private)]).status.code(), Some(0));

    // Signed by a key we do not trust.
    let o = kiln(&["verify", s(&dir), "--public-key", s(&other_public)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not made by a trusted key"),
        "{}",
        text(&o.stderr)
    );
    // Trusting both keys accepts it.
    let o = kiln(&[
        "verify",
        s(&dir),
        "--public-key",
        s(&other_public),
        "--public-key",
        s(&public),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // A file added after signing.
    std::fs::write(dir.join("extra.txt"), b"x").unwrap();
    let o = kiln(&["verify", s(&dir), "--public-key", s(&public), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["verified"], false);
    assert!(doc["error"].as_str().unwrap().contains("extra.txt"), "{doc}");
    std::fs::remove_file(dir.join("extra.txt")).unwrap();

    // A file removed.
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let o = kiln(&["verify", s(&dir), "--public-key", s(&public)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("config.json") && text(&o.stderr).contains("missing"),
        "{}",
        text(&o.stderr)
    );

    // Unreadable input is a usage error (2), not a failed verification.
    let o = kiln(&["verify", s(&dir), "--public-key", s(&tmp.path().join("nope.pub"))]);
    assert_eq!(o.status.code(), Some(2));
    let o = kiln(&["verify", s(&tmp.path().join("nothing")), "--public-key", s(&public)]);
    assert_eq!(o.status.code(), Some(2));
}

/// Writes an unsigned Kiln bundle of a tiny trained model to `root/bundle`.
fn unsigned_bundle(root: &Path) -> PathBuf {
    let csv = "x,colour,label\n\
               -2.0,red,low\n-1.5,red,low\n-1.0,blue,low\n-0.5,red,low\n-0.2,blue,low\n-1.2,red,low\n\
               0.3,blue,high\n0.8,red,high\n1.1,blue,high\n1.6,blue,high\n2.0,red,high\n0.6,blue,high\n";
    let schema = Schema::infer_csv_bytes(
        csv.as_bytes(),
        "train.csv",
        &InferOptions::default().with_label("label"),
    )
    .unwrap();
    let batch = CsvReader::new(schema.clone())
        .read_bytes(csv.as_bytes(), "train.csv")
        .unwrap();
    let pipeline = Pipeline::auto(&schema).fit(&batch).unwrap();
    let data = Dataset::from_batch(&pipeline, &batch).unwrap();
    let hyper = Hyperparameters::default().with_epochs(5).with_validation_fraction(0.0);
    let trained = Trainer::new(ModelSpec::for_dataset(&data, []), hyper)
        .with_progress(false)
        .with_context(RunContext::new().without_git())
        .fit(&data)
        .unwrap();
    let dir = root.join("bundle");
    BundleWriter::new(schema, pipeline, trained.model)
        .unwrap()
        .with_name(ModelName::new("colours").unwrap())
        .with_run(trained.record)
        .unwrap()
        .write(&dir)
        .unwrap();
    dir
}

#[test]
fn sign_pack_and_verify_a_kiln_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let (private, public) = keygen(tmp.path(), "k", "ecdsa-p256");
    let dir = unsigned_bundle(tmp.path());
    let tar = tmp.path().join("colours.tar");

    // An unsigned bundle does not verify.
    let o = kiln(&["verify", s(&dir), "--public-key", s(&public)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));

    let o = kiln(&["sign", s(&dir), "--key", s(&private), "--tar", s(&tar)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("signed bundle"), "{}", text(&o.stdout));

    for path in [&dir, &tar] {
        let o = kiln(&["verify", s(path), "--public-key", s(&public), "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["kind"], "bundle");
        assert_eq!(doc["name"], "colours");
        assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"), "{doc}");
    }

    // The schema cut short inside the signed directory.
    std::fs::write(dir.join("schema.json"), b"{}").unwrap();
    let o = kiln(&["verify", s(&dir), "--public-key", s(&public)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("schema.json") && text(&o.stderr).contains("truncated"),
        "{}",
        text(&o.stderr)
    );
    // The packed copy is unaffected.
    let o = kiln(&["verify", s(&tar), "--public-key", s(&public)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // --tar needs a bundle.
    let plain = model_dir(tmp.path());
    let o = kiln(&[
        "sign",
        s(&plain),
        "--key",
        s(&private),
        "--tar",
        s(&tmp.path().join("p.tar")),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
