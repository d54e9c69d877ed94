//! Writes the benchmark data set (see the `kiln_benches` crate docs) as CSV,
//! so that scripts in `benches/compare/` read exactly the rows the Rust
//! benches use.
//!
//! ```text
//! cargo run -p kiln-benches --release --bin gen-data -- target/bench-data/bench_1m.csv [ROWS]
//! ```
//!
//! `ROWS` defaults to 1,000,000 (about 150 MB). Write into `target/` or
//! `/tmp`, never into the repository.

use std::error::Error;
use std::fs::{self, File};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let usage = "usage: gen-data <out.csv> [rows]";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let rows = match args.next() {
        Some(n) => n
            .to_str()
            .and_then(|n| n.replace('_', "").parse().ok())
            .ok_or_else(|| format!("rows must be a non-negative integer, got {n:?}"))?,
        None => kiln_benches::BATCH_ROWS,
    };
    if args.next().is_some() {
        return Err(usage.into());
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    kiln_benches::write_csv(rows, file).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(())
}
