//! Writing, signing, opening and loading bundles; every way a bundle can be
//! wrong gives its own error, and nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod bundle_support;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bundle_support::{Parts, key, parts, read_manifest, relist, resign, trust};
use kiln_artifact::card::ModelCard;
use kiln_artifact::manifest::{
    CARD_FILE, MANIFEST_FILE, MODEL_FILE, PIPELINE_FILE, PROFILE_FILE, RUN_FILE, SCHEMA_FILE, SIGNATURE_FILE,
    WEIGHTS_FILE,
};
use kiln_artifact::profile::PredictionProfile;
use kiln_artifact::{Bundle, BundleWriter, Error, KeyAlgorithm, SigningKey};
use kiln_core::{ModelName, Record, Version};
use kiln_train::{Backend, Dataset, Hyperparameters, ModelSpec, RunContext, Trainer};
use kiln_validate::{Policy, Unexpected, ValidatorConfig};
use serde_json::Value;

fn writer(p: &Parts) -> BundleWriter {
    BundleWriter::new(p.schema.clone(), p.pipeline.clone(), p.model.clone()).unwrap()
}

fn signed(p: &Parts, dir: &Path, key: &SigningKey) -> Bundle {
    writer(p).write(dir).unwrap().sign(key).unwrap()
}

#[test]
fn a_trained_model_round_trips_with_run_profile_and_card() {
    let p = parts(1, 60, &[5], false);
    let data = Dataset::from_batch(&p.pipeline, &p.batch).unwrap();
    let trained = Trainer::new(
        ModelSpec::for_dataset(&data, [4]),
        Hyperparameters::default().with_epochs(3).with_seed(2),
    )
    .with_progress(false)
    .with_context(RunContext::new().with_name("t").without_git())
    .fit(&data)
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let key = key();
    let card = ModelCard::new()
        .with_intended_use("Tests only.")
        .with_owner("kiln tests")
        .with_limitation("Random data.");
    let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let bundle = BundleWriter::new(p.schema.clone(), p.pipeline.clone(), trained.model.clone())
        .unwrap()
        .with_name(ModelName::new("tiny").unwrap())
        .with_version(Version::new(3).unwrap())
        .with_run(trained.record.clone())
        .unwrap()
        .with_baseline(&p.batch)
        .unwrap()
        .with_card(card)
        .with_created_at(created)
        .write(work.path().join("tiny"))
        .unwrap();
    let names: Vec<&str> = bundle.manifest().files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        [
            CARD_FILE,
            MODEL_FILE,
            WEIGHTS_FILE,
            PIPELINE_FILE,
            PROFILE_FILE,
            RUN_FILE,
            SCHEMA_FILE
        ]
    );
    // Every JSON file carries its format tag.
    for (file, tag) in [
        (MANIFEST_FILE, "kiln.manifest/v1"),
        (SCHEMA_FILE, "kiln.schema/v1"),
        (PIPELINE_FILE, "kiln.pipeline/v1"),
        (MODEL_FILE, "kiln.model/v1"),
        (RUN_FILE, "kiln.run/v1"),
        (PROFILE_FILE, "kiln.profile/v1"),
    ] {
        let v: Value = serde_json::from_slice(&fs::read(bundle.dir().join(file)).unwrap()).unwrap();
        assert_eq!(v["format"], tag, "{file}");
    }
    let signed = bundle.sign(&key).unwrap();
    let opened = Bundle::open(signed.dir(), &trust(&key)).unwrap();
    assert_eq!(opened.digest(), signed.digest());
    assert_eq!(opened.signer(), key.verifying_key());
    assert_eq!(opened.name().map(ModelName::as_str), Some("tiny"));
    assert_eq!(opened.version().map(Version::get), Some(3));
    assert_eq!(opened.schema(), &p.schema);
    assert_eq!(opened.pipeline(), &p.pipeline);
    assert_eq!(opened.model_spec(), trained.model.spec());
    assert_eq!(opened.run(), Some(&trained.record));

    let m = opened.manifest();
    assert_eq!(m.created_at, "2023-11-14T22:13:20Z");
    assert_eq!(m.digests.training_data, Some(trained.record.data.matrix_sha256));
    assert_eq!(m.model.family, "mlp_classifier");
    assert_eq!(m.signature.inputs.len(), 3);
    assert_eq!(
        m.signature.outputs[0].categories.as_deref(),
        Some(&["a".to_owned(), "b".to_owned(), "c".to_owned()][..])
    );
    assert_eq!(m.card.owner.as_deref(), Some("kiln tests"));
    assert_eq!(m.card.metrics.overall, trained.record.metrics);
    assert!(m.card.metrics.calibration.is_some());
    let md = opened.card_markdown();
    for needle in [
        "# Model card: tiny v3",
        "## Intended use",
        "Tests only.",
        "## Metrics",
        "### Calibration",
        "- Random data.",
    ] {
        assert!(md.contains(needle), "card lacks {needle:?}:\n{md}");
    }

    let profile = opened.profile().unwrap();
    assert_eq!(profile.rows, 60);
    assert_eq!(profile.features.len(), 4);
    assert_eq!(profile.validation.rows(), 60);
    match &profile.predictions {
        Some(PredictionProfile::Classification { labels, confidence }) => {
            assert_eq!(labels.total(), 60);
            assert_eq!(confidence.count, 60);
        }
        other => panic!("{other:?}"),
    }

    let loaded = opened.load(&Backend::Flex).unwrap();
    assert_eq!(loaded.digest(), signed.digest());
    let x = p.pipeline.transform_batch(&p.batch).unwrap();
    let expected = trained.model.predict_slice(&x.data, x.rows).unwrap();
    assert_eq!(loaded.predict_batch(&p.batch).unwrap(), expected);
}

#[test]
fn writing_never_overwrites() {
    let p = parts(2, 20, &[], true);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("b");
    fs::create_dir(&dir).unwrap();
    assert!(matches!(writer(&p).write(&dir), Err(Error::AlreadyExists { .. })));
    // Nothing else was left beside it.
    assert_eq!(fs::read_dir(work.path()).unwrap().count(), 1);
}

#[test]
fn an_unsigned_bundle_does_not_open() {
    let p = parts(3, 20, &[], true);
    let work = tempfile::tempdir().unwrap();
    let bundle = writer(&p).write(work.path().join("b")).unwrap();
    let err = Bundle::open(bundle.dir(), &trust(&key())).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with(SIGNATURE_FILE)),
        "{err}"
    );
}

#[test]
fn signing_refuses_a_bundle_changed_after_writing() {
    let p = parts(4, 20, &[], true);
    let work = tempfile::tempdir().unwrap();
    let key = key();
    let added = writer(&p).write(work.path().join("added")).unwrap();
    fs::write(added.dir().join("README.md"), "hi").unwrap();
    assert!(matches!(added.sign(&key), Err(Error::InvalidBundle(m)) if m.contains("README.md")));
    let changed = writer(&p).write(work.path().join("changed")).unwrap();
    fs::write(changed.dir().join(SCHEMA_FILE), "{}").unwrap();
    assert!(matches!(changed.sign(&key), Err(Error::InvalidBundle(m)) if m.contains(SCHEMA_FILE)));
}

#[test]
fn verification_errors_are_distinct() {
    let p = parts(5, 20, &[3], false);
    let work = tempfile::tempdir().unwrap();
    let key = key();
    let fresh = |name: &str| signed(&p, &work.path().join(name), &key);

    let other = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let b = fresh("untrusted");
    assert!(matches!(
        Bundle::open(b.dir(), &trust(&other)),
        Err(Error::UntrustedKey { .. })
    ));

    let b = fresh("truncated");
    let weights = fs::read(b.dir().join(WEIGHTS_FILE)).unwrap();
    fs::write(b.dir().join(WEIGHTS_FILE), &weights[..weights.len() / 2]).unwrap();
    let err = Bundle::open(b.dir(), &trust(&key)).unwrap_err();
    assert!(
        matches!(&err, Error::FileTruncated { path, expected, found }
            if path == WEIGHTS_FILE && *expected == weights.len() as u64 && *found == (weights.len() / 2) as u64),
        "{err}"
    );

    let b = fresh("modified");
    let mut schema = fs::read(b.dir().join(SCHEMA_FILE)).unwrap();
    schema.push(b'\n');
    fs::write(b.dir().join(SCHEMA_FILE), schema).unwrap();
    assert!(
        matches!(Bundle::open(b.dir(), &trust(&key)), Err(Error::FileModified { path, .. }) if path == SCHEMA_FILE)
    );

    // A truncated manifest cannot vouch for sizes: the error stays "modified".
    let b = fresh("manifest-cut");
    let manifest = fs::read(b.dir().join(MANIFEST_FILE)).unwrap();
    fs::write(b.dir().join(MANIFEST_FILE), &manifest[..10]).unwrap();
    assert!(
        matches!(Bundle::open(b.dir(), &trust(&key)), Err(Error::FileModified { path, .. }) if path == MANIFEST_FILE)
    );

    let b = fresh("unlisted");
    fs::write(b.dir().join("extra.bin"), "x").unwrap();
    assert!(matches!(
        Bundle::open(b.dir(), &trust(&key)),
        Err(Error::UnlistedFile { .. })
    ));

    let b = fresh("missing");
    fs::remove_file(b.dir().join(CARD_FILE)).unwrap();
    assert!(matches!(
        Bundle::open(b.dir(), &trust(&key)),
        Err(Error::MissingFile { .. })
    ));
}

/// Rewrites the weights, lists them in the manifest and signs again: the
/// signature holds, so the loader itself must refuse the weights.
fn resigned_with_weights(p: &Parts, dir: &Path, key: &SigningKey, edit: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Error {
    let b = signed(p, dir, key);
    let weights = fs::read(b.dir().join(WEIGHTS_FILE)).unwrap();
    fs::write(b.dir().join(WEIGHTS_FILE), edit(weights)).unwrap();
    relist(b.dir(), WEIGHTS_FILE);
    resign(b.dir(), key);
    Bundle::open(b.dir(), &trust(key)).unwrap_err()
}

fn header(weights: &[u8]) -> (usize, Value) {
    let n = usize::try_from(u64::from_le_bytes(weights[..8].try_into().unwrap())).unwrap();
    (n, serde_json::from_slice(&weights[8..8 + n]).unwrap())
}

/// The weights with their header replaced.
fn with_header(weights: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (n, mut h) = header(weights);
    edit(&mut h);
    let json = serde_json::to_vec(&h).unwrap();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(&weights[8 + n..]);
    out
}

#[test]
fn tampered_weights_in_a_resigned_bundle_are_typed_errors() {
    let p = parts(6, 20, &[3], false);
    let work = tempfile::tempdir().unwrap();
    let key = key();
    let weights_error = |name: &str, edit: Box<dyn FnOnce(Vec<u8>) -> Vec<u8>>| {
        let err = resigned_with_weights(&p, &work.path().join(name), &key, edit);
        match err {
            Error::Train(kiln_train::Error::Weights { reason, .. }) => reason,
            other => panic!("{name}: {other}"),
        }
    };
    let r = weights_error("cut", Box::new(|w: Vec<u8>| w[..w.len() - 4].to_vec()));
    assert!(r.contains("spans bytes"), "{r}");
    let r = weights_error("tiny", Box::new(|w: Vec<u8>| w[..5].to_vec()));
    assert!(r.contains("8-byte"), "{r}");
    let r = weights_error(
        "huge-header",
        Box::new(|mut w: Vec<u8>| {
            w[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            w
        }),
    );
    assert!(r.contains("header length"), "{r}");
    let r = weights_error(
        "garbage-header",
        Box::new(|mut w: Vec<u8>| {
            w[8] = b'[';
            w
        }),
    );
    assert!(r.contains("not a JSON object"), "{r}");
    let r = weights_error(
        "shape",
        Box::new(|w: Vec<u8>| {
            with_header(&w, |h| {
                let shape = h["layers.0.weight"]["shape"].as_array_mut().unwrap();
                shape.reverse();
            })
        }),
    );
    assert!(r.contains("shape"), "{r}");
    let r = weights_error(
        "dtype",
        Box::new(|w: Vec<u8>| with_header(&w, |h| h["layers.0.bias"]["dtype"] = "F16".into())),
    );
    assert!(r.contains("dtype"), "{r}");
    let r = weights_error(
        "offsets",
        Box::new(|w: Vec<u8>| {
            with_header(&w, |h| {
                h["layers.1.bias"]["data_offsets"] = serde_json::json!([0, 1_000_000_000])
            })
        }),
    );
    assert!(r.contains("spans bytes"), "{r}");
    let r = weights_error(
        "renamed",
        Box::new(|w: Vec<u8>| {
            with_header(&w, |h| {
                let t = h.as_object_mut().unwrap().remove("layers.1.bias").unwrap();
                h["layers.1.bias_"] = t;
            })
        }),
    );
    assert!(r.contains("unexpected tensor"), "{r}");
}

#[test]
fn resigned_documents_are_checked_after_verification() {
    let p = parts(7, 20, &[], true);
    let work = tempfile::tempdir().unwrap();
    let key = key();

    // A future major version of a document.
    let b = signed(&p, &work.path().join("future"), &key);
    let mut v: Value = serde_json::from_slice(&fs::read(b.dir().join(MODEL_FILE)).unwrap()).unwrap();
    v["format"] = "kiln.model/v2".into();
    fs::write(b.dir().join(MODEL_FILE), v.to_string()).unwrap();
    relist(b.dir(), MODEL_FILE);
    resign(b.dir(), &key);
    let err = Bundle::open(b.dir(), &trust(&key)).unwrap_err();
    assert!(
        matches!(&err, Error::Core(kiln_core::Error::UnsupportedFormat { .. })),
        "{err}"
    );

    // Unknown fields and a minor revision are fine.
    let b = signed(&p, &work.path().join("minor"), &key);
    let mut v: Value = serde_json::from_slice(&fs::read(b.dir().join(MANIFEST_FILE)).unwrap()).unwrap();
    v["format"] = "kiln.manifest/v1.3".into();
    v["added_in_a_later_kiln"] = serde_json::json!({"x": 1});
    fs::write(b.dir().join(MANIFEST_FILE), v.to_string()).unwrap();
    resign(b.dir(), &key);
    let opened = Bundle::open(b.dir(), &trust(&key)).unwrap();
    assert_eq!(opened.manifest().format, "kiln.manifest/v1.3");

    // A signed file the manifest does not list.
    let b = signed(&p, &work.path().join("unlisted"), &key);
    fs::write(b.dir().join("notes.txt"), "x").unwrap();
    resign(b.dir(), &key);
    assert!(matches!(Bundle::open(b.dir(), &trust(&key)), Err(Error::InvalidBundle(m)) if m.contains("notes.txt")));

    // A manifest whose digests are not the schema's.
    let b = signed(&p, &work.path().join("digest"), &key);
    let mut m = read_manifest(b.dir());
    m.digests.schema = kiln_core::Digest::of(b"another schema");
    fs::write(b.dir().join(MANIFEST_FILE), m.to_json()).unwrap();
    resign(b.dir(), &key);
    assert!(matches!(Bundle::open(b.dir(), &trust(&key)), Err(Error::InvalidBundle(m)) if m.contains("digests")));

    // A model that does not take the pipeline's outputs.
    let b = signed(&p, &work.path().join("arch"), &key);
    let other = kiln_artifact::manifest::ModelDoc::new(&ModelSpec::logistic_regression(p.pipeline.n_outputs() + 1));
    fs::write(b.dir().join(MODEL_FILE), other.to_json()).unwrap();
    relist(b.dir(), MODEL_FILE);
    resign(b.dir(), &key);
    assert!(matches!(Bundle::open(b.dir(), &trust(&key)), Err(Error::InvalidBundle(m)) if m.contains("inputs")));
}

#[test]
fn predictions_validate_first() {
    let p = parts(8, 30, &[4], false);
    let work = tempfile::tempdir().unwrap();
    let key = key();
    let b = signed(&p, &work.path().join("b"), &key);
    let model = Bundle::open(b.dir(), &trust(&key))
        .unwrap()
        .load(&Backend::Flex)
        .unwrap();
    assert_eq!(model.request_schema().len(), 3);
    let ok = Record::new()
        .with("x", 1.0)
        .with("n", 3)
        .with("colour", "red")
        .with("request_id", "r1");
    assert_eq!(model.predict(&ok).unwrap().rows(), 1);
    let bad = ok.clone().with("colour", "purple");
    let err = model.predict(&bad).unwrap_err();
    assert!(
        matches!(&err, Error::Validate(_)) && err.to_string().contains("colour"),
        "{err}"
    );
    let out_of_range = ok.with("x", 99.0);
    assert!(matches!(model.predict(&out_of_range), Err(Error::Validate(_))));
    let flagging = ValidatorConfig::serving()
        .with_default_policy(Policy::Flag)
        .with_unexpected(Unexpected::Ignore);
    let lenient = model.clone().with_validator_config(flagging).unwrap();
    assert_eq!(lenient.predict(&out_of_range).unwrap().rows(), 1);
    let unknown = ValidatorConfig::serving().with_policy("label", Policy::Flag);
    assert!(matches!(
        model.clone().with_validator_config(unknown),
        Err(Error::Validate(_))
    ));

    let mut rows = p.batch.to_records();
    rows[4].insert("x", 50.0);
    rows[9].insert("x", -50.0);
    let batch = kiln_core::Batch::from_records(p.schema.clone(), &rows).unwrap();
    match model.predict_batch(&batch) {
        Err(Error::RowsRejected {
            rejected,
            rows,
            first_row,
            report,
        }) => {
            assert_eq!((rejected, rows, first_row), (2, 30, 4));
            assert_eq!(report.feature("x").unwrap().offending_rows(), [4, 9]);
        }
        other => panic!("{other:?}"),
    }
}
