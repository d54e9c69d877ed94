//! Shared helpers for the bundle tests: tiny models on random data, signing
//! keys, and editing a bundle behind the writer's back.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test binary uses a part

use std::fs;
use std::path::Path;

use kiln_artifact::manifest::{FileEntry, MANIFEST_FILE, Manifest, SIGNATURE_FILE};
use kiln_artifact::oms::{self, SignOptions};
use kiln_artifact::{KeyAlgorithm, SigningKey, TrustPolicy};
use kiln_core::{Batch, DType, Feature, Record, Role, Schema};
use kiln_train::{Backend, ModelSpec, TabularNet, Task, TrainedModel};
use kiln_transform::{FittedPipeline, Pipeline};

/// A small deterministic generator (splitmix64), so data follows a seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A model's parts: the training batch, its schema, a fitted pipeline and a
/// model with seeded random weights.
pub(crate) struct Parts {
    pub(crate) schema: Schema,
    pub(crate) batch: Batch,
    pub(crate) pipeline: FittedPipeline,
    pub(crate) model: TrainedModel,
}

pub(crate) const COLOURS: [&str; 3] = ["red", "green", "blue"];
pub(crate) const CLASSES: [&str; 3] = ["a", "b", "c"];

pub(crate) fn schema() -> Schema {
    Schema::new(vec![
        Feature::new("x", DType::Float64)
            .with_nullable(true)
            .with_range(Some(-10.0), Some(10.0)),
        Feature::new("n", DType::Int64),
        Feature::new("colour", DType::Categorical).with_categories(COLOURS),
        Feature::new("label", DType::Categorical)
            .with_categories(CLASSES)
            .with_role(Role::Label),
    ])
    .unwrap()
}

/// One random, valid record (with its label).
pub(crate) fn record(rng: &mut Rng) -> Record {
    let x = if rng.below(8) == 0 {
        None
    } else {
        Some(rng.unit() * 16.0 - 8.0)
    };
    Record::new()
        .with("x", x)
        .with("n", i64::try_from(rng.below(100)).unwrap() - 50)
        .with("colour", COLOURS[usize::try_from(rng.below(3)).unwrap()])
        .with("label", CLASSES[usize::try_from(rng.below(3)).unwrap()])
}

/// `rows` random records (at least one of each colour, so one-hot sees them all).
pub(crate) fn records(rng: &mut Rng, rows: usize) -> Vec<Record> {
    (0..rows)
        .map(|i| {
            let mut r = record(rng);
            if i < COLOURS.len() {
                r.insert("colour", COLOURS[i]);
                r.insert("x", rng.unit());
            }
            r
        })
        .collect()
}

/// Parts of a model on `rows` random rows, with `hidden` layers and random
/// weights from `seed`; binary or multiclass by `binary`.
pub(crate) fn parts(seed: u64, rows: usize, hidden: &[usize], binary: bool) -> Parts {
    let mut rng = Rng::new(seed);
    let schema = schema();
    let batch = Batch::from_records(schema.clone(), &records(&mut rng, rows)).unwrap();
    let pipeline = Pipeline::auto(&schema).fit(&batch).unwrap();
    let task = if binary {
        Task::Binary
    } else {
        Task::Multiclass { n_classes: 3 }
    };
    let classes: &[&str] = if binary { &CLASSES[..2] } else { &CLASSES };
    let spec = ModelSpec::mlp(task, pipeline.n_outputs(), hidden.to_vec()).with_class_names(classes.iter().copied());
    let device = Backend::Flex.device().unwrap();
    let net = TabularNet::init(&spec, seed, &device).unwrap();
    let model = TrainedModel::new(spec, net, Backend::Flex).unwrap();
    Parts {
        schema,
        batch,
        pipeline,
        model,
    }
}

pub(crate) fn key() -> SigningKey {
    SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

pub(crate) fn trust(key: &SigningKey) -> TrustPolicy {
    TrustPolicy::from(key.verifying_key().clone())
}

/// Rewrites the manifest entry of `path` for its current contents.
pub(crate) fn relist(dir: &Path, path: &str) {
    let mut manifest = read_manifest(dir);
    let bytes = fs::read(dir.join(path)).unwrap();
    let entry = manifest.files.iter_mut().find(|f| f.path == path).unwrap();
    *entry = FileEntry::of(path, &bytes);
    fs::write(dir.join(MANIFEST_FILE), manifest.to_json()).unwrap();
}

pub(crate) fn read_manifest(dir: &Path) -> Manifest {
    Manifest::from_json(&fs::read(dir.join(MANIFEST_FILE)).unwrap()).unwrap()
}

/// Signs the directory again as it is now (what an attacker holding the key,
/// or a buggy writer, would produce).
pub(crate) fn resign(dir: &Path, key: &SigningKey) {
    oms::sign_dir(dir, key, &SignOptions::default())
        .unwrap()
        .write(&dir.join(SIGNATURE_FILE))
        .unwrap();
}
