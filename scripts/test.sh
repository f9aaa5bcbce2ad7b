#!/usr/bin/env bash
# Set up everything and run the whole test suite (slow scale tests included).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
scripts/setup.sh dev
# loadgroup: tests marked xdist_group("spark") share one worker and so one local Spark JVM.
exec .venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
