"""Generate the scikit-learn golden file for kiln-train.

Writes ``tests/data/golden/train/penguins_logreg.json`` with two things:

1. The accuracy target. The quickstart's split of the shipped penguins data
   (every fifth CSV data row, ``r % 5 == 4`` over the rows in file order, is
   held out for testing), the preprocessing of kiln's ``Pipeline::auto``
   fitted on the training rows (see ``crates/kiln-transform/src/spec.rs``,
   ``Pipeline::auto``: per feature, in schema order, numeric columns get a
   median ``SimpleImputer`` then a ``StandardScaler``; categorical columns a
   most-frequent ``SimpleImputer`` then ``OneHotEncoder(handle_unknown=
   "ignore")``; the label is not an input), and scikit-learn's
   ``LogisticRegression`` (multinomial, lbfgs, C=1.0) fitted on all training
   rows. Recorded: the transformed test matrix and its column names in
   kiln's naming scheme (so the Rust test can check that the preprocessing is
   the same), the test accuracy, the per-class scores and the confusion
   matrix.

2. Golden values for kiln-train's metric functions on fixed prediction
   vectors (``metric_cases``): sklearn.metrics' accuracy, per-class and macro
   precision/recall/F1 (``zero_division=0``), confusion matrix, ROC AUC
   (binary; multi-class one-vs-rest macro), log loss, Brier score (binary:
   ``brier_score_loss`` of the positive class; multi-class: the unscaled sum
   over classes), and RMSE/MAE/R2. scikit-learn has no expected calibration
   error, so ``ece`` is computed here by kiln's documented formula
   (``crates/kiln-train/src/calibration.rs``): 10 equal-width bins over
   [0, 1], bin ``min(floor(c * 10), 9)`` for confidence ``c``;
   ``ECE = sum_b n_b / N * |observed_b - mean_confidence_b|``; the
   confidence is the positive-class probability for binary cases and the
   top-label probability (first index on ties) for multi-class ones, and
   the event is "positive" or "top label is the true class". The vectors
   are the logistic regression's test probabilities (species; sex, binary),
   a linear regression's test predictions (body mass), and seeded random
   vectors with many ties (probabilities in tenths).

Every probability and prediction is rounded to 12 significant digits before
the metrics are computed on it, and written as rounded, so the file holds
exactly the vectors its expected values belong to. OpenBLAS is pinned to one
thread and one kernel family so that the lbfgs path is the same on every
x86-64 machine; the output is byte-identical from run to run.

From the repository root::

    $(scripts/pyenv.sh) tests/golden/make_train_goldens.py

The test command's ``golden`` step runs this script and fails if the file
changes. The golden is checked against kiln by::

    cargo test -p kiln-tests --test train_golden
"""

from __future__ import annotations

import os

# Before numpy loads OpenBLAS: one thread, one kernel family (AVX2), so that
# sums run in the same order on every x86-64 machine (ignored elsewhere).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "golden" / "train" / "penguins_logreg.json"
FORMAT = "kiln.golden.train/v1"
PENGUINS = "data/penguins/penguins.csv"
NA_TOKEN = "NA"
LABEL = "species"
# The penguins columns as kiln's schema inference types them, in file order.
NUMERIC = {"bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"}
CATEGORICAL = {"species", "island", "sex"}
N_BINS = 10
SIG_DIGITS = 12
SEED = 20261129
LOGREG = {"C": 1.0, "solver": "lbfgs", "max_iter": 10_000, "tol": 1e-8}


def rounded(x: float) -> float:
    """`x` rounded to SIG_DIGITS significant digits, as a Python float."""
    return float(f"{x:.{SIG_DIGITS}g}")


def number(x: float):
    """A JSON number: integral floats as integers, others by repr."""
    f = float(x)
    assert math.isfinite(f), f
    if f.is_integer() and abs(f) < 2**53 and math.copysign(1.0, f) > 0:
        return int(f)
    return f


def numbers(values) -> list:
    return [number(v) for v in values]


class Penguins:
    """The CSV as strings; the split; the kiln-equivalent preprocessing."""

    def __init__(self) -> None:
        raw = (REPO / PENGUINS).read_bytes()
        self.sha256 = "sha256:" + hashlib.sha256(raw).hexdigest()
        reader = csv.reader(raw.decode("utf-8").splitlines())
        self.header = next(reader)
        assert set(self.header) == NUMERIC | CATEGORICAL, self.header
        self.rows = list(reader)
        self.test = [r for r in range(len(self.rows)) if r % 5 == 4]
        self.train = [r for r in range(len(self.rows)) if r % 5 != 4]

    def column(self, name: str, rows: list[int]) -> list[str]:
        j = self.header.index(name)
        return [self.rows[r][j] for r in rows]

    def labelled(self, label: str, rows: list[int]) -> list[int]:
        """The rows whose label is present (kiln drops the others)."""
        return [r for r, v in zip(rows, self.column(label, rows)) if v != NA_TOKEN]

    def features(self, label: str, train: list[int], test: list[int]):
        """kiln's Pipeline::auto without `label`, fitted on `train`; (names, X_train, X_test)."""
        names, train_cols, test_cols = [], [], []
        for name in self.header:
            if name == label:
                continue
            if name in NUMERIC:
                steps = [SimpleImputer(strategy="median"), StandardScaler()]
                parse = lambda v: math.nan if v == NA_TOKEN else float(v)  # noqa: E731
                a = np.array([[parse(v)] for v in self.column(name, train)], dtype=np.float64)
                b = np.array([[parse(v)] for v in self.column(name, test)], dtype=np.float64)
            else:
                steps = [
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ]
                parse = lambda v: np.nan if v == NA_TOKEN else v  # noqa: E731
                a = np.array([[parse(v)] for v in self.column(name, train)], dtype=object)
                b = np.array([[parse(v)] for v in self.column(name, test)], dtype=object)
            for step in steps:
                a = step.fit_transform(a)
                b = step.transform(b)
            if name in NUMERIC:
                names.append(f"{name}__scaled")
            else:
                names.extend(f"{name}={c}" for c in steps[-1].categories_[0])
            train_cols.append(np.asarray(a, dtype=np.float64))
            test_cols.append(np.asarray(b, dtype=np.float64))
        return names, np.hstack(train_cols), np.hstack(test_cols)

    def classes(self, label: str, rows: list[int]) -> tuple[list[str], list[int]]:
        """Sorted class names (kiln's inferred categories) and each row's class index."""
        values = self.column(label, rows)
        names = sorted(set(self.column(label, range(len(self.rows)))) - {NA_TOKEN})
        return names, [names.index(v) for v in values]


def ece(confidence: list[float], hit: list[bool]) -> float:
    """kiln-train's expected calibration error over N_BINS equal-width bins."""
    count = [0] * N_BINS
    conf_sum = [0.0] * N_BINS
    hit_sum = [0.0] * N_BINS
    for c, h in zip(confidence, hit):
        b = min(int(c * N_BINS), N_BINS - 1)
        count[b] += 1
        conf_sum[b] += c
        hit_sum[b] += 1.0 if h else 0.0
    total = 0.0
    for b in range(N_BINS):
        if count[b]:
            k = count[b]
            total += k / len(confidence) * abs(hit_sum[b] / k - conf_sum[b] / k)
    return total


def classification_case(name: str, y_true: list[int], probs: np.ndarray, note: str) -> dict:
    """Every classification metric of `probs` (rows x k) against `y_true`."""
    k = probs.shape[1]
    probs = np.array([[rounded(p) for p in row] for row in probs], dtype=np.float64)
    y = np.asarray(y_true)
    labels = list(range(k))
    y_pred = np.argmax(probs, axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, y_pred, labels=labels, average=None, zero_division=0
    )
    macro = precision_recall_fscore_support(y, y_pred, labels=labels, average="macro", zero_division=0)
    expected = {
        "accuracy": accuracy_score(y, y_pred),
        "precision": numbers(precision),
        "recall": numbers(recall),
        "f1": numbers(f1),
        "support": [int(s) for s in support],
        "precision_macro": macro[0],
        "recall_macro": macro[1],
        "f1_macro": macro[2],
        "confusion_matrix": confusion_matrix(y, y_pred, labels=labels).tolist(),
        "log_loss": log_loss(y, probs, labels=labels),
    }
    if k == 2:
        p1 = probs[:, 1]
        expected["roc_auc"] = roc_auc_score(y, p1)
        expected["brier"] = brier_score_loss(y, p1)
        expected["ece"] = ece(list(p1), [t == 1 for t in y_true])
    else:
        expected["roc_auc"] = roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels)
        expected["brier"] = brier_score_loss(y, probs, labels=labels)
        expected["ece"] = ece(list(probs[np.arange(len(y)), y_pred]), list(y_pred == y))
    return {
        "name": name,
        "kind": "classification",
        "note": note,
        "n_classes": k,
        "y_true": [int(t) for t in y_true],
        "probabilities": [numbers(row) for row in probs],
        "expected": {key: (number(v) if isinstance(v, float) else v) for key, v in expected.items()},
    }


def regression_case(name: str, y_true: list[float], y_pred: np.ndarray, note: str) -> dict:
    y_pred = np.array([rounded(p) for p in y_pred], dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    return {
        "name": name,
        "kind": "regression",
        "note": note,
        "y_true": numbers(y),
        "y_pred": numbers(y_pred),
        "expected": {
            "rmse": number(root_mean_squared_error(y, y_pred)),
            "mae": number(mean_absolute_error(y, y_pred)),
            "r2": number(r2_score(y, y_pred)),
        },
    }


def random_tenths(rng: random.Random, k: int) -> list[float]:
    """A probability vector of k tenths summing to 1 (many ties across rows)."""
    cuts = sorted(rng.randint(0, 10) for _ in range(k - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10])]
    return [p / 10 for p in parts]


def main(argv: list[str]) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    data = Penguins()

    # 1. Species: the accuracy target, and its probabilities as a metric case.
    names, x_train, x_test = data.features(LABEL, data.train, data.test)
    classes, y_train = data.classes(LABEL, data.train)
    _, y_test = data.classes(LABEL, data.test)
    model = LogisticRegression(**LOGREG).fit(x_train, y_train)
    probs = model.predict_proba(x_test)
    species = classification_case(
        "penguins_species_logreg_test",
        y_test,
        probs,
        "LogisticRegression's test-row probabilities for species",
    )
    e = species["expected"]

    # 2. Sex (binary; rows without a sex are dropped, as kiln does).
    train_sex = data.labelled("sex", data.train)
    test_sex = data.labelled("sex", data.test)
    _, xs_train, xs_test = data.features("sex", train_sex, test_sex)
    _, ys_train = data.classes("sex", train_sex)
    _, ys_test = data.classes("sex", test_sex)
    sex_model = LogisticRegression(**LOGREG).fit(xs_train, ys_train)
    sex = classification_case(
        "penguins_sex_logreg_test",
        ys_test,
        sex_model.predict_proba(xs_test),
        "LogisticRegression's test-row probabilities for sex (female = 0, male = 1)",
    )

    # 3. Body mass (regression; rows without a mass are dropped).
    train_mass = data.labelled("body_mass_g", data.train)
    test_mass = data.labelled("body_mass_g", data.test)
    _, xm_train, xm_test = data.features("body_mass_g", train_mass, test_mass)
    ym_train = [float(v) for v in data.column("body_mass_g", train_mass)]
    ym_test = [float(v) for v in data.column("body_mass_g", test_mass)]
    mass = regression_case(
        "penguins_body_mass_linear_test",
        ym_test,
        LinearRegression().fit(xm_train, ym_train).predict(xm_test),
        "LinearRegression's test-row predictions of body_mass_g",
    )

    # 4. Seeded vectors with ties.
    rng = random.Random(SEED)
    tie_binary_p = [rng.randint(0, 10) / 10 for _ in range(200)]
    tie_binary_y = [int(rng.random() < 0.15 + 0.7 * p) for p in tie_binary_p]
    tie_binary = classification_case(
        "ties_binary",
        tie_binary_y,
        np.array([[1 - p, p] for p in tie_binary_p]),
        "seeded: positive-class probabilities in tenths",
    )
    tie_multi_p = [random_tenths(rng, 4) for _ in range(300)]
    tie_multi_y = [rng.choices(range(4), weights=[0.1 + p for p in row])[0] for row in tie_multi_p]
    tie_multi = classification_case(
        "ties_multiclass",
        tie_multi_y,
        np.array(tie_multi_p),
        "seeded: 4-class probability vectors in tenths",
    )

    doc = {
        "format": FORMAT,
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "dataset": {"path": PENGUINS, "sha256": data.sha256, "rows": len(data.rows), "na_token": NA_TOKEN},
        "split": {"test_rows": "r % 5 == 4 over the CSV data rows, 0-based", "train": len(data.train), "test": len(data.test)},
        "label": LABEL,
        "classes": classes,
        "feature_names": names,
        "x_test": [numbers(rounded(v) for v in row) for row in x_test],
        "model": {"class": "LogisticRegression", "params": {k: number(v) if isinstance(v, float) else v for k, v in LOGREG.items()}},
        "logreg": {
            "test_accuracy": e["accuracy"],
            "test_correct": int(round(e["accuracy"] * len(y_test))),
            "train_accuracy": number(accuracy_score(y_train, model.predict(x_train))),
            "per_class": [
                {"class": c, "precision": e["precision"][i], "recall": e["recall"][i], "f1": e["f1"][i], "support": e["support"][i]}
                for i, c in enumerate(classes)
            ],
            "confusion_matrix": e["confusion_matrix"],
        },
        "metric_cases": [species, sex, mass, tie_binary, tie_multi],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({len(text.encode())} bytes): test accuracy {e['accuracy']:.4f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
