#!/usr/bin/env python3
"""Time the OpenSSF Model Signing reference verifier (`model-signing`, pinned in
scripts/requirements.txt) on the 1 GiB model of the Kiln artifact bench, and
compare with Kiln.

The bench (`benches/benches/artifact.rs`) writes, under
target/bench-data/oms_1gib/: `model/` (a 1 GiB weights file and three small
files), `model/model.sig` (Kiln's OMS signature, ECDSA P-256) and
`key.pub.pem`. This script verifies that signature with the Python library,
configured as `model_signing verify key` configures it (file serialization,
SHA-256, git paths and the signature left out), so both sides hash the same
bytes and check the same signature. Loading the library is not timed; each
run is timed `--repeat` times (default 3) and the best counts.

Usage (from the repository root):

    cargo bench -p kiln-benches --bench artifact -- oms_1gib
    py=$(scripts/pyenv.sh)
    $py benches/compare/oms_verify.py target/bench-data/oms_1gib

The Kiln time is read from criterion's results
(target/criterion/oms_1gib/verify_p256/new/sample.json, best sample, to match
the best of N here); --kiln-seconds compares with a time measured another
way. Options: --criterion-dir DIR, --repeat N.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import model_signing
from model_signing import hashing, verifying


def dir_bytes(model: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in model.rglob("*") if p.is_file() and p.name != "model.sig")


def python_verify_seconds(root: pathlib.Path, repeat: int) -> float:
    model = root / "model"
    sig = model / "model.sig"
    config = (
        verifying.Config()
        .use_elliptic_key_verifier(public_key=root / "key.pub.pem")
        .set_hashing_config(hashing.Config().set_ignored_paths(paths=["model.sig"], ignore_git_paths=True))
    )
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        config.verify(model, sig)
        best = min(best, time.perf_counter() - start)
    return best


def kiln_best_seconds(criterion_dir: pathlib.Path) -> float | None:
    sample = criterion_dir / "oms_1gib" / "verify_p256" / "new" / "sample.json"
    if not sample.is_file():
        return None
    data = json.loads(sample.read_text())
    return min(t / n for t, n in zip(data["times"], data["iters"])) / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=pathlib.Path, help="target/bench-data/oms_1gib")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--criterion-dir", type=pathlib.Path, default=pathlib.Path("target/criterion"))
    parser.add_argument("--kiln-seconds", type=float, default=None)
    args = parser.parse_args()

    model = args.root / "model"
    if not (model / "model.sig").is_file():
        print(f"{model}/model.sig not found: run `cargo bench -p kiln-benches --bench artifact` first", file=sys.stderr)
        return 2
    size = dir_bytes(model)
    py = python_verify_seconds(args.root, args.repeat)
    print(f"model-signing {model_signing.__version__} verify: {py:.3f} s, {size / py / 1e9:.2f} GB/s ({size} bytes)")
    kiln = args.kiln_seconds if args.kiln_seconds is not None else kiln_best_seconds(args.criterion_dir)
    if kiln is None:
        print("no Kiln time: run the bench or pass --kiln-seconds")
        return 0
    print(f"Kiln verify_dir:        {kiln:.3f} s, {size / kiln / 1e9:.2f} GB/s")
    print(f"Kiln speed-up:          {py / kiln:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
