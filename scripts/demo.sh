#!/usr/bin/env bash
# Set up homerec and run the demo on the embedded default (SQLite, generated sample data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/homerec demo "$@"
