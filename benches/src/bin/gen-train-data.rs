//! Writes the training benchmark data (see `kiln_benches::train_data`) as
//! NumPy files, so that `benches/compare/train_epoch.py` trains on exactly
//! the rows the Rust bench uses: `<dir>/x.npy` (`float32`, rows x 20) and
//! `<dir>/y.npy` (`int64` classes 0/1).
//!
//! ```text
//! cargo run -p kiln-benches --release --bin gen-train-data -- target/bench-data/train_1m [ROWS]
//! ```
//!
//! `ROWS` defaults to 1,000,000 (88 MB in all). Write into `target/` or
//! `/tmp`, never into the repository.

use std::error::Error;
use std::fs::{self, File};
use std::path::PathBuf;

use kiln_benches::train_data;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let usage = "usage: gen-train-data <out-dir> [rows]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let rows = match args.next() {
        Some(n) => n
            .to_str()
            .and_then(|n| n.replace('_', "").parse().ok())
            .ok_or_else(|| format!("rows must be a non-negative integer, got {n:?}"))?,
        None => train_data::ROWS,
    };
    if args.next().is_some() {
        return Err(usage.into());
    }
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (x, y) = train_data::matrix(rows);
    let y: Vec<i64> = y.into_iter().map(|c| i64::from(c == 1)).collect();
    let x_path = dir.join("x.npy");
    let file = File::create(&x_path).map_err(|e| format!("{}: {e}", x_path.display()))?;
    train_data::write_npy_f32(file, &x, &[rows, train_data::COLS]).map_err(|e| format!("{}: {e}", x_path.display()))?;
    let y_path = dir.join("y.npy");
    let file = File::create(&y_path).map_err(|e| format!("{}: {e}", y_path.display()))?;
    train_data::write_npy_i64(file, &y, &[rows]).map_err(|e| format!("{}: {e}", y_path.display()))?;
    Ok(())
}
