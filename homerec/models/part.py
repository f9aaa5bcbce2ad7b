# SPDX-License-Identifier: Apache-2.0
"""Part: the base of the distributor models saved with a version (re-orders, baskets, segments).

Hyper-parameters are the dataclass fields of the subclass (`params()` is derived from them, as
for every `Recommender`); learned state ends in ``_``. Artifacts are the same directories every
model writes (params.json, arrays.npz, ids.npz; never pickle).
"""

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from homerec.data.ids import IdMap
from homerec.models import artifact


@dataclasses.dataclass
class Part:
    """Hyper-parameters and artifact plumbing shared by the distributor models."""

    name: ClassVar[str] = "part"

    def params(self) -> dict[str, Any]:
        """Hyper-parameters, as saved in the artifact."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def _write(self, path: str | Path, arrays: dict[str, np.ndarray], users: IdMap, items: IdMap,
               meta: dict[str, Any]) -> Path:
        """Write the model directory."""
        artifact.write_artifact(Path(path), self.name, self.params(), arrays, users, items, meta)
        return Path(path)

    @classmethod
    def _read(cls, path: str | Path) -> tuple[Self, dict[str, np.ndarray], IdMap, IdMap, dict[str, Any]]:
        """A model built from a directory's params, and its arrays, id maps and meta."""
        doc = artifact.read_params(Path(path))
        arrays, users, items = artifact.read_arrays(Path(path))
        return cls(**doc["params"]), arrays, users, items, doc["meta"]
