//! Golden tests: kiln-train against scikit-learn.
//!
//! `tests/data/golden/train/penguins_logreg.json` was written by
//! `tests/golden/make_train_goldens.py` (regenerate with
//! `$(scripts/pyenv.sh) tests/golden/make_train_goldens.py`; the versions are
//! in the file). It holds:
//!
//! - the quickstart's split of the penguins data (every fifth row held out),
//!   the test rows as transformed by sklearn's equivalent of kiln's
//!   `Pipeline::auto` fitted on the training rows, and the test accuracy of
//!   sklearn's `LogisticRegression` (multinomial, lbfgs, C = 1) trained on
//!   the training rows. The target: kiln's softmax regression,
//!   trained the quickstart's way, is within 1 percentage point of it;
//! - fixed prediction vectors (logistic and linear regression outputs,
//!   seeded vectors full of ties) with `sklearn.metrics`' values for them;
//!   kiln's metric functions must agree within 1e-9. ECE, which sklearn
//!   lacks, is computed by the script from kiln's documented formula.

// Test helpers may panic; the accuracy comparison is reported on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kiln::train::metrics::{self, ClassificationReport, RegressionReport};
use kiln::train::run::RunContext;
use kiln::train::{Dataset, Hyperparameters, ModelSpec, Trainer, calibration};
use kiln::transform::Pipeline;
use kiln::{Batch, CsvReader, InferOptions, Schema};
use serde_json::Value as Json;

const GOLDEN: &str = "tests/data/golden/train/penguins_logreg.json";
const METRIC_TOL: f64 = 1e-9;
/// kiln's features are `f32`; sklearn's `f64`.
const FEATURE_TOL: f64 = 1e-5;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn golden() -> &'static Json {
    static GOLDEN_DOC: OnceLock<Json> = OnceLock::new();
    GOLDEN_DOC.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join(GOLDEN)).expect("the train golden exists");
        let doc: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["format"], "kiln.golden.train/v1");
        doc
    })
}

fn f64s(v: &Json) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn usizes(v: &Json) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn matrix(v: &Json) -> Vec<Vec<u64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect())
        .collect()
}

fn close(case: &str, metric: &str, kiln: f64, sklearn: f64) {
    assert!(
        (kiln - sklearn).abs() <= METRIC_TOL,
        "{case}: {metric}: kiln {kiln} vs sklearn {sklearn} (diff {:e})",
        (kiln - sklearn).abs()
    );
}

/// The penguins split of the quickstart: every fifth row is a test row.
fn penguins_split() -> (Schema, Batch, Batch) {
    let path = repo().join(golden()["dataset"]["path"].as_str().unwrap());
    let schema = Schema::infer_csv(
        &path,
        &InferOptions::default().with_label(golden()["label"].as_str().unwrap()),
    )
    .unwrap();
    let batch = CsvReader::new(schema.clone()).read_path(&path).unwrap();
    assert_eq!(batch.num_rows() as u64, golden()["dataset"]["rows"].as_u64().unwrap());
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for r in 0..batch.num_rows() {
        if r % 5 == 4 { &mut test } else { &mut train }.push(batch.record(r));
    }
    (
        schema.clone(),
        Batch::from_records(schema.clone(), &train).unwrap(),
        Batch::from_records(schema, &test).unwrap(),
    )
}

#[test]
fn preprocessing_is_the_one_sklearn_reproduced() {
    let (schema, train, test) = penguins_split();
    let g = golden();
    assert_eq!(train.num_rows() as u64, g["split"]["train"].as_u64().unwrap());
    assert_eq!(test.num_rows() as u64, g["split"]["test"].as_u64().unwrap());
    let pipeline = Pipeline::auto(&schema).fit(&train).unwrap();
    let names: Vec<&str> = g["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(pipeline.output_names(), names.as_slice());
    let x = pipeline.transform_batch(&test).unwrap();
    let expected = g["x_test"].as_array().unwrap();
    assert_eq!(x.rows, expected.len());
    let mut worst = 0f64;
    for (r, row) in expected.iter().enumerate() {
        for (c, want) in f64s(row).into_iter().enumerate() {
            let got = f64::from(x.get(r, c).unwrap());
            let diff = (got - want).abs() / want.abs().max(1.0);
            assert!(
                diff <= FEATURE_TOL,
                "row {r}, {}: kiln {got} vs sklearn {want}",
                names[c]
            );
            worst = worst.max(diff);
        }
    }
    eprintln!(
        "preprocessing: {} x {} test values, max relative diff {worst:e}",
        x.rows, x.cols
    );
}

/// The quickstart's recipe (`examples/quickstart/src/main.rs`, `hyperparameters`).
fn quickstart_hyperparameters(rows: usize) -> Hyperparameters {
    Hyperparameters::default()
        .with_epochs(200)
        .with_learning_rate(0.05)
        .with_batch_size((rows / 128).clamp(32, 512))
        .with_seed(42)
}

#[test]
fn softmax_regression_is_within_one_point_of_sklearn_logistic_regression() {
    let (schema, train, test) = penguins_split();
    let pipeline = Pipeline::auto(&schema).fit(&train).unwrap();
    let data = Dataset::from_batch(&pipeline, &train).unwrap();
    let spec = ModelSpec::for_dataset(&data, []);
    assert_eq!(spec.family(), "softmax_regression");
    let classes: Vec<&str> = golden()["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(spec.class_names, classes);
    let outcome = Trainer::new(spec, quickstart_hyperparameters(data.len()))
        .with_progress(false)
        .with_context(RunContext::new().without_git())
        .fit(&data)
        .unwrap();
    let metrics::Evaluation::Classification(report) = outcome.model.evaluate_batch(&pipeline, &test).unwrap() else {
        panic!("a classifier gives a classification report")
    };
    let sklearn = golden()["logreg"]["test_accuracy"].as_f64().unwrap();
    eprintln!(
        "test accuracy on {} rows: kiln softmax regression {:.4}, sklearn LogisticRegression {sklearn:.4}",
        report.rows, report.accuracy
    );
    assert!(
        report.accuracy >= sklearn - 0.01,
        "kiln {} is more than 1 point below sklearn {sklearn}",
        report.accuracy
    );
    assert_eq!(outcome.record.pipeline_digest, Some(pipeline.digest()));
    assert_eq!(outcome.record.schema_digest, Some(schema.digest()));
}

fn check_classification(case: &str, c: &Json) {
    let k = c["n_classes"].as_u64().unwrap() as usize;
    let y = usizes(&c["y_true"]);
    let probs: Vec<f64> = c["probabilities"].as_array().unwrap().iter().flat_map(f64s).collect();
    let e = &c["expected"];
    let f = |name: &str| e[name].as_f64().unwrap_or_else(|| panic!("{case}: no {name}"));

    let r = ClassificationReport::new(&y, &probs, k, &[]).unwrap();
    let y_pred: Vec<usize> = probs
        .chunks(k)
        .map(|row| (0..k).fold(0, |best, i| if row[i] > row[best] { i } else { best }))
        .collect();
    close(case, "accuracy", metrics::accuracy(&y, &y_pred).unwrap(), f("accuracy"));
    close(case, "report accuracy", r.accuracy, f("accuracy"));
    for (i, class) in r.per_class.iter().enumerate() {
        close(case, "precision", class.scores.precision, f64s(&e["precision"])[i]);
        close(case, "recall", class.scores.recall, f64s(&e["recall"])[i]);
        close(case, "f1", class.scores.f1, f64s(&e["f1"])[i]);
        assert_eq!(
            class.scores.support as usize,
            usizes(&e["support"])[i],
            "{case}: support"
        );
    }
    close(case, "precision_macro", r.macro_avg.precision, f("precision_macro"));
    close(case, "recall_macro", r.macro_avg.recall, f("recall_macro"));
    close(case, "f1_macro", r.macro_avg.f1, f("f1_macro"));
    let cm = metrics::ConfusionMatrix::new(&y, &y_pred, k).unwrap();
    assert_eq!(cm.rows(), matrix(&e["confusion_matrix"]), "{case}: confusion matrix");
    assert_eq!(r.confusion, cm, "{case}: report confusion matrix");
    close(
        case,
        "log_loss",
        metrics::log_loss(&y, &probs, k).unwrap(),
        f("log_loss"),
    );
    close(case, "report log_loss", r.log_loss, f("log_loss"));
    close(case, "report roc_auc", r.roc_auc.unwrap(), f("roc_auc"));
    let cal = if k == 2 {
        let truth: Vec<bool> = y.iter().map(|&t| t == 1).collect();
        let p1: Vec<f64> = probs.chunks(2).map(|row| row[1]).collect();
        close(case, "roc_auc", metrics::roc_auc(&truth, &p1).unwrap(), f("roc_auc"));
        calibration::binary(&truth, &p1, calibration::DEFAULT_BINS).unwrap()
    } else {
        close(
            case,
            "roc_auc_ovr_macro",
            metrics::roc_auc_ovr_macro(&y, &probs, k).unwrap(),
            f("roc_auc"),
        );
        calibration::top_label(&y, &probs, k, calibration::DEFAULT_BINS).unwrap()
    };
    close(case, "brier", cal.brier, f("brier"));
    close(case, "ece", cal.ece, f("ece"));
    assert_eq!(r.calibration, cal, "{case}: report calibration");
}

fn check_regression(case: &str, c: &Json) {
    let (t, p) = (f64s(&c["y_true"]), f64s(&c["y_pred"]));
    let e = &c["expected"];
    let f = |name: &str| e[name].as_f64().unwrap();
    close(case, "rmse", metrics::rmse(&t, &p).unwrap(), f("rmse"));
    close(case, "mae", metrics::mae(&t, &p).unwrap(), f("mae"));
    close(case, "r2", metrics::r2(&t, &p).unwrap().unwrap(), f("r2"));
    let r = RegressionReport::new(&t, &p).unwrap();
    close(case, "report rmse", r.rmse, f("rmse"));
    close(case, "report r2", r.r2.unwrap(), f("r2"));
}

#[test]
fn metrics_match_sklearn_within_1e_9() {
    let cases = golden()["metric_cases"].as_array().unwrap();
    let mut kinds = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        match c["kind"].as_str().unwrap() {
            "classification" => check_classification(name, c),
            "regression" => check_regression(name, c),
            other => panic!("{name}: unknown case kind {other}"),
        }
        kinds.push((c["kind"].as_str().unwrap(), c["n_classes"].as_u64()));
    }
    // Binary, multi-class and regression cases are all there.
    assert!(kinds.contains(&("classification", Some(2))), "{kinds:?}");
    assert!(kinds.contains(&("classification", Some(3))), "{kinds:?}");
    assert!(kinds.contains(&("regression", None)), "{kinds:?}");
}
