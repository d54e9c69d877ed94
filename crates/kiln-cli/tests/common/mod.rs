//! Helpers shared by the CLI tests: run the real `kiln` binary.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `kiln` binary built for this test run with `args`.
pub fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("the kiln binary runs")
}

/// Lossy UTF-8 of a process's stdout or stderr.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The shipped penguins CSV.
pub fn penguins() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/penguins/penguins.csv")
}
