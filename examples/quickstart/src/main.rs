//! Kiln quickstart: the lifecycle end to end on a real dataset.
//!
//! ```text
//! cargo run --release -p quickstart                         # the shipped penguins data
//! cargo run --release -p quickstart -- my.csv my_label      # your own CSV and label column
//! ```
//!
//! Steps: infer a schema from the CSV, validate the data against it, split
//! it into training and test rows, fit a feature pipeline on the training
//! rows, then apply the *same* fitted pipeline to the whole batch (training
//! path) and to single records (serving path) and check they agree bit for
//! bit. Then train a model on Burn (softmax regression for a label with more
//! than two classes, logistic regression for two, linear regression for a
//! number) on the training rows, evaluate it on the held-out test rows
//! (metrics, confusion matrix, calibration) and record the run. Finally sign
//! schema, pipeline, weights, run record, baseline profile and model card
//! into one bundle (OpenSSF Model Signing, ECDSA P-256), pack it into a
//! `.tar`, reopen it through verification and check that it predicts exactly
//! like the trained model, and that a tampered copy is refused. Artifacts are
//! written to `target/quickstart/`. Copy this crate as a template for your own job.

// An example program talks to its user on stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kiln::artifact::oms::TrustPolicy;
use kiln::artifact::{Bundle, BundleWriter, KeyAlgorithm, SigningKey};
use kiln::train::metrics::{ClassificationReport, Evaluation, RegressionReport};
use kiln::train::run::{RunContext, RunStore};
use kiln::train::{Backend, Dataset, Features, Hyperparameters, ModelSpec, Trainer};
use kiln::transform::Pipeline;
use kiln::validate::Validator;
use kiln::{Batch, CsvReader, InferOptions, ModelName, Schema};

const PENGUINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/penguins/penguins.csv");

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let mut args = std::env::args().skip(1);
    let csv = args.next().map_or_else(|| PathBuf::from(PENGUINS), PathBuf::from);
    let label = args.next().unwrap_or_else(|| "species".to_owned());
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/quickstart");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let out_dir = out_dir.canonicalize().unwrap_or(out_dir);

    // 1. Schema contract, inferred from the data.
    let schema = Schema::infer_csv(&csv, &InferOptions::default().with_label(label.clone()))?;
    if schema.label().is_none() {
        bail!("{}: no column called {label:?} to use as the label", csv.display());
    }
    println!(
        "== 1. schema inferred from {} ({})",
        display_name(&csv),
        schema.digest()
    );
    for f in schema.features() {
        let range = match (f.min, f.max) {
            (Some(lo), Some(hi)) => format!("[{lo}, {hi}]"),
            _ => String::new(),
        };
        let cats = f.categories.as_ref().map(|c| c.join("|")).unwrap_or_default();
        println!(
            "   {:<20} {:<12} {:<8} {}{range}{cats}",
            f.name,
            f.dtype.to_string(),
            f.role.to_string(),
            if f.nullable { "nullable " } else { "" },
        );
    }
    std::fs::write(out_dir.join("schema.json"), schema.to_json())?;

    // 2. Validate the data against the contract (training policy: flag, don't drop).
    let batch = CsvReader::new(schema.clone()).read_path(&csv)?;
    let outcome = Validator::for_training(schema.clone()).validate_batch(&batch);
    println!("\n== 2. validation report");
    println!("{}", outcome.report);

    // 3. Deterministic split: every fifth row is held out.
    let (train, test) = split(&batch)?;
    println!(
        "== 3. split: {} training rows, {} test rows",
        train.num_rows(),
        test.num_rows()
    );

    // 4. Fit the feature pipeline on the training rows only.
    let pipeline = Pipeline::auto(&schema).fit(&train)?;
    std::fs::write(out_dir.join("pipeline.json"), pipeline.to_json())?;
    println!(
        "\n== 4. fitted pipeline {} -> {} model inputs ({})",
        pipeline.input_schema().len(),
        pipeline.n_outputs(),
        pipeline.digest()
    );
    let matrix = pipeline.transform_batch(&test)?;
    let names = pipeline.output_names();
    let shown = matrix.rows.min(3);
    println!("   first {shown} test rows, transformed (one column per row):");
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for (c, name) in names.iter().enumerate() {
        let values: String = (0..shown)
            .filter_map(|r| matrix.get(r, c))
            .map(|x| format!("{x:>10.4}"))
            .collect();
        println!("   {name:<width$} {values}");
    }

    // 5. Serving path: one record at a time through the same fitted state.
    let mut out = vec![0f32; pipeline.n_outputs()];
    let mut identical = 0;
    for r in 0..test.num_rows() {
        pipeline.transform_record_into(&test.record(r), &mut out)?;
        let batch_row = matrix.row(r).unwrap_or_default();
        if out
            .iter()
            .map(|x| x.to_bits())
            .eq(batch_row.iter().map(|x| x.to_bits()))
        {
            identical += 1;
        }
    }
    println!(
        "\n== 5. serving path: {identical}/{} test records transform bit-for-bit like the batch",
        test.num_rows()
    );
    if identical != test.num_rows() {
        bail!("training/serving skew: record and batch paths disagree");
    }

    // 6. Train on the training rows: the model family follows the label.
    let data = Dataset::from_batch(&pipeline, &train)?;
    let spec = ModelSpec::for_dataset(&data, []);
    let hyper = hyperparameters(data.len());
    println!(
        "\n== 6. training {} on Burn ({} inputs -> {})",
        spec.family(),
        spec.n_inputs,
        match spec.class_names.as_slice() {
            [] => "one value".to_owned(),
            names => format!("{} classes: {}", names.len(), names.join(", ")),
        }
    );
    let context = RunContext::new()
        .with_name("quickstart")
        .with_data_source(csv.canonicalize().unwrap_or_else(|_| csv.clone()))
        .with_git_dir(env!("CARGO_MANIFEST_DIR"));
    let outcome = Trainer::new(spec, hyper.clone()).with_context(context).fit(&data)?;
    let (model, mut record) = (outcome.model, outcome.record);
    let skipped = record.data.null_label_rows;
    println!(
        "   {} rows ({} to fit, {} to validate{}), Adam at {}, batches of {}, seed {}, backend {}",
        record.data.rows,
        record.data.train_rows,
        record.data.validation_rows,
        if skipped > 0 {
            format!("; {skipped} without a label skipped")
        } else {
            String::new()
        },
        hyper.learning_rate,
        hyper.batch_size,
        hyper.seed,
        record.backend,
    );
    println!(
        "   kept epoch {} of {}{}; validation loss {:.4} ({:.2} s)",
        record.best_epoch,
        record.epochs.len(),
        if record.stopped_early { " (stopped early)" } else { "" },
        record.metrics.get("validation.loss").copied().unwrap_or(f64::NAN),
        record.duration_ms as f64 / 1000.0,
    );
    model.save_safetensors(out_dir.join("model.safetensors"))?;

    // 7. Evaluate on the held-out test rows, through the same fitted pipeline.
    let evaluation = model.evaluate_batch(&pipeline, &test)?;
    let evaluated = match &evaluation {
        Evaluation::Classification(report) => report.rows,
        Evaluation::Regression(report) => report.rows,
        _ => test.num_rows(),
    };
    let unlabelled = test.num_rows().saturating_sub(evaluated);
    println!(
        "\n== 7. evaluation on the {evaluated} held-out test rows{}",
        if unlabelled > 0 {
            format!(" ({unlabelled} without a label skipped)")
        } else {
            String::new()
        }
    );
    match &evaluation {
        Evaluation::Classification(report) => print_classification(report),
        Evaluation::Regression(report) => print_regression(report),
        _ => {}
    }

    // 8. Record the run: data, code, settings, per-epoch history, metrics.
    record.set_test_evaluation(evaluation);
    let runs = RunStore::open(out_dir.join("runs"))?;
    let path = runs.save(&record)?;
    println!("\n== 8. run {} recorded in {}", record.run_id, path.display());
    println!("   compare runs: kiln runs list --dir {}", runs.root().display());

    // 9. Sign everything a prediction needs into one bundle, then load it
    //    back the only way a server may: through verification.
    let (key, public_key) = signing_key(&out_dir)?;
    let bundle_dir = out_dir.join("bundle");
    if bundle_dir.exists() {
        std::fs::remove_dir_all(&bundle_dir).with_context(|| format!("cannot remove {}", bundle_dir.display()))?;
    }
    let signed = BundleWriter::new(schema.clone(), pipeline.clone(), model.clone())?
        .with_name(ModelName::new("quickstart")?)
        .with_run(record.clone())?
        .with_baseline(&train)?
        .write(&bundle_dir)?
        .sign(&key)?;
    let tar = out_dir.join("model.tar");
    if tar.exists() {
        std::fs::remove_file(&tar).with_context(|| format!("cannot remove {}", tar.display()))?;
    }
    signed.pack(&tar)?;
    println!(
        "\n== 9. bundle signed ({}, key {}) and packed into {}",
        key.algorithm(),
        key.verifying_key().hint(),
        display_name(&tar)
    );
    println!("   digest {}", signed.digest());
    let trust = TrustPolicy::from(key.verifying_key().clone());
    let loaded = Bundle::open(&tar, &trust)?.load(&Backend::Flex)?;
    let from_bundle = loaded.predict_batch(&test)?;
    let in_memory = model.predict(&Features::from_matrix(matrix.clone())?)?;
    let bits = |p: &kiln::train::Predictions| -> Vec<u64> {
        p.probabilities()
            .or_else(|| p.values())
            .unwrap_or_default()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    };
    if bits(&from_bundle) != bits(&in_memory) {
        bail!("the model loaded from the signed bundle predicts differently from the trained one");
    }
    println!(
        "   reopened through verification: {} test predictions identical to the trained model's",
        from_bundle.rows()
    );
    // A copy with one flipped bit in the weights is refused before anything is parsed.
    let tampered = out_dir.join("bundle-tampered");
    copy_dir(&bundle_dir, &tampered)?;
    let weights = tampered.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).with_context(|| format!("cannot read {}", weights.display()))?;
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    std::fs::write(&weights, bytes).with_context(|| format!("cannot write {}", weights.display()))?;
    match Bundle::open(&tampered, &trust) {
        Ok(_) => bail!("a tampered bundle verified"),
        Err(err) => println!("   a copy with one bit flipped in its weights is refused: {err}"),
    }
    println!(
        "   check it yourself: kiln verify {} --public-key {}",
        tar.display(),
        public_key.display()
    );

    println!("\nartifacts written to {}", out_dir.display());
    Ok(())
}

/// The training recipe: Adam with early stopping on a stratified 20%
/// validation split of the training rows, a fixed seed, and batches that
/// grow with the data so that an epoch of a large file stays a few hundred
/// steps.
fn hyperparameters(rows: usize) -> Hyperparameters {
    Hyperparameters::default()
        .with_epochs(200)
        .with_learning_rate(0.05)
        .with_batch_size((rows / 128).clamp(32, 512))
        .with_seed(42)
}

fn print_classification(r: &ClassificationReport) {
    let na = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"));
    println!("   {:<24}{:>10}", "metric", "value");
    for (name, value) in [
        ("accuracy", format!("{:.4}", r.accuracy)),
        ("precision (macro)", format!("{:.4}", r.macro_avg.precision)),
        ("recall (macro)", format!("{:.4}", r.macro_avg.recall)),
        ("F1 (macro)", format!("{:.4}", r.macro_avg.f1)),
        ("log loss", format!("{:.4}", r.log_loss)),
        (
            if r.per_class.len() == 2 {
                "ROC AUC"
            } else {
                "ROC AUC (macro OvR)"
            },
            na(r.roc_auc),
        ),
    ] {
        println!("   {name:<24}{value:>10}");
    }
    let names: Vec<&str> = r.per_class.iter().map(|c| c.class.as_str()).collect();
    let w = names.iter().map(|n| n.len()).max().unwrap_or(0).max(9);
    println!(
        "\n   {:<w$} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "F1", "support"
    );
    for c in &r.per_class {
        let s = &c.scores;
        println!(
            "   {:<w$} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            c.class, s.precision, s.recall, s.f1, s.support
        );
    }
    println!("\n   confusion matrix (rows: true class, columns: predicted)");
    let header: String = names.iter().map(|n| format!(" {n:>w$}")).collect();
    println!("   {:<w$}{header}", "");
    for (name, row) in names.iter().zip(r.confusion.rows()) {
        let cells: String = row.iter().map(|n| format!(" {n:>w$}")).collect();
        println!("   {name:<w$}{cells}");
    }
    let cal = &r.calibration;
    let of = if r.per_class.len() == 2 {
        format!("P({})", names[1])
    } else {
        "top-label confidence".to_owned()
    };
    println!(
        "\n   calibration of {of}: ECE (10 bins) {:.4}, Brier score {:.4}",
        cal.ece, cal.brier
    );
    println!("   {:<12}{:>6}{:>12}{:>10}", "bin", "rows", "predicted", "observed");
    for bin in cal.bins.iter().filter(|b| b.count > 0) {
        let close = if bin.upper >= 1.0 { ']' } else { ')' };
        let range = format!("[{:.1}, {:.1}{close}", bin.lower, bin.upper);
        println!(
            "   {range:<12}{:>6}{:>12}{:>10}",
            bin.count,
            na(bin.mean_confidence),
            na(bin.observed),
        );
    }
}

fn print_regression(r: &RegressionReport) {
    println!("   {:<10}{:>14}", "metric", "value");
    println!("   {:<10}{:>14.4}", "RMSE", r.rmse);
    println!("   {:<10}{:>14.4}", "MAE", r.mae);
    println!(
        "   {:<10}{:>14}",
        "R2",
        r.r2.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"))
    );
}

/// Every fifth row goes to the test set.
fn split(batch: &Batch) -> Result<(Batch, Batch)> {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for r in 0..batch.num_rows() {
        let rec = batch.record(r);
        if r % 5 == 4 { test.push(rec) } else { train.push(rec) }
    }
    Ok((
        Batch::from_records(batch.schema().clone(), &train)?,
        Batch::from_records(batch.schema().clone(), &test)?,
    ))
}

/// The quickstart's signing key: made once, kept in `out_dir` with its
/// public half (a real job keeps the private key in a secret store).
fn signing_key(out_dir: &Path) -> Result<(SigningKey, PathBuf)> {
    let private = out_dir.join("signing.pem");
    let public = out_dir.join("signing.pem.pub");
    if private.is_file() && public.is_file() {
        return Ok((SigningKey::from_pem_file(&private)?, public));
    }
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    std::fs::write(&private, key.to_pkcs8_pem()?.as_bytes())
        .with_context(|| format!("cannot write {}", private.display()))?;
    std::fs::write(&public, key.verifying_key().to_public_key_pem())
        .with_context(|| format!("cannot write {}", public.display()))?;
    Ok((key, public))
}

/// Copies a flat directory of files (a bundle) to a fresh `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to).with_context(|| format!("cannot remove {}", to.display()))?;
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))
            .with_context(|| format!("cannot copy {}", entry.path().display()))?;
    }
    Ok(())
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}
