#!/usr/bin/env python3
"""Time one training epoch in scikit-learn and PyTorch on the Kiln training bench data, and compare with Kiln.

The data is the 1,000,000 x 20 float32 matrix and 0/1 labels of
`kiln_benches::train_data`, written as `x.npy` and `y.npy` by the `gen-train-data`
binary, so every side trains on exactly the same rows. The Kiln bench
(`benches/benches/train.rs`) times one epoch of Burn on the `flex` CPU backend
(one thread): shuffled batches of 256, Adam (lr 1e-3), binary cross entropy on
logits, for a logistic regression (20 -> 1) and an MLP (20 -> 64 -> 64 -> 1, ReLU).
This script times, on one core (BLAS and torch limited to one thread):

* scikit-learn `SGDClassifier(loss="log_loss", max_iter=1, tol=None)`: one
  epoch of per-sample SGD on the logistic loss (scikit-learn has no
  mini-batch Adam for linear models); float64, as it requires;
* scikit-learn `MLPClassifier((64, 64), solver="adam", batch_size=256,
  max_iter=1, alpha=0)`: the MLP, the same way as Kiln;
* PyTorch (CPU) when `import torch` works: both architectures, the same loop
  as Kiln (a seeded permutation, batches of 256, `BCEWithLogitsLoss`, Adam at
  1e-3, the batch loss read back every step as Kiln does).

Each is timed `--repeat` times (default 3) and the best counts; setting up
models and converting arrays is not timed.

Usage (from the repository root):

    cargo run -p kiln-benches --release --bin gen-train-data -- target/bench-data/train_1m
    cargo bench -p kiln-benches --bench train
    py=$(scripts/pyenv.sh)          # scikit-learn; PyTorch is not in scripts/requirements.txt
    $py benches/compare/train_epoch.py target/bench-data/train_1m

Run it with a Python that has torch installed to add the PyTorch rows. The
Kiln times are read from criterion's results
(target/criterion/train_epoch/<bench>/new/sample.json, best sample, to match the
best of N here); --kiln-logistic-seconds / --kiln-mlp-seconds compare with
times measured another way. Options: --criterion-dir DIR, --repeat N.
"""

from __future__ import annotations

import os

# One core for every library, as Kiln's flex backend uses one thread.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

BATCH_SIZE = 256
LEARNING_RATE = 1e-3
SEED = 0
BENCHES = {"logistic": "logistic_regression_1m_x_20", "mlp": "mlp_2x64_1m_x_20"}


def best_of(repeat: int, fn) -> float:
    """The best wall time of `repeat` calls of fn()."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def criterion_best(criterion_dir: Path, bench: str) -> float | None:
    """Kiln's best per-iteration time (seconds) for `bench`, from criterion's sample.json."""
    sample = criterion_dir / "train_epoch" / bench / "new" / "sample.json"
    if not sample.is_file():
        return None
    data = json.loads(sample.read_text())
    return min(t / i for t, i in zip(data["times"], data["iters"])) / 1e9


def sklearn_times(x: np.ndarray, y: np.ndarray, repeat: int) -> dict[str, float]:
    x64 = x.astype(np.float64)
    with warnings.catch_warnings():
        # One epoch is, by design, not converged.
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd = best_of(
            repeat,
            lambda: SGDClassifier(loss="log_loss", max_iter=1, tol=None, shuffle=True, random_state=SEED).fit(x64, y),
        )
        mlp = best_of(
            repeat,
            lambda: MLPClassifier(
                hidden_layer_sizes=(64, 64),
                activation="relu",
                solver="adam",
                alpha=0.0,
                batch_size=BATCH_SIZE,
                learning_rate_init=LEARNING_RATE,
                max_iter=1,
                shuffle=True,
                random_state=SEED,
                tol=0.0,
            ).fit(x, y),
        )
    return {"logistic": sgd, "mlp": mlp}


def torch_times(x: np.ndarray, y: np.ndarray, repeat: int):
    """PyTorch CPU epoch times, or the reason they cannot be measured."""
    try:
        import torch
    except Exception as e:  # ImportError, or OSError/ValueError for missing CUDA libraries
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.float32))
    n = xt.shape[0]

    def models():
        return {
            "logistic": lambda: torch.nn.Linear(20, 1),
            "mlp": lambda: torch.nn.Sequential(
                torch.nn.Linear(20, 64),
                torch.nn.ReLU(),
                torch.nn.Linear(64, 64),
                torch.nn.ReLU(),
                torch.nn.Linear(64, 1),
            ),
        }

    def epoch(model, optimizer, loss_fn, generator):
        total = 0.0
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]).squeeze(1), yt[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        return total / n

    out = {}
    for name, make in models().items():
        best = float("inf")
        for _ in range(repeat):
            model = make()
            optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            generator = torch.Generator().manual_seed(SEED)
            start = time.perf_counter()
            epoch(model, optimizer, loss_fn, generator)
            best = min(best, time.perf_counter() - start)
        out[name] = best
    return out, f"torch {torch.__version__}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("data", type=Path, help="the folder gen-train-data wrote (x.npy, y.npy)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts (default 3)")
    parser.add_argument("--criterion-dir", type=Path, default=Path("target/criterion"))
    parser.add_argument("--kiln-logistic-seconds", type=float, help="Kiln's logistic epoch, instead of criterion's")
    parser.add_argument("--kiln-mlp-seconds", type=float, help="Kiln's MLP epoch, instead of criterion's")
    args = parser.parse_args()
    x_path, y_path = args.data / "x.npy", args.data / "y.npy"
    if not (x_path.is_file() and y_path.is_file()):
        print(f"{args.data}: no x.npy and y.npy; write them with gen-train-data (see --help)", file=sys.stderr)
        return 2
    x, y = np.load(x_path), np.load(y_path)
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != 20 or y.shape != (x.shape[0],):
        print(f"unexpected data: x {x.dtype} {x.shape}, y {y.dtype} {y.shape}", file=sys.stderr)
        return 1
    rows = x.shape[0]
    print(f"# {args.data}: {rows} rows x {x.shape[1]} float32 features, {y.mean():.3f} positive")
    print(f"# scikit-learn {sklearn.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, one thread")

    times = {"scikit-learn": sklearn_times(x, y, args.repeat)}
    labels = {
        "scikit-learn": {"logistic": "SGDClassifier (log loss, per-sample SGD)", "mlp": "MLPClassifier (Adam, batch 256)"},
        "PyTorch": {"logistic": "Linear(20, 1), Adam, batch 256", "mlp": "MLP 2x64, Adam, batch 256"},
    }
    torch_result, torch_note = torch_times(x, y, args.repeat)
    if torch_result is None:
        print(f"# PyTorch: not measured ({torch_note})")
    else:
        print(f"# PyTorch: {torch_note}, CPU, one thread")
        times["PyTorch"] = torch_result

    kiln = {
        "logistic": args.kiln_logistic_seconds or criterion_best(args.criterion_dir, BENCHES["logistic"]),
        "mlp": args.kiln_mlp_seconds or criterion_best(args.criterion_dir, BENCHES["mlp"]),
    }
    print()
    print(f"| model | implementation | one epoch (best of {args.repeat}) | rows/s | Kiln speed-up |")
    print("|---|---|---|---|---|")
    for model in ("logistic", "mlp"):
        k = kiln[model]
        if k is not None:
            print(f"| {model} | Kiln (Burn flex), Adam, batch 256 | {k:.2f} s | {rows / k / 1e6:.2f} M | - |")
        for lib, per_model in times.items():
            t = per_model[model]
            speedup = f"{t / k:.2f}x" if k is not None else "-"
            print(f"| {model} | {lib} {labels[lib][model]} | {t:.2f} s | {rows / t / 1e6:.2f} M | {speedup} |")
    if any(v is None for v in kiln.values()):
        print(f"\nno Kiln result for some models under {args.criterion_dir}/train_epoch: run the train bench first")
    if rows != 1_000_000:
        print(f"\nnote: the Kiln bench uses 1,000,000 rows, this data has {rows}: the ratio is not meaningful")
    return 0


if __name__ == "__main__":
    sys.exit(main())
