#!/usr/bin/env bash
# Create (or reuse) the Python virtual environment that holds the reference
# implementations (scikit-learn, numpy, scipy) used to generate golden files.
#
# Usage:   scripts/pyenv.sh            # prints the venv's python path as the last stdout line
#          $(scripts/pyenv.sh) tests/golden/make_transform_goldens.py
#
# Environment:
#   KILN_VENV   where the venv lives (default: <repo>/.venv, git-ignored)
#   PYTHON      interpreter used to create it (default: python3)
#
# Idempotent: the requirements are installed only when the sha256 of
# scripts/requirements.txt differs from the stamp left by the last install.
# All messages go to stderr; stdout carries only the python path.
# Exit codes: 0 ok, 3 no Python 3 on this machine, 4 venv/pip unavailable,
# 5 pip install failed.
set -euo pipefail

log() { printf 'pyenv.sh: %s\n' "$*" >&2; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KILN_VENV:-$repo/.venv}"
requirements="$repo/scripts/requirements.txt"
stamp="$venv/.kiln-requirements.sha256"
base_python="${PYTHON:-python3}"

if ! command -v "$base_python" >/dev/null 2>&1; then
    log "no '$base_python' on PATH: install Python 3 (Debian: apt-get install -y python3 python3-venv) or set PYTHON"
    exit 3
fi
if ! "$base_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    log "'$base_python' is not Python >= 3.11 (the pinned numpy/scikit-learn need it)"
    exit 3
fi

# Debian splits venv/ensurepip into python3-venv; install it when we can.
apt_install_venv() {
    if [[ "${EUID:-$(id -u)}" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        return 1
    fi
    log "installing python3-venv with apt-get"
    apt-get install -y python3-venv >&2 || { apt-get update >&2 && apt-get install -y python3-venv >&2; }
}

create_venv() {
    rm -rf "$venv"
    "$base_python" -m venv "$venv" >&2
}

venv_python="$venv/bin/python"
if [[ ! -x "$venv_python" ]] || ! "$venv_python" -m pip --version >/dev/null 2>&1; then
    log "creating virtual environment at $venv"
    if ! create_venv; then
        if apt_install_venv && create_venv; then
            :
        else
            log "could not create a venv with '$base_python -m venv' (missing venv/ensurepip module?)"
            exit 4
        fi
    fi
    if ! "$venv_python" -m pip --version >/dev/null 2>&1; then
        log "the venv at $venv has no pip (Debian: apt-get install -y python3-venv python3-pip)"
        exit 4
    fi
fi

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
    log "installing $(basename "$requirements") into $venv"
    if ! "$venv_python" -m pip install --disable-pip-version-check --no-input -q -r "$requirements" >&2; then
        log "pip install -r $requirements failed"
        exit 5
    fi
    printf '%s\n' "$want" >"$stamp"
else
    log "requirements up to date in $venv"
fi

printf '%s\n' "$venv_python"
