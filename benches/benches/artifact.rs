//! Signing and verifying model directories (OpenSSF Model Signing, ECDSA
//! P-256), against the speed of SHA-256 itself.
//!
//! `cargo bench -p kiln-benches --bench artifact`. Two model directories are
//! generated once under `target/bench-data/` (never committed):
//!
//! - `oms_1gib/model`: a 1 GiB `weights.bin` and a few small files;
//! - `oms_100kib/model`: 100 KiB in a handful of files.
//!
//! Each is signed with a P-256 key made with the data; the signature
//! (`model/model.sig`) and the keys (`key.pem`, `key.pub.pem`) stay beside it for
//! `benches/compare/oms_verify.py`, which times the Python reference verifier
//! on the same directory. The files stay in the page cache between runs, so
//! the benches measure hashing, not the disk.
//!
//! Groups:
//!
//! - `oms_1gib` / `oms_100kib`: `oms::sign_dir` and `oms::verify_dir`;
//! - `sha256_1gib`: single-core SHA-256 of the weights' bytes from memory
//!   (`hash_in_memory`) and `hashing::hash_file` of the weights file (disk
//!   cache, reader thread): their ratio is how close file hashing gets to the
//!   speed of SHA-256.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln_artifact::hashing::hash_file;
use kiln_artifact::keys::{KeyAlgorithm, SigningKey};
use kiln_artifact::oms::{self, SignOptions, TrustPolicy};
use kiln_benches::{SEED, SplitMix64};

const GIB: u64 = 1 << 30;

struct Model {
    dir: PathBuf,
    sig: PathBuf,
    bytes: u64,
    /// The key the signature on disk was made with (generated with the data).
    key: SigningKey,
}

fn bench_data() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("bench-data")
}

/// Writes `len` pseudo-random bytes (SplitMix64 from `seed`) to `path`.
fn write_random(path: &Path, len: u64, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
}

/// Makes (once) a model directory of `weights` bytes of weights plus a few
/// small files, signed with a fresh P-256 key kept beside it.
fn model(name: &str, weights: u64, small: &[(&str, u64)]) -> Model {
    let root = bench_data().join(name);
    let dir = root.join("model");
    let sig = dir.join("model.sig");
    let stamp = root.join("complete");
    if !stamp.exists() {
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(dir.join("tokenizer")).unwrap();
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        fs::write(root.join("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        write_random(&dir.join("weights.bin"), weights, SEED);
        for (i, (rel, len)) in small.iter().enumerate() {
            write_random(&dir.join(rel), *len, SEED + 1 + i as u64);
        }
        fs::write(root.join("key.pub.pem"), key.verifying_key().to_public_key_pem()).unwrap();
        oms::sign_dir(&dir, &key, &SignOptions::default())
            .unwrap()
            .write(&sig)
            .unwrap();
        fs::write(&stamp, b"").unwrap();
    }
    let bytes = weights + small.iter().map(|(_, len)| len).sum::<u64>();
    let key = SigningKey::from_pem_file(root.join("key.pem")).unwrap();
    Model { dir, sig, bytes, key }
}

fn sign_and_verify(c: &mut Criterion, group_name: &str, m: &Model, samples: usize, seconds: u64) {
    let key = &m.key;
    let trust = TrustPolicy::from(key.verifying_key().clone());
    oms::verify_dir(&m.dir, &m.sig, &trust).expect("bench model verifies");
    let mut group = c.benchmark_group(group_name);
    group.sample_size(samples);
    group.measurement_time(Duration::from_secs(seconds));
    group.throughput(Throughput::Bytes(m.bytes));
    group.bench_function("sign_p256", |b| {
        b.iter(|| oms::sign_dir(black_box(&m.dir), key, &SignOptions::default()).unwrap());
    });
    group.bench_function("verify_p256", |b| {
        b.iter(|| oms::verify_dir(black_box(&m.dir), &m.sig, &trust).unwrap());
    });
    group.finish();
}

fn oms_1gib(c: &mut Criterion) {
    let m = model(
        "oms_1gib",
        GIB - 64 * 1024,
        &[
            ("config.json", 2 * 1024),
            ("tokenizer.json", 30 * 1024),
            ("tokenizer/vocab.txt", 32 * 1024),
        ],
    );
    sign_and_verify(c, "oms_1gib", &m, 10, 30);

    // The same bytes: SHA-256 alone on one core, and the file hasher.
    let weights_path = m.dir.join("weights.bin");
    let weights = fs::read(&weights_path).unwrap();
    let mut group = c.benchmark_group("sha256_1gib");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(weights.len() as u64));
    group.bench_function("hash_in_memory", |b| {
        b.iter(|| {
            let mut h = kiln_core::Hasher::new();
            h.update(black_box(&weights));
            h.finish()
        });
    });
    drop(weights);
    group.bench_function("hash_file", |b| {
        b.iter(|| hash_file(black_box(&weights_path)).unwrap());
    });
    group.finish();
}

fn oms_100kib(c: &mut Criterion) {
    let m = model(
        "oms_100kib",
        80 * 1024,
        &[
            ("config.json", 1024),
            ("tokenizer.json", 9 * 1024),
            ("tokenizer/vocab.txt", 10 * 1024),
        ],
    );
    sign_and_verify(c, "oms_100kib", &m, 50, 5);
}

criterion_group!(benches, oms_1gib, oms_100kib);
criterion_main!(benches);
