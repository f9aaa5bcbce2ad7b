#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install LightFM 1.17 (a benchmark peer only; not a homerec dependency) into the active venv.
#
# Its sdist's setup.py does `__builtins__.__LIGHTFM_SETUP__ = True`, which fails under
# setuptools' PEP 517 backend (there `__builtins__` is a dict). Because pip runs that setup.py
# to read metadata even for `pip download`, we fetch the sdist through pip's index client (pinned version + sha256),
# patch that one line to `import builtins; builtins.__LIGHTFM_SETUP__ = True`, and
# `pip install --no-build-isolation --no-deps` it. The C sources ship pre-generated
# (Cython 0.29.33), so no Cython is needed: only gcc, OpenMP and the Python headers.
#
# Usage: . .venv/bin/activate && bash bench/install_lightfm.sh
set -euo pipefail

VERSION=1.17
SHA256=2b77ada182ccd768a8d7643ab3cfcd8b6e855db09087f7cc7329bd63316697a8

if [[ -z "${VIRTUAL_ENV:-}" ]]; then
    echo "activate the venv first (. .venv/bin/activate)" >&2
    exit 1
fi
if python -c "import lightfm, sys; sys.exit(lightfm.__version__ != '${VERSION}')" 2>/dev/null; then
    echo "lightfm ${VERSION} already installed"
    exit 0
fi

HERE="$(cd "$(dirname "$0")" && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# `pip download` cannot be used: it runs the unpatched setup.py to prepare metadata and fails;
# bench/fetch_sdist.py asks the configured index through pip's own client instead.
python "$HERE/fetch_sdist.py" lightfm "${VERSION}" .
echo "${SHA256}  lightfm-${VERSION}.tar.gz" | sha256sum -c -
tar xzf "lightfm-${VERSION}.tar.gz"
cd "lightfm-${VERSION}"

python - <<'PY'
from pathlib import Path

p = Path("setup.py")
src = p.read_text()
old = "__builtins__.__LIGHTFM_SETUP__ = True"
assert src.count(old) == 1, "unexpected setup.py: patch target not found"
p.write_text(src.replace(old, "import builtins\nbuiltins.__LIGHTFM_SETUP__ = True"))
PY

# -march=native (LightFM's default) is kept: the build is for this machine only.
# --no-build-isolation needs a setuptools that can build wheels (>= 70.1, or the `wheel`
# package); the venv's setuptools 65 cannot, so then let pip build in a throwaway
# environment with a current setuptools rather than add `wheel` to the project venv.
if python -c "import wheel" 2>/dev/null || python - <<'PY' 2>/dev/null
import sys, setuptools
sys.exit(tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (70, 1))
PY
then
    pip install --no-build-isolation --no-deps .
else
    echo "venv setuptools cannot build wheels: building with pip's build isolation"
    pip install --no-deps .
fi
cd /
python -c "from lightfm import LightFM; import lightfm; print('lightfm', lightfm.__version__, 'ok')"
