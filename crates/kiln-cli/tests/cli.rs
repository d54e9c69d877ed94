//! Runs the real `kiln` binary on the shipped data and on bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("the kiln binary runs")
}

fn penguins() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/penguins/penguins.csv")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn infer_schema(dir: &Path) -> PathBuf {
    let out = dir.join("schema.json");
    let o = kiln(&[
        "schema",
        "infer",
        penguins().to_str().unwrap(),
        "--label",
        "species",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}

#[test]
fn infer_then_validate_penguins() {
    let dir = tempfile::tempdir().unwrap();
    let schema_path = infer_schema(dir.path());
    let schema = kiln::Schema::from_path(&schema_path).unwrap();
    assert_eq!(schema.label().map(|f| f.name.as_str()), Some("species"));
    assert_eq!(schema.len(), 8);

    let o = kiln(&[
        "validate",
        "--schema",
        schema_path.to_str().unwrap(),
        penguins().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("344 rows, 0 with violations"), "{stdout}");
    assert!(
        stdout.contains("sex") && stdout.contains("11 (3.2%)"),
        "{stdout}"
    );
}

#[test]
fn validate_reports_and_fails_on_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let schema_path = infer_schema(dir.path());
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n\
         Adelie,Atlantis,39.1,18.7,181,3750,male,2007\n\
         Adelie,Dream,390.1,18.7,181,3750,male,2007\n\
         Adelie,Dream,39.1,18.7,181,3750,male,2008\n",
    )
    .unwrap();
    let args = [
        "validate",
        "--schema",
        schema_path.to_str().unwrap(),
        bad.to_str().unwrap(),
    ];
    // Training policy flags violations: exit 0 unless --strict.
    let o = kiln(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("2 with violations"), "{stdout}");
    assert!(
        stdout.contains("unknown category") && stdout.contains("above max"),
        "{stdout}"
    );
    let o = kiln(&[&args[..], &["--strict"]].concat());
    assert_eq!(o.status.code(), Some(1));
    // Serving policy rejects the rows: exit 1.
    let o = kiln(&[&args[..], &["--serving", "--json"]].concat());
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["rejected_rows"], 2, "{report}");
}

#[test]
fn schema_check_gates_breaking_changes() {
    let dir = tempfile::tempdir().unwrap();
    let old = infer_schema(dir.path());
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&old).unwrap()).unwrap();
    let features = doc["features"].as_array_mut().unwrap();
    features.retain(|f| f["name"] != "year");
    let new = dir.path().join("new.json");
    std::fs::write(&new, doc.to_string()).unwrap();
    let o = kiln(&[
        "schema",
        "check",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("year"), "{}", text(&o.stdout));
    let o = kiln(&[
        "schema",
        "check",
        old.to_str().unwrap(),
        old.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let o = kiln(&["schema", "infer", ragged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("line 3") && !err.contains("panicked"), "{err}");

    let not_json = dir.path().join("s.json");
    std::fs::write(
        &not_json,
        "{\"format\": \"kiln.schema/v9\", \"features\": []}",
    )
    .unwrap();
    let o = kiln(&[
        "validate",
        "--schema",
        not_json.to_str().unwrap(),
        ragged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("kiln.schema/v9"),
        "{}",
        text(&o.stderr)
    );

    let o = kiln(&[
        "schema",
        "infer",
        dir.path().join("missing.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("missing.csv"));
}
