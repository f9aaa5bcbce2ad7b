#!/usr/bin/env bash
# Create .venv and install homerec with its pinned dependencies (idempotent).
# Usage: scripts/setup.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
extra=""
if [ "${1:-}" = "dev" ]; then extra="[dev]"; fi
stamp=".venv/.installed${extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extra}"
    if [ -n "$extra" ]; then
        # LightFM is a benchmark peer (tests/bench runs it); its 1.17 sdist needs a patched build.
        (. .venv/bin/activate && bash bench/install_lightfm.sh >/dev/null)
    fi
    touch "$stamp"
fi
