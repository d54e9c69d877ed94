//! `kiln runs list` and `kiln runs compare` on runs recorded by kiln-train's
//! `RunStore`, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::Path;

mod common;
use common::{kiln, text};

use kiln::train::run::{RunContext, RunStore};
use kiln::train::{Dataset, Features, Hyperparameters, ModelSpec, Targets, Trainer};

/// Two logistic-regression runs on a tiny separable dataset, differing in
/// learning rate; returns their ids, oldest first.
fn two_runs(dir: &Path) -> (String, String) {
    let xs: Vec<f32> = (0..40).map(|i| i as f32 / 10.0 - 2.0).collect();
    let ys: Vec<usize> = xs.iter().map(|&x| usize::from(x > 0.1)).collect();
    let data = Dataset::new(
        Features::new(xs, 40, 1).unwrap(),
        Targets::classes(ys, vec!["neg".into(), "pos".into()]).unwrap(),
    )
    .unwrap();
    let store = RunStore::open(dir).unwrap();
    let mut ids = Vec::new();
    for (name, lr) in [("slow", 0.01), ("fast", 0.1)] {
        let outcome = Trainer::new(
            ModelSpec::for_dataset(&data, []),
            Hyperparameters::default().with_epochs(20).with_learning_rate(lr),
        )
        .with_progress(false)
        .with_context(RunContext::new().with_name(name).without_git())
        .with_run_store(store.clone())
        .fit(&data)
        .unwrap();
        ids.push(outcome.record.run_id);
    }
    (ids[0].clone(), ids[1].clone())
}

#[test]
fn list_shows_every_run_with_its_headline_metric() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_runs(dir.path());
    let d = dir.path().to_str().unwrap();
    let o = kiln(&["runs", "list", "--dir", d]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("run") && lines[0].contains("validation"),
        "{stdout}"
    );
    assert!(lines[1].starts_with(&a) && lines[1].contains("slow"), "{stdout}");
    assert!(lines[2].starts_with(&b) && lines[2].contains("fast"), "{stdout}");
    assert!(
        lines[1].contains("logistic_regression") && lines[1].contains("accuracy"),
        "{stdout}"
    );
    assert!(stdout.contains("2 runs in"), "{stdout}");

    let o = kiln(&["runs", "list", "--dir", d, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let listed: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [a.as_str(), b.as_str()]);
    let accuracy = json[1]["metrics"]["validation.accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy));
}

#[test]
fn compare_shows_metrics_and_the_settings_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_runs(dir.path());
    let d = dir.path().to_str().unwrap();
    let o = kiln(&["runs", "compare", &a, &b, "--dir", d]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains(&format!("a: {a} (slow)")), "{stdout}");
    assert!(stdout.contains(&format!("b: {b} (fast)")), "{stdout}");
    let lr = stdout
        .lines()
        .find(|l| l.starts_with("hyperparameters.learning_rate"))
        .unwrap_or_else(|| panic!("learning rate not among the differences:\n{stdout}"));
    assert!(lr.contains("0.01") && lr.contains("0.1"), "{lr}");
    assert!(stdout.lines().any(|l| l.starts_with("validation.accuracy")), "{stdout}");
    // The data and model are the same: no difference reported for them.
    assert!(!stdout.contains("data.matrix_sha256"), "{stdout}");

    let o = kiln(&["runs", "compare", &a, &b, "--dir", d, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["a"]["run_id"], a.as_str());
    let paths: Vec<&str> = json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["hyperparameters.learning_rate"]);
}

#[test]
fn bad_stores_and_ids_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let o = kiln(&["runs", "list", "--dir", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no run store"), "{}", text(&o.stderr));
    assert!(!missing.exists(), "listing must not create the folder");

    let o = kiln(&["runs", "list", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success());
    assert!(text(&o.stdout).starts_with("no runs in"), "{}", text(&o.stdout));

    let (a, _) = two_runs(dir.path());
    let d = dir.path().to_str().unwrap();
    let o = kiln(&["runs", "compare", &a, "20000101T000000Z-00000000", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("20000101T000000Z-00000000"),
        "{}",
        text(&o.stderr)
    );
    let o = kiln(&["runs", "compare", &a, "../escape", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
}
