//! Arbitrary bytes as `model.safetensors` of a validly signed bundle (the
//! signer re-signs whatever it is given, as a compromised build could):
//! `Bundle::open` and `load` never panic, and refuse anything whose header
//! does not match `model.json` with a typed error before Burn builds a tensor.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_artifact::manifest::{FileEntry, MANIFEST_FILE, Manifest, SIGNATURE_FILE, WEIGHTS_FILE};
use kiln_artifact::oms::{self, SignOptions};
use kiln_artifact::{Bundle, BundleWriter, Error, KeyAlgorithm, SigningKey, TrustPolicy};
use kiln_core::{Batch, DType, Feature, Record, Role, Schema};
use kiln_train::{Backend, ModelSpec, TabularNet, Task, TrainedModel};
use kiln_transform::Pipeline;
use libfuzzer_sys::fuzz_target;

struct Template {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    manifest: Manifest,
    key: SigningKey,
    trust: TrustPolicy,
    request: Record,
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("setting up the template bundle: {e}"))
}

/// A tiny signed bundle, written once; each input replaces its weights.
fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let schema = ok(Schema::new(vec![
            Feature::new("x", DType::Float64),
            Feature::new("c", DType::Categorical).with_categories(["a", "b"]),
            Feature::new("y", DType::Bool).with_role(Role::Label),
        ]));
        let rows: Vec<Record> = (0..8)
            .map(|i| {
                Record::new()
                    .with("x", f64::from(i))
                    .with("c", if i % 2 == 0 { "a" } else { "b" })
                    .with("y", i > 3)
            })
            .collect();
        let batch = ok(Batch::from_records(schema.clone(), &rows));
        let pipeline = ok(Pipeline::auto(&schema).fit(&batch));
        let spec = ModelSpec::mlp(Task::Binary, pipeline.n_outputs(), [3]);
        let net = ok(TabularNet::init(&spec, 1, &ok(Backend::Flex.device())));
        let model = ok(TrainedModel::new(spec, net, Backend::Flex));
        let key = ok(SigningKey::generate(KeyAlgorithm::Ed25519));
        let tmp = ok(tempfile::tempdir());
        let dir = tmp.path().join("bundle");
        let bundle = ok(ok(BundleWriter::new(schema, pipeline, model)).write(&dir));
        let manifest = bundle.manifest().clone();
        Template {
            _tmp: tmp,
            dir,
            manifest,
            trust: TrustPolicy::from(key.verifying_key().clone()),
            key,
            request: Record::new().with("x", 2.5).with("c", "b"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let t = template();
    ok(fs::write(t.dir.join(WEIGHTS_FILE), data));
    let mut manifest = t.manifest.clone();
    for f in &mut manifest.files {
        if f.path == WEIGHTS_FILE {
            *f = FileEntry::of(WEIGHTS_FILE, data);
        }
    }
    ok(fs::write(t.dir.join(MANIFEST_FILE), manifest.to_json()));
    ok(ok(oms::sign_dir(&t.dir, &t.key, &SignOptions::default())).write(&t.dir.join(SIGNATURE_FILE)));

    let bundle = match Bundle::open(&t.dir, &t.trust) {
        Ok(bundle) => bundle,
        Err(Error::Train(kiln_train::Error::Weights { .. })) => return,
        Err(e) => panic!("weights refused with the wrong error: {e}"),
    };
    // The header matched model.json: the weights load and predict (NaN and
    // infinite weights are data, not errors).
    let model = match bundle.load(&Backend::Flex) {
        Ok(model) => model,
        Err(e) => panic!("weights passed the header check but do not load: {e}"),
    };
    let _ = model.predict(&t.request);
});
