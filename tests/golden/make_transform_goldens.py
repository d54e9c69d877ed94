"""Generate scikit-learn golden files for kiln-transform.

Each case fits one scikit-learn transformer (or a two-step sklearn Pipeline) on
a shipped dataset and writes ``tests/data/golden/transform/<case>.json`` with:

* ``transformer``: the sklearn class (or pipeline steps) and its ``get_params()``;
* ``columns``: the input columns, in order;
* ``fitted``: the fitted attributes (``mean_``, ``scale_``, ``statistics_``,
  ``categories_``, ``bin_edges_`` ...);
* ``feature_names_out``: what ``get_feature_names_out()`` returns;
* ``versions``: scikit-learn, numpy, scipy (the pinned ones);
* ``dataset``: the CSV path relative to the repository, its ``sha256:<hex>``
  digest, its row count and the missing-value token;
* ``rows``: ``null`` when ``expected`` covers every row of the dataset (penguins,
  344 rows), else the sorted 0-based data-row indices that ``expected`` covers
  (diamonds: fit on all 53,940 rows, 500 rows kept: every column's argmin and
  argmax plus a seeded random sample);
* ``expected``: the transformed rows as float64, row-major; NaN is ``null``
  (integral values are written without a fraction: ``1`` for ``1.0``);
* ``probe`` (some cases): extra input rows that are not in the dataset
  (unseen categories, values on and beyond the bin edges) with their inputs
  (strings, numbers, ``null`` for missing) and expected outputs.

Floats are written with ``repr`` (shortest round-tripping form) in compact JSON;
running the script twice gives byte-identical files. KBinsDiscretizer's
``quantile_method`` default in the installed scikit-learn is recorded in every
golden's ``notes.kbins_quantile_method_default``.

From the repository root::

    $(scripts/pyenv.sh) tests/golden/make_transform_goldens.py

``scripts/pyenv.sh`` creates the git-ignored venv with the versions pinned in
``scripts/requirements.txt`` and prints its python path. The test command
(``scripts/test``, step ``golden``, which CI runs) runs this script the same
way and fails if the regenerated files differ from the committed ones, so
the output must not depend on the machine: no timestamps, no interpreter
version, sorted row indices, a seeded sample. The goldens themselves are
checked against Kiln by the Rust test::

    cargo test -p kiln-tests --test transform_golden

which reads the committed JSON files and needs no Python. Regenerate the files
after changing this script, the datasets or the pinned versions, and commit
them.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "tests" / "data" / "golden" / "transform"
FORMAT = "kiln.golden.transform/v1"
NA_TOKEN = "NA"
DIAMONDS_SAMPLE = 500
DIAMONDS_SEED = 20240607

PENGUINS = "data/penguins/penguins.csv"
PENGUINS_NUMERIC = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "year",
]
PENGUINS_CATEGORICAL = ["island", "sex", "species"]

DIAMONDS = "data/diamonds/diamonds.csv"
DIAMONDS_NUMERIC = ["carat", "depth", "table", "price", "x", "y", "z"]
DIAMONDS_CATEGORICAL = ["cut", "color", "clarity"]
DIAMONDS_CUT_ORDER = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
DIAMONDS_COLOR_ORDER = ["J", "I", "H", "G", "F", "E", "D"]
DIAMONDS_CLARITY_ORDER = ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]


class Dataset:
    """A CSV read as strings, with helpers to build numeric/object arrays."""

    def __init__(self, rel_path: str) -> None:
        self.rel_path = rel_path
        raw = (REPO / rel_path).read_bytes()
        self.sha256 = "sha256:" + hashlib.sha256(raw).hexdigest()
        reader = csv.reader(raw.decode("utf-8").splitlines())
        self.header = next(reader)
        self.rows = [row for row in reader]
        self.n_rows = len(self.rows)

    def _col(self, name: str) -> list[str]:
        j = self.header.index(name)
        return [row[j] for row in self.rows]

    def numeric(self, names: list[str]) -> np.ndarray:
        cols = [
            [math.nan if v == NA_TOKEN else float(v) for v in self._col(n)]
            for n in names
        ]
        return np.asarray(cols, dtype=np.float64).T

    def categorical(self, names: list[str]) -> np.ndarray:
        cols = [[np.nan if v == NA_TOKEN else v for v in self._col(n)] for n in names]
        out = np.empty((self.n_rows, len(names)), dtype=object)
        for j, col in enumerate(cols):
            out[:, j] = col
        return out

    def meta(self) -> dict:
        return {
            "path": self.rel_path,
            "sha256": self.sha256,
            "rows": self.n_rows,
            "na_token": NA_TOKEN,
        }


def jsonable(value):
    """Convert numpy/sklearn values to JSON values; NaN becomes None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        # Integral values are written as JSON integers ("1", not "1.0") to keep
        # the files small; both parse to the same f64. -0.0 keeps its sign.
        if f.is_integer() and abs(f) < 2**53 and math.copysign(1.0, f) > 0:
            return int(f)
        return f
    if value is None or isinstance(value, str):
        return value
    if inspect.isclass(value):
        return value.__name__
    return repr(value)


def estimator_doc(est) -> dict:
    if isinstance(est, Pipeline):
        return {
            "class": "Pipeline",
            "steps": [{"name": n, **estimator_doc(s)} for n, s in est.steps],
        }
    return {"class": type(est).__name__, "params": jsonable(est.get_params(deep=False))}


FITTED_ATTRS = [
    "mean_",
    "var_",
    "scale_",
    "n_samples_seen_",
    "data_min_",
    "data_max_",
    "data_range_",
    "min_",
    "center_",
    "statistics_",
    "categories_",
    "infrequent_categories_",
    "drop_idx_",
    "bin_edges_",
    "n_bins_",
]


def fitted_doc(est) -> dict:
    if isinstance(est, Pipeline):
        return {name: fitted_doc(step) for name, step in est.steps}
    out = {}
    for attr in FITTED_ATTRS:
        if not hasattr(est, attr):
            continue
        value = getattr(est, attr)
        if isinstance(value, np.ndarray) and value.dtype == object:
            value = list(value)
        out[attr] = jsonable(value)
    indicator = getattr(est, "indicator_", None)
    if indicator is not None:
        out["indicator_features_"] = jsonable(indicator.features_)
    return out


def to_dense(x) -> np.ndarray:
    if hasattr(x, "toarray"):
        x = x.toarray()
    return np.asarray(x, dtype=np.float64)


def diamonds_rows(ds: Dataset) -> list[int]:
    """Every numeric column's argmin/argmax, then a seeded sample up to 500."""
    x = ds.numeric(DIAMONDS_NUMERIC)
    picked = set()
    for j in range(x.shape[1]):
        picked.add(int(np.argmin(x[:, j])))
        picked.add(int(np.argmax(x[:, j])))
    rng = random.Random(DIAMONDS_SEED)
    while len(picked) < DIAMONDS_SAMPLE:
        picked.add(rng.randrange(ds.n_rows))
    return sorted(picked)


# Every case's file text, by case name, filled by `write_case`.
GOLDENS: dict[str, str] = {}


def write_case(name: str, doc: dict) -> None:
    assert name not in GOLDENS, f"case {name} defined twice"
    GOLDENS[name] = json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n"


def versions() -> dict:
    return {
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def notes() -> dict:
    default = inspect.signature(KBinsDiscretizer).parameters["quantile_method"].default
    return {"kbins_quantile_method_default": default}


def run_case(
    name: str,
    ds: Dataset,
    columns: list[str],
    est,
    x: np.ndarray,
    rows: list[int] | None,
    probe: list[list] | None = None,
    description: str = "",
) -> None:
    est.fit(x)
    out = to_dense(est.transform(x))
    if rows is not None:
        out = out[rows]
    doc = {
        "format": FORMAT,
        "case": name,
        "description": description,
        "generator": "tests/golden/make_transform_goldens.py",
        "versions": versions(),
        "notes": notes(),
        "dataset": ds.meta(),
        "columns": columns,
        "transformer": estimator_doc(est),
        "fitted": fitted_doc(est),
        "feature_names_out": [str(n) for n in est.get_feature_names_out(columns)],
        "rows": rows,
        "expected": jsonable(out),
    }
    if probe is not None:
        probe_x = np.empty((len(probe), len(columns)), dtype=x.dtype)
        for i, row in enumerate(probe):
            for j, v in enumerate(row):
                probe_x[i, j] = np.nan if v is None else v
        doc["probe"] = {
            "inputs": jsonable(probe),
            "expected": jsonable(to_dense(est.transform(probe_x))),
        }
    write_case(name, doc)


def kbins_probe(edges: list[np.ndarray]) -> list[list[float]]:
    """Rows hitting every bin edge exactly, and values beyond both ends."""
    lows = [float(e[0]) - 1.0 for e in edges]
    highs = [float(e[-1]) + 1.0 for e in edges]
    rows = [lows, highs]
    width = max(len(e) for e in edges)
    for k in range(width):
        rows.append([float(e[min(k, len(e) - 1)]) for e in edges])
    return rows


def penguins_cases(ds: Dataset) -> None:
    num = ds.numeric(PENGUINS_NUMERIC)
    cat = ds.categorical(PENGUINS_CATEGORICAL)
    n = PENGUINS_NUMERIC
    c = PENGUINS_CATEGORICAL
    nan_note = "NA read as NaN; sklearn scalers ignore NaN when fitting and pass it through."
    run_case("penguins_standard_scaler", ds, n, StandardScaler(), num, None,
             description=nan_note)
    run_case("penguins_standard_scaler_no_mean", ds, n,
             StandardScaler(with_mean=False), num, None, description=nan_note)
    run_case("penguins_min_max_scaler", ds, n, MinMaxScaler(), num, None,
             description=nan_note)
    run_case("penguins_robust_scaler", ds, n, RobustScaler(), num, None,
             description=nan_note + " Quantiles use numpy's linear interpolation.")
    ind = "add_indicator=True: one indicator per column that had NA when fitting (year has none)."
    run_case("penguins_imputer_mean", ds, n,
             SimpleImputer(strategy="mean", add_indicator=True), num, None,
             description=ind)
    run_case("penguins_imputer_median", ds, n,
             SimpleImputer(strategy="median", add_indicator=True), num, None,
             description=ind)
    run_case("penguins_imputer_most_frequent", ds, n,
             SimpleImputer(strategy="most_frequent", add_indicator=True), num, None,
             description=ind + " Ties go to the smallest value.")
    run_case("penguins_imputer_constant", ds, n,
             SimpleImputer(strategy="constant", fill_value=-1.0, add_indicator=True),
             num, None, description=ind)
    run_case("penguins_imputer_mean_no_indicator", ds, n,
             SimpleImputer(strategy="mean"), num, None)

    unseen = [
        ["Atlantis", "female", "Adelie"],
        ["Dream", "unknown", "Unicorn"],
        ["Torgersen", None, "Chinstrap"],
    ]
    run_case("penguins_one_hot_ignore", ds, c,
             OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat, None,
             probe=unseen,
             description="sklearn keeps NA (NaN) as its own category, sorted last: "
             "column sex_nan. Unknown categories encode as all zeros.")
    run_case("penguins_one_hot_infrequent", ds, c,
             OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=60,
                           sparse_output=False), cat, None, probe=unseen,
             description="Categories seen fewer than 60 times share one "
             "'<col>_infrequent_sklearn' column placed last in the column's block; "
             "unknown categories go there too when the column has one, else all zeros.")
    run_case("penguins_ordinal_encoder", ds, c, OrdinalEncoder(), cat, None,
             description="Categories sorted; NA encodes as NaN (encoded_missing_value).")
    run_case("penguins_impute_most_frequent_then_one_hot", ds, c,
             Pipeline([
                 ("impute", SimpleImputer(strategy="most_frequent")),
                 ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
             ]), cat, None,
             description="NA in sex replaced by its most frequent value, then one-hot.")


def diamonds_cases(ds: Dataset) -> None:
    rows = diamonds_rows(ds)
    num = ds.numeric(DIAMONDS_NUMERIC)
    cat = ds.categorical(DIAMONDS_CATEGORICAL)
    n = DIAMONDS_NUMERIC
    c = DIAMONDS_CATEGORICAL
    run_case("diamonds_standard_scaler", ds, n, StandardScaler(), num, rows)
    run_case("diamonds_standard_scaler_no_mean", ds, n,
             StandardScaler(with_mean=False), num, rows)
    run_case("diamonds_min_max_scaler", ds, n, MinMaxScaler(), num, rows)
    run_case("diamonds_robust_scaler", ds, n, RobustScaler(), num, rows)

    unseen = [["Flawless", "E", "SI1"], ["Ideal", "Z", "XX"], ["Fair", "J", "I1"]]
    run_case("diamonds_one_hot_ignore", ds, c,
             OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat, rows,
             probe=unseen)
    run_case("diamonds_one_hot_infrequent", ds, c,
             OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=2000,
                           sparse_output=False), cat, rows, probe=unseen,
             description="cut Fair (1610), clarity I1 (741) and IF (1790) are infrequent.")
    run_case("diamonds_ordinal_encoder", ds, c, OrdinalEncoder(), cat, rows,
             description="Categories sorted lexicographically (sklearn's default).")
    run_case("diamonds_ordinal_encoder_explicit", ds, c,
             OrdinalEncoder(categories=[DIAMONDS_CUT_ORDER, DIAMONDS_COLOR_ORDER,
                                        DIAMONDS_CLARITY_ORDER]),
             cat, rows, description="Categories given in quality order.")

    for method in ("averaged_inverted_cdf", "linear"):
        for encode in ("ordinal", "onehot-dense"):
            est = KBinsDiscretizer(n_bins=5, strategy="quantile", encode=encode,
                                   quantile_method=method)
            est.fit(num)
            probe = kbins_probe(list(est.bin_edges_))
            suffix = "" if method == "averaged_inverted_cdf" else "_linear"
            enc = "ordinal" if encode == "ordinal" else "onehot"
            run_case(f"diamonds_kbins_quantile_{enc}{suffix}", ds, n,
                     KBinsDiscretizer(n_bins=5, strategy="quantile", encode=encode,
                                      quantile_method=method),
                     num, rows, probe=probe,
                     description=f"quantile_method={method!r}; bins narrower than 1e-8 "
                     "are dropped; a value equal to an inner edge goes to the upper bin "
                     "(np.searchsorted side='right').")


def write_all() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("*.json"):
        old.unlink()
    for name, text in GOLDENS.items():
        (OUT_DIR / f"{name}.json").write_text(text, encoding="utf-8")
    total = sum(len(t.encode("utf-8")) for t in GOLDENS.values())
    print(f"wrote {len(GOLDENS)} goldens, {total} bytes, to {OUT_DIR}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    penguins_cases(Dataset(PENGUINS))
    diamonds_cases(Dataset(DIAMONDS))
    return write_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
