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
//! bit. Artifacts (schema, fitted pipeline) are written to
//! `target/quickstart/`. Copy this crate as a template for your own job.

// An example program talks to its user on stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kiln::transform::Pipeline;
use kiln::validate::Validator;
use kiln::{Batch, CsvReader, InferOptions, Schema};

const PENGUINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/penguins/penguins.csv");

fn main() -> Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter("warn").init();
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
    println!("== 1. schema inferred from {} ({})", display_name(&csv), schema.digest());
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
    println!("== 3. split: {} training rows, {} test rows", train.num_rows(), test.num_rows());

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
        if out.iter().map(|x| x.to_bits()).eq(batch_row.iter().map(|x| x.to_bits())) {
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
    println!("\nartifacts written to {}", out_dir.display());
    Ok(())
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

fn display_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}
