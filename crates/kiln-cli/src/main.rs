//! `kiln`: the command-line tool of the Kiln ML lifecycle SDK.
//!
//! ```text
//! kiln schema infer data/penguins/penguins.csv --label species -o schema.json
//! kiln schema show schema.json
//! kiln schema check old.json new.json
//! kiln validate --schema schema.json data/penguins/penguins.csv
//! kiln runs list --dir target/quickstart/runs
//! kiln runs compare RUN_A RUN_B --dir target/quickstart/runs
//! kiln keygen --out signing.pem                 # and signing.pem.pub
//! kiln sign target/quickstart/bundle --key signing.pem --tar model.tar
//! kiln verify model.tar --public-key signing.pem.pub
//! ```
//!
//! Exit codes: 0 success; 1 the check failed (breaking schema change,
//! rejected rows, or violations with `--strict`); 2 bad usage or input that
//! cannot be read; for `kiln verify`, 1 means the signature or a file did
//! not verify (the message names what failed). For `kiln validate`, cells that do not parse as their
//! type and missing columns are violations in the report (exit 0 or 1);
//! only a malformed file (ragged rows, invalid UTF-8, an unbalanced quote)
//! exits 2.

// A command-line tool talks to its user on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use kiln::validate::{Validator, ValidatorConfig};
use kiln::{CsvReader, InferOptions, Role, Schema};

mod runs;
mod sign;

#[derive(Parser)]
#[command(
    name = "kiln",
    version,
    about = "Kiln: schema contracts, validation, transforms, training runs and signed model bundles"
)]
struct Cli {
    /// Log more (repeat for more detail); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with feature schemas (kiln.schema/v1 JSON).
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Validate a CSV file against a schema and print a per-feature report.
    Validate(ValidateArgs),
    /// List and compare training runs (kiln.run/v1 records in a run store folder).
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Generate a signing key pair (PEM): ECDSA P-256 by default.
    Keygen(sign::KeygenArgs),
    /// Sign a model directory or Kiln bundle (writes DIR/model.sig).
    Sign(sign::SignArgs),
    /// Verify a signed model directory or bundle (.tar); exit 1 names what failed.
    Verify(sign::VerifyArgs),
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Infer a schema from a CSV file (types, nullability, ranges, categories).
    Infer(InferArgs),
    /// Print a schema as a table, with its digest.
    Show {
        /// The schema file.
        schema: PathBuf,
    },
    /// Compare two schemas; exit 1 when the new one breaks the old contract.
    Check {
        /// The schema in use (e.g. the production model's).
        old: PathBuf,
        /// The proposed schema.
        new: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct InferArgs {
    /// The CSV file (first row is the header).
    csv: PathBuf,
    /// The label (training target) column.
    #[arg(long)]
    label: Option<String>,
    /// Give a column a role: NAME=ROLE with ROLE one of feature, label, id, weight, timestamp.
    #[arg(long = "role", value_name = "NAME=ROLE")]
    roles: Vec<String>,
    /// Most distinct strings for a column to be inferred as categorical.
    #[arg(long, default_value_t = 64)]
    max_categories: usize,
    /// Field delimiter.
    #[arg(long, default_value = ",")]
    delimiter: char,
    /// Do not record observed min/max as allowed ranges.
    #[arg(long)]
    no_ranges: bool,
    /// Write the schema here instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ValidateArgs {
    /// The schema file (kiln.schema/v1).
    #[arg(long, short)]
    schema: PathBuf,
    /// The CSV file to check.
    csv: PathBuf,
    /// Serving policy: check the features a request carries (the label
    /// column is not required, and ignored when present) and reject rows
    /// with any violation and every row when the file has columns the schema
    /// does not declare (default: training policy, which flags and counts
    /// violations and ignores undeclared columns).
    #[arg(long)]
    serving: bool,
    /// Exit 1 on any violation, not only on rejected rows.
    #[arg(long)]
    strict: bool,
    /// Field delimiter.
    #[arg(long, default_value = ",")]
    delimiter: char,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs a command; `Ok(false)` means "ran, and the check failed".
fn run(command: Command) -> Result<bool> {
    match command {
        Command::Schema(SchemaCommand::Infer(args)) => infer(&args),
        Command::Schema(SchemaCommand::Show { schema }) => {
            let schema = read_schema(&schema)?;
            print!("{}", schema_table(&schema));
            println!("digest: {}", schema.digest());
            Ok(true)
        }
        Command::Schema(SchemaCommand::Check { old, new, json }) => {
            let report = read_schema(&old)?.compare(&read_schema(&new)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(!report.is_breaking())
        }
        Command::Validate(args) => validate(&args),
        Command::Runs(command) => runs::run(command),
        Command::Keygen(args) => sign::keygen(&args),
        Command::Sign(args) => sign::sign(&args),
        Command::Verify(args) => sign::verify(&args),
    }
}

fn infer(args: &InferArgs) -> Result<bool> {
    let mut options = InferOptions::default()
        .with_max_categories(args.max_categories)
        .with_delimiter(delimiter(args.delimiter)?)
        .with_ranges(!args.no_ranges);
    if let Some(label) = &args.label {
        options = options.with_label(label.clone());
    }
    for spec in &args.roles {
        let (name, role) = spec
            .split_once('=')
            .with_context(|| format!("--role {spec:?}: expected NAME=ROLE"))?;
        options = options.with_role(name, parse_role(role)?);
    }
    let schema = Schema::infer_csv(&args.csv, &options)?;
    let json = schema.to_json();
    match &args.output {
        Some(path) => {
            std::fs::write(path, format!("{json}\n")).with_context(|| format!("cannot write {}", path.display()))?;
            eprint!("{}", schema_table(&schema));
            eprintln!(
                "wrote {} ({} features, {})",
                path.display(),
                schema.len(),
                schema.digest()
            );
        }
        None => println!("{json}"),
    }
    Ok(true)
}

fn validate(args: &ValidateArgs) -> Result<bool> {
    let schema = read_schema(&args.schema)?;
    let (checked, config) = if args.serving {
        (schema.without_roles(&[Role::Label]), ValidatorConfig::serving())
    } else {
        (schema.clone(), ValidatorConfig::training())
    };
    let validator = Validator::new(checked, config)?;
    // The reader declares the whole schema, so that a label column in
    // serving data is known (read, not checked) rather than unexpected.
    let reader = CsvReader::new(schema).with_delimiter(delimiter(args.delimiter)?);
    let report = validator.validate_csv_path(&reader, &args.csv)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        // The report's text ends with a line break.
        print!("{}: {report}", args.csv.display());
    }
    let failed = report.rejected_rows() > 0 || (args.strict && !report.is_clean());
    Ok(!failed)
}

fn read_schema(path: &Path) -> Result<Schema> {
    Schema::from_path(path).with_context(|| format!("schema {}", path.display()))
}

fn delimiter(c: char) -> Result<u8> {
    match u8::try_from(c) {
        Ok(b) if c.is_ascii() && b != b'"' && b != b'\n' => Ok(b),
        _ => bail!("--delimiter {c:?}: must be one ASCII character other than a quote or newline"),
    }
}

fn parse_role(s: &str) -> Result<Role> {
    Ok(match s {
        "feature" => Role::Feature,
        "label" => Role::Label,
        "id" => Role::Id,
        "weight" => Role::Weight,
        "timestamp" => Role::Timestamp,
        _ => bail!("unknown role {s:?}: expected feature, label, id, weight or timestamp"),
    })
}

/// A plain-text table of a schema's features.
fn schema_table(schema: &Schema) -> String {
    let mut rows = vec![["feature", "dtype", "role", "nullable", "range", "categories"].map(str::to_owned)];
    for f in schema.features() {
        let range = match (f.min, f.max) {
            (None, None) => "-".to_owned(),
            (lo, hi) => format!(
                "{} .. {}",
                lo.map_or_else(String::new, |x| x.to_string()),
                hi.map_or_else(String::new, |x| x.to_string())
            ),
        };
        let cats = f.categories.as_ref().map_or_else(
            || "-".to_owned(),
            |c| {
                let shown: Vec<&str> = c.iter().take(6).map(String::as_str).collect();
                let more = if c.len() > 6 {
                    format!(", ... ({} in all)", c.len())
                } else {
                    String::new()
                };
                format!("{}{more}", shown.join(", "))
            },
        );
        rows.push([
            f.name.clone(),
            f.dtype.to_string(),
            f.role.to_string(),
            if f.nullable { "yes" } else { "no" }.to_owned(),
            range,
            cats,
        ]);
    }
    runs::table(&rows)
}
