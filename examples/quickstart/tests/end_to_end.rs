//! The quickstart, run end to end on the shipped penguins data as a user
//! runs it: it must succeed and go through every stage. The binary checks
//! its own results (record == batch bit for bit, the signed bundle predicts
//! exactly like the trained model, a tampered copy is refused) and fails
//! otherwise; this test checks the exit status and that each stage reported.
//!
//! Building the binary here, with the test build's features, is also what
//! lets `scripts/test`'s quickstart step run it without building Burn again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn quickstart_runs_every_stage_on_the_shipped_data() {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .output()
        .expect("the quickstart binary starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "quickstart failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for stage in 1..=9 {
        assert!(
            stdout.contains(&format!("== {stage}.")),
            "stage {stage} missing from:\n{stdout}"
        );
    }
    assert!(stdout.contains("transform bit-for-bit like the batch"), "{stdout}");
    assert!(stdout.contains("is refused"), "{stdout}");
}
