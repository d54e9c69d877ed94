//! Runs the real `kiln` binary on the shipped data and on bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};

mod common;
use common::{kiln, penguins, text};

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
    assert!(stdout.contains("sex") && stdout.contains("11 (3.2%)"), "{stdout}");
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
    let o = kiln(&["schema", "check", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("year"), "{}", text(&o.stdout));
    let o = kiln(&["schema", "check", old.to_str().unwrap(), old.to_str().unwrap()]);
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
    std::fs::write(&not_json, "{\"format\": \"kiln.schema/v9\", \"features\": []}").unwrap();
    let o = kiln(&[
        "validate",
        "--schema",
        not_json.to_str().unwrap(),
        ragged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("kiln.schema/v9"), "{}", text(&o.stderr));

    let o = kiln(&["schema", "infer", dir.path().join("missing.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("missing.csv"));
}

/// The penguins file with its columns changed by `edit` (header and rows
/// alike), written to `dir/name`.
fn edited_penguins(dir: &Path, name: &str, edit: impl Fn(usize, Vec<String>) -> Vec<String>) -> PathBuf {
    let text = std::fs::read_to_string(penguins()).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let cells = edit(i, line.split(',').map(str::to_owned).collect());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn validate_json(schema: &Path, csv: &Path, flags: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = kiln(
        &[
            &[
                "validate",
                "--json",
                "--schema",
                schema.to_str().unwrap(),
                csv.to_str().unwrap(),
            ],
            flags,
        ]
        .concat(),
    );
    assert!(o.status.code() != Some(2), "{}", text(&o.stderr));
    (o.status.code(), serde_json::from_slice(&o.stdout).unwrap())
}

fn feature<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()
}

#[test]
fn serving_data_needs_no_label() {
    let dir = tempfile::tempdir().unwrap();
    let schema = infer_schema(dir.path());
    let unlabelled = edited_penguins(dir.path(), "serving.csv", |_, mut cells| {
        cells.remove(0); // species
        cells
    });
    let o = kiln(&[
        "validate",
        "--serving",
        "--schema",
        schema.to_str().unwrap(),
        unlabelled.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("344 rows, 0 with violations"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("species")), "{stdout}");
    assert!(stdout.ends_with("\n") && !stdout.ends_with("\n\n"), "{stdout:?}");

    // A label column in serving data is ignored, not unexpected.
    let (code, report) = validate_json(&schema, &penguins(), &["--serving"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["unexpected"], serde_json::json!({}));
    // Training data needs its label.
    let (code, report) = validate_json(&schema, &unlabelled, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(feature(&report, "species")["violations"]["missing"], 344);
    assert_eq!(report["rows_with_violations"], 344);
}

#[test]
fn unexpected_columns_are_rejected_when_serving() {
    let dir = tempfile::tempdir().unwrap();
    let schema = infer_schema(dir.path());
    let extra = edited_penguins(dir.path(), "extra.csv", |i, mut cells| {
        cells.push(if i == 0 { "tag".to_owned() } else { format!("t{i}") });
        cells
    });
    let (code, report) = validate_json(&schema, &extra, &["--serving"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["unexpected"], serde_json::json!({"tag": 344}));
    assert_eq!(report["rejected_rows"], 344);
    let o = kiln(&[
        "validate",
        "--serving",
        "--schema",
        schema.to_str().unwrap(),
        extra.to_str().unwrap(),
    ]);
    assert!(
        text(&o.stdout).contains("unexpected feature \"tag\": 344 rows"),
        "{}",
        text(&o.stdout)
    );
    // The training policy ignores undeclared columns, even with --strict.
    for flags in [&[][..], &["--strict"][..]] {
        let (code, report) = validate_json(&schema, &extra, flags);
        assert_eq!(code, Some(0), "{report}");
        assert_eq!(report["unexpected"], serde_json::json!({}));
        assert_eq!(report["rows_with_violations"], 0);
    }
}

#[test]
fn bad_cells_are_wrong_type_violations_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let schema = infer_schema(dir.path());
    let header: Vec<String> = std::fs::read_to_string(penguins())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let mass = header.iter().position(|h| h == "body_mass_g").unwrap();
    // Data row 5 (line 7) holds "abc" for the body mass.
    let bad = edited_penguins(dir.path(), "bad_cell.csv", |i, mut cells| {
        if i == 6 {
            cells[mass] = "abc".to_owned();
        }
        cells
    });
    let args = ["validate", "--schema", schema.to_str().unwrap(), bad.to_str().unwrap()];
    let o = kiln(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let line = stdout.lines().find(|l| l.starts_with("body_mass_g")).unwrap();
    assert!(
        line.contains("1 wrong type") && line.trim_end().ends_with(" 5"),
        "{stdout}"
    );
    for flag in ["--strict", "--serving"] {
        let o = kiln(&[&args[..], &[flag]].concat());
        assert_eq!(o.status.code(), Some(1), "{flag}: {}", text(&o.stderr));
        let stdout = text(&o.stdout);
        let line = stdout.lines().find(|l| l.starts_with("body_mass_g")).unwrap();
        assert!(
            line.contains("1 wrong type") && line.trim_end().ends_with(" 5"),
            "{flag}: {stdout}"
        );
    }
    let (_, report) = validate_json(&schema, &bad, &["--serving"]);
    let f = feature(&report, "body_mass_g");
    assert_eq!(f["violations"], serde_json::json!({"wrong_type": 1}));
    assert_eq!(f["offending_rows"], serde_json::json!([5]));
    // The bad cell is a wrong type, not one more null (the file has 2 NAs).
    assert_eq!(f["nulls"], 2);
    assert_eq!(report["rejected_rows"], 1);
}

#[test]
fn missing_columns_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let schema = infer_schema(dir.path());
    let island = 1;
    let no_island = edited_penguins(dir.path(), "no_island.csv", |_, mut cells| {
        cells.remove(island);
        cells
    });
    let o = kiln(&[
        "validate",
        "--schema",
        schema.to_str().unwrap(),
        no_island.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let line = stdout.lines().find(|l| l.starts_with("island")).unwrap();
    assert!(line.contains("344 missing"), "{stdout}");
    let (code, report) = validate_json(&schema, &no_island, &["--strict"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        feature(&report, "island")["violations"],
        serde_json::json!({"missing": 344})
    );
    let (code, report) = validate_json(&schema, &no_island, &["--serving"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["rejected_rows"], 344);

    // A malformed file is still an error naming the line.
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "species,island\nAdelie\n").unwrap();
    let o = kiln(&[
        "validate",
        "--schema",
        schema.to_str().unwrap(),
        ragged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("line 2"), "{}", text(&o.stderr));
}
