#!/usr/bin/env bash
# Run every benchmark and write BENCHMARKS.md (speed on generated data, quality on the shared data sets).
# Needs ../shared/data (or HOMEREC_DATA_DIR) for the real data sets; LightFM is built for the peers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# wrk drives the serving benchmark (Debian package), installed as root when missing.
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then echo "please install wrk (e.g. sudo apt-get install -y wrk)" >&2; exit 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
. .venv/bin/activate
python -c "import lightfm" 2>/dev/null || bash bench/install_lightfm.sh
python -m bench.ingest --scale 1.0 --out bench/out/ingest.json
python -m bench.speed --scale 1.0 --out bench/out/speed.json
python -m bench.quality --datasets ml-100k,ml-latest-small,completejourney-sample --out bench/out/quality-real.json
python -m bench.quality --datasets generated --out bench/out/quality-generated.json
python -m bench.serving --scale 1.0 --out bench/out/serving.json
python -m bench.spark --scale 1.0 --out bench/out/spark.json
python -m bench.personalize --scale 1.0 --users 1000 --out bench/out/personalize.json
python -m bench.replicas --scale 1.0 --out bench/out/replicas.json
python -m bench.distributor --scale 1.0 --out bench/out/distributor.json
python -m bench.exploration --scale 0.2 --requests 4000 --cutoff 180 --out bench/out/exploration.json
python -m bench.report
