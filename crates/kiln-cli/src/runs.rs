//! `kiln runs`: list and compare the run records (`kiln.run/v1`) in a run
//! store folder, as written by `kiln_train::run::RunStore` (the quickstart
//! writes to `target/quickstart/runs`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kiln::train::run::{RunComparison, RunStore, RunSummary};
use serde_json::Value;

/// The run store folder used when `--dir` is not given.
const DEFAULT_DIR: &str = "runs";

#[derive(Subcommand)]
pub(crate) enum RunsCommand {
    /// List the stored runs, oldest first, with their headline metrics.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Print the run summaries as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two runs: every metric side by side, and the settings that differ.
    Compare {
        /// The first run's id (the baseline).
        a: String,
        /// The second run's id.
        b: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the comparison as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub(crate) struct StoreArgs {
    /// The run store folder (one <run_id>.json per run).
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
}

impl StoreArgs {
    /// Opens the folder, which must exist: listing never creates one.
    fn open(&self) -> Result<RunStore> {
        if !self.dir.is_dir() {
            bail!("no run store at {}: the folder does not exist", self.dir.display());
        }
        RunStore::open(&self.dir).with_context(|| format!("run store {}", self.dir.display()))
    }
}

/// Runs a `kiln runs` command.
pub(crate) fn run(command: RunsCommand) -> Result<bool> {
    match command {
        RunsCommand::List { store, json } => {
            let runs = store.open()?.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                print!("{}", list_table(&runs, &store.dir));
            }
        }
        RunsCommand::Compare { a, b, store, json } => {
            let comparison = store.open()?.compare(&a, &b)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&comparison)?);
            } else {
                print!("{}", comparison_text(&comparison));
            }
        }
    }
    Ok(true)
}

/// The metric shown for a run in listings: accuracy for classifiers, RMSE
/// for regressors.
fn headline(run: &RunSummary) -> &'static str {
    if run.metrics.keys().any(|k| k.ends_with(".accuracy")) {
        "accuracy"
    } else {
        "rmse"
    }
}

fn metric(run: &RunSummary, name: &str) -> String {
    run.metrics
        .get(name)
        .map_or_else(|| "-".to_owned(), |v| format_number(*v))
}

fn format_number(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

fn list_table(runs: &[RunSummary], dir: &Path) -> String {
    if runs.is_empty() {
        return format!("no runs in {}\n", dir.display());
    }
    let mut rows = vec![
        [
            "run",
            "name",
            "started",
            "model",
            "backend",
            "epochs",
            "metric",
            "validation",
            "test",
        ]
        .map(str::to_owned),
    ];
    for run in runs {
        let name = headline(run);
        rows.push([
            run.run_id.clone(),
            run.name.clone().unwrap_or_else(|| "-".to_owned()),
            run.started_at.clone(),
            run.model.clone(),
            run.backend.clone(),
            format!("{} (best {})", run.epochs, run.best_epoch),
            name.to_owned(),
            metric(run, &format!("validation.{name}")),
            metric(run, &format!("test.{name}")),
        ]);
    }
    let mut out = table(&rows);
    out.push_str(&format!("{} runs in {}\n", runs.len(), dir.display()));
    out
}

fn comparison_text(c: &RunComparison) -> String {
    let mut out = String::new();
    for (tag, run) in [("a", &c.a), ("b", &c.b)] {
        out.push_str(&format!(
            "{tag}: {}{}  {}  {} on {}, {} epochs (best {})\n",
            run.run_id,
            run.name.as_ref().map_or_else(String::new, |n| format!(" ({n})")),
            run.started_at,
            run.model,
            run.backend,
            run.epochs,
            run.best_epoch
        ));
    }
    let mut rows = vec![["metric", "a", "b", "b - a"].map(str::to_owned)];
    let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), format_number);
    for m in &c.metrics {
        let delta = m.delta.map_or_else(|| "-".to_owned(), |d| format!("{d:+.4}"));
        rows.push([m.name.clone(), show(m.a), show(m.b), delta]);
    }
    out.push('\n');
    out.push_str(&table(&rows));
    out.push('\n');
    if c.settings.is_empty() {
        out.push_str("settings: identical\n");
    } else {
        let mut rows = vec![["setting", "a", "b"].map(str::to_owned)];
        for s in &c.settings {
            rows.push([s.path.clone(), setting(&s.a), setting(&s.b)]);
        }
        out.push_str(&format!("settings that differ ({}):\n", c.settings.len()));
        out.push_str(&table(&rows));
    }
    out
}

/// A setting's value as plain text: strings unquoted, absent as `-`.
fn setting(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Left-aligned columns separated by two spaces.
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
