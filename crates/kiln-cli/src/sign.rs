//! `kiln keygen`, `kiln sign` and `kiln verify`: keys and model signatures
//! (OpenSSF Model Signing v1.0 in key mode, plus Kiln's Ed25519 mode).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use kiln::artifact::oms::{self, SignOptions, TrustPolicy};
use kiln::artifact::{Bundle, KeyAlgorithm, SigningKey, VerifyingKey};

use crate::runs::table;

/// The signature file inside a model directory.
const SIGNATURE_FILE: &str = oms::SIGNATURE_FILE;
/// The file that makes a directory a Kiln bundle.
const MANIFEST_FILE: &str = kiln::artifact::manifest::MANIFEST_FILE;

#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM; created with mode 0600).
    /// The public key (SPKI PEM) goes to the same path plus `.pub`.
    #[arg(short, long)]
    out: PathBuf,
    /// ecdsa-p256 (default), ecdsa-p384, ecdsa-p521 (all three verify with
    /// the OpenSSF `model_signing` tools) or ed25519 (Kiln only).
    #[arg(short, long, default_value = "ecdsa-p256")]
    algorithm: String,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// The model directory: a Kiln bundle (it has a manifest.json) or any
    /// directory of model files.
    dir: PathBuf,
    /// The private key (PEM: PKCS#8, or SEC1 `EC PRIVATE KEY`).
    #[arg(short, long)]
    key: PathBuf,
    /// Also pack the signed bundle into this .tar (Kiln bundles only).
    #[arg(long)]
    tar: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// A model directory or a packed Kiln bundle (.tar).
    path: PathBuf,
    /// A trusted public key (SPKI PEM); repeat to trust several.
    #[arg(short = 'k', long = "public-key", required = true)]
    public_keys: Vec<PathBuf>,
    /// The signature file, for a directory (default: DIR/model.sig).
    #[arg(long)]
    signature: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn keygen(args: &KeygenArgs) -> Result<bool> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let public = public_path(&args.out);
    for path in [&args.out, &public] {
        if path.exists() && !args.force {
            bail!("{} exists; pass --force to overwrite it", path.display());
        }
    }
    let key = SigningKey::generate(algorithm)?;
    let pem = key.to_pkcs8_pem()?;
    write_private(&args.out, pem.as_bytes())?;
    let verifying = key.verifying_key();
    std::fs::write(&public, verifying.to_public_key_pem())
        .with_context(|| format!("cannot write {}", public.display()))?;
    println!("private key: {} ({algorithm})", args.out.display());
    println!("public key:  {}", public.display());
    println!("key hint:    {}", verifying.hint());
    if !algorithm.is_oms_interoperable() {
        println!("note: {algorithm} signatures verify with Kiln only, not with the OpenSSF model_signing tools");
    }
    Ok(true)
}

/// `key.pem` -> `key.pem.pub`.
fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub(crate) fn sign(args: &SignArgs) -> Result<bool> {
    let key = SigningKey::from_pem_file(&args.key)?;
    if args.dir.join(MANIFEST_FILE).is_file() {
        let signed = Bundle::read_unsigned(&args.dir)?.sign(&key)?;
        println!(
            "signed bundle {}: {} files and {MANIFEST_FILE}, digest {}, key {} ({})",
            args.dir.display(),
            signed.manifest().files.len(),
            signed.digest(),
            key.verifying_key().hint(),
            key.algorithm()
        );
        if let Some(tar) = &args.tar {
            signed.pack(tar)?;
            println!("packed {}", tar.display());
        }
    } else {
        if args.tar.is_some() {
            bail!(
                "--tar packs Kiln bundles only, and {} has no {MANIFEST_FILE}",
                args.dir.display()
            );
        }
        let signature = oms::sign_dir(&args.dir, &key, &SignOptions::default())?;
        signature.write(&args.dir.join(SIGNATURE_FILE))?;
        let signed = oms::verify_signature(&signature, &TrustPolicy::from(key.verifying_key().clone()))?;
        println!(
            "signed {}: {} files, digest {}, key {} ({})",
            args.dir.display(),
            signed.files().len(),
            signed.digest(),
            key.verifying_key().hint(),
            key.algorithm()
        );
    }
    Ok(true)
}

/// What a successful verification found.
struct Verified {
    kind: &'static str,
    digest: String,
    signer: VerifyingKey,
    files: Vec<(String, String)>,
    name: Option<String>,
}

pub(crate) fn verify(args: &VerifyArgs) -> Result<bool> {
    let keys = args
        .public_keys
        .iter()
        .map(VerifyingKey::from_pem_file)
        .collect::<Result<Vec<_>, _>>()?;
    let policy = TrustPolicy::new(keys)?;
    if !args.path.exists() {
        bail!("{}: no such file or directory", args.path.display());
    }
    let is_bundle = args.path.is_file() || args.path.join(MANIFEST_FILE).is_file();
    let result = if is_bundle && args.signature.is_none() {
        Bundle::open(&args.path, &policy).map(|b| Verified {
            kind: "bundle",
            digest: b.digest().to_string(),
            signer: b.signer().clone(),
            files: b
                .manifest()
                .files
                .iter()
                .map(|f| (f.path.clone(), f.sha256.to_hex()))
                .collect(),
            name: b.name().map(ToString::to_string),
        })
    } else {
        let signature = args.signature.clone().unwrap_or_else(|| args.path.join(SIGNATURE_FILE));
        oms::verify_dir(&args.path, &signature, &policy).map(|v| Verified {
            kind: "model",
            digest: v.digest().to_string(),
            signer: v.signer().clone(),
            files: v.files().iter().map(|f| (f.path.clone(), f.digest.to_hex())).collect(),
            name: Some(v.model_name().to_owned()),
        })
    };
    match result {
        Ok(v) => {
            if args.json {
                let doc = serde_json::json!({
                    "verified": true,
                    "path": args.path.display().to_string(),
                    "kind": v.kind,
                    "name": v.name,
                    "digest": v.digest,
                    "signer": {"hint": v.signer.hint(), "algorithm": v.signer.algorithm().name()},
                    "files": v.files.iter().map(|(p, d)| serde_json::json!({"path": p, "sha256": d})).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!(
                    "verified {} {}: {} files, digest {}, signed by {} ({})",
                    v.kind,
                    args.path.display(),
                    v.files.len(),
                    v.digest,
                    v.signer.hint(),
                    v.signer.algorithm()
                );
                if let Some(name) = v.name {
                    println!("name: {name}");
                }
                let mut rows = vec![["file".to_owned(), "sha256".to_owned()]];
                rows.extend(v.files.into_iter().map(|(p, d)| [p, d]));
                print!("{}", table(&rows));
            }
            Ok(true)
        }
        Err(err) => {
            if args.json {
                let doc = serde_json::json!({
                    "verified": false,
                    "path": args.path.display().to_string(),
                    "error": format!("{:#}", anyhow::Error::from(err)),
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                eprintln!(
                    "verification failed: {}: {:#}",
                    args.path.display(),
                    anyhow::Error::from(err)
                );
            }
            Ok(false)
        }
    }
}
