#!/usr/bin/env python3
"""Regenerate tests/data/oms-python: a small model signed by the OpenSSF
Model Signing reference implementation (`model-signing`, pinned in
scripts/requirements.txt), which tests/signing.rs verifies with Kiln.

Usage (from the repository root):

    $(scripts/pyenv.sh) crates/kiln-artifact/tests/interop/make_python_fixture.py

It writes a fresh P-384 key in OpenSSL's SEC1 form (`BEGIN EC PRIVATE KEY`,
what `openssl ecparam -genkey` writes) and its SPKI public key, a model
directory whose names exercise the reference implementation's path order
(`tokenizer/vocab.txt` sorts before `tokenizer.json`), and signs it with
`model_signing sign key`, leaving out `notes.log` with `--ignore-paths`.
The key is a test key: it signs nothing else.
"""

import pathlib
import shutil
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import model_signing

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "data" / "oms-python"


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    model = OUT / "model"
    (model / "tokenizer").mkdir(parents=True)
    (model / "config.json").write_text('{"hidden": 8, "layers": 2}\n')
    (model / "weights.bin").write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    (model / "tokenizer.json").write_text('{"vocab": "tokenizer/vocab.txt"}\n')
    (model / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    (model / "notes.log").write_text("left out of the signature with --ignore-paths\n")

    key = ec.generate_private_key(ec.SECP384R1())
    (OUT / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    (OUT / "key.pub.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )

    cli = pathlib.Path(sys.executable).parent / "model_signing"
    subprocess.run(
        [
            str(cli), "sign", "key", str(model),
            "--private_key", str(OUT / "key.pem"),
            "--signature", str(model / "model.sig"),
            "--ignore-paths", str(model / "notes.log"),
        ],
        check=True,
    )
    subprocess.run(
        [
            str(cli), "verify", "key", str(model),
            "--signature", str(model / "model.sig"),
            "--public_key", str(OUT / "key.pub.pem"),
        ],
        check=True,
    )
    (OUT / "VERSION").write_text(f"model-signing {model_signing.__version__}\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
