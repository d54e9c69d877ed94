#!/usr/bin/env python3
"""Time scikit-learn's ColumnTransformer on the Kiln benchmark data, and compare with Kiln.

The data is the 1,000,000 x 20 table of the `kiln-benches` crate (14 float64,
3 int64, 3 categoricals of 5 categories), written by its `gen-data` binary, so
both sides transform exactly the same values. The transformer is the
equivalent of `kiln_benches::pipeline()`:

    ColumnTransformer([
        ("num", StandardScaler(), <17 numeric columns>),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), <3 categoricals>),
    ])

It is fitted once and `transform` is timed on all rows (best of --repeat runs,
default 3); `fit` is timed the same way. scikit-learn runs this on one core
(ColumnTransformer's n_jobs=None).

Usage (from the repository root):

    cargo run -p kiln-benches --release --bin gen-data -- target/bench-data/bench_1m.csv
    RAYON_NUM_THREADS=1 cargo bench -p kiln-benches --bench transform -- transform_batch
    cargo bench -p kiln-benches --bench transform -- transform_batch      # all cores
    py=$(scripts/pyenv.sh)
    $py benches/compare/sklearn_transform.py target/bench-data/bench_1m.csv

The Kiln times are read from criterion's results (target/criterion/transform_batch/
<bench>/threads_<n>/new/sample.json, best sample, to match scikit-learn's best
of N); --kiln-seconds S compares with a time measured some other way instead.
Options: --criterion-dir DIR, --repeat N, --kiln-seconds S.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = [f"f{k:02d}" for k in range(14)] + [f"i{k}" for k in range(3)]
CATEGORICAL = [f"c{k}" for k in range(3)]
EXPECTED_OUTPUTS = 17 + 3 * 5


def best_of(repeat: int, fn):
    """The best wall time of `repeat` calls of fn, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def criterion_best(path: Path) -> float | None:
    """The best per-iteration time (seconds) of a criterion benchmark, from its sample.json."""
    sample = path / "new" / "sample.json"
    if not sample.is_file():
        return None
    data = json.loads(sample.read_text())
    return min(t / i for t, i in zip(data["times"], data["iters"])) / 1e9


def kiln_results(criterion_dir: Path, bench: str) -> dict[str, float]:
    """Kiln's best time per thread count for `bench` ("threads_1" -> seconds)."""
    out = {}
    for d in sorted((criterion_dir / "transform_batch" / bench).glob("threads_*")):
        t = criterion_best(d)
        if t is not None:
            out[d.name] = t
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("csv", type=Path, help="the CSV written by gen-data")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts (default 3)")
    parser.add_argument("--criterion-dir", type=Path, default=Path("target/criterion"))
    parser.add_argument("--kiln-seconds", type=float, help="Kiln's batch transform time, instead of criterion's")
    args = parser.parse_args()
    if not args.csv.is_file():
        print(f"{args.csv}: no such file; write it with gen-data (see --help)", file=sys.stderr)
        return 2

    start = time.perf_counter()
    df = pd.read_csv(args.csv, dtype={**{c: "float64" for c in NUMERIC[:14]}, **{c: "int64" for c in NUMERIC[14:]}})
    load = time.perf_counter() - start
    rows = len(df)
    print(f"# {args.csv}: {rows} rows x {df.shape[1]} columns, read in {load:.2f} s (not timed below)")
    print(f"# scikit-learn {sklearn.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"python {sys.version.split()[0]}")

    def make():
        return ColumnTransformer(
            [
                ("num", StandardScaler(), NUMERIC),
                ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
            ]
        )

    fit_s, ct = best_of(args.repeat, lambda: make().fit(df))
    transform_s, out = best_of(args.repeat, lambda: ct.transform(df))
    if out.shape != (rows, EXPECTED_OUTPUTS):
        print(f"unexpected output shape {out.shape}, wanted ({rows}, {EXPECTED_OUTPUTS})", file=sys.stderr)
        return 1

    print()
    print("| step | scikit-learn (best of %d) | rows/s |" % args.repeat)
    print("|---|---|---|")
    print(f"| fit | {fit_s * 1e3:.1f} ms | {rows / fit_s / 1e6:.2f} M |")
    print(f"| transform ({out.dtype}) | {transform_s * 1e3:.1f} ms | {rows / transform_s / 1e6:.2f} M |")

    comparisons = []
    if args.kiln_seconds is not None:
        comparisons.append(("transform", "given", args.kiln_seconds, transform_s))
    else:
        for bench, label in (
            ("1m_x_20_to_32_f32", "transform f32"),
            ("1m_x_20_to_32_f64", "transform f64"),
            ("into_reused_1m_x_20_to_32_f32", "transform f32 into a reused buffer"),
        ):
            for threads, t in kiln_results(args.criterion_dir, bench).items():
                comparisons.append((label, threads, t, transform_s))
        for threads, t in kiln_results(args.criterion_dir, "fit_1m_x_20").items():
            comparisons.append(("fit", threads, t, fit_s))
    if not comparisons:
        print("\nno Kiln results under %s/transform_batch: run the transform bench first, "
              "or pass --kiln-seconds" % args.criterion_dir)
        return 0
    print()
    print("| Kiln | threads | Kiln (best sample) | scikit-learn | speed-up |")
    print("|---|---|---|---|---|")
    for label, threads, kiln_s, sk_s in comparisons:
        print(f"| {label} | {threads.removeprefix('threads_')} | {kiln_s * 1e3:.1f} ms | {sk_s * 1e3:.1f} ms "
              f"| {sk_s / kiln_s:.1f}x |")
    if rows != 1_000_000:
        print(f"\nnote: the Kiln benches use 1,000,000 rows, this CSV has {rows}: the ratio is not meaningful")
    return 0


if __name__ == "__main__":
    sys.exit(main())
