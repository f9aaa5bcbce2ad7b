# SPDX-License-Identifier: Apache-2.0
"""Model directories without pickle: params.json + arrays.npz + the two id maps (ids.npz, byte-exact)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from homerec.data.ids import IdMap
from homerec.errors import HomerecError

FORMAT_VERSION = 1
PARAMS_FILE = "params.json"
ARRAYS_FILE = "arrays.npz"
IDS_FILE = "ids.npz"


def pack_csr(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays under `prefix`."""
    m = sp.csr_matrix(m)
    return {
        f"{prefix}.data": m.data,
        f"{prefix}.indices": m.indices,
        f"{prefix}.indptr": m.indptr,
        f"{prefix}.shape": np.asarray(m.shape, dtype=np.int64),
    }


def unpack_csr(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    """Inverse of pack_csr."""
    shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"]), shape=shape
    )


def write_artifact(
    path: Path, model_class: str, params: dict[str, Any], arrays: dict[str, np.ndarray],
    users: IdMap, items: IdMap, meta: dict[str, Any] | None = None,
) -> None:
    """Write one model directory."""
    path.mkdir(parents=True, exist_ok=True)
    doc = {"class": model_class, "format_version": FORMAT_VERSION, "params": params, "meta": meta or {}}
    (path / PARAMS_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True))
    np.savez(path / ARRAYS_FILE, **arrays)
    np.savez(path / IDS_FILE, **users.to_arrays("users"), **items.to_arrays("items"))


def read_params(path: Path) -> dict[str, Any]:
    """The params.json document of a model directory."""
    f = Path(path) / PARAMS_FILE
    if not f.exists():
        raise HomerecError(f"{path} is not a homerec model directory (no {PARAMS_FILE})")
    doc = json.loads(f.read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise HomerecError(f"{path}: unsupported artifact format {doc.get('format_version')!r}")
    return doc


def read_arrays(path: Path) -> tuple[dict[str, np.ndarray], IdMap, IdMap]:
    """The arrays and id maps of a model directory (never unpickles)."""
    with np.load(Path(path) / ARRAYS_FILE, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    with np.load(Path(path) / IDS_FILE, allow_pickle=False) as z:
        ids = {k: z[k] for k in z.files}
    users, items = IdMap.from_arrays(ids, "users", "user"), IdMap.from_arrays(ids, "items", "item")
    return arrays, users, items
