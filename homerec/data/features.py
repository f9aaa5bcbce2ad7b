# SPDX-License-Identifier: Apache-2.0
"""ItemFeatures: a sparse item × feature matrix (categories, brand, price band, text) on an item IdMap."""

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.ids import IdMap


@dataclass(frozen=True)
class ItemFeatures:
    """Row-normalised item features aligned to `items` (rows of items without metadata are empty)."""

    matrix: sp.csr_matrix
    names: list[str]
    items: IdMap

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, items: IdMap) -> "ItemFeatures":
        """Build from an items frame (item_id + metadata columns); implemented in features_build."""
        from homerec.data.features_build import build_item_features

        return build_item_features(frame, items)

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return self.matrix.shape[1]

    def aligned(self, items: IdMap) -> "ItemFeatures":
        """The same features re-indexed to another item map (missing items get empty rows)."""
        if items == self.items:
            return self
        src = self.items.to_idx(items.ids.tolist(), strict=False)
        rows = np.flatnonzero(src >= 0)
        pick = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, src[rows])), shape=(len(items), len(self.items))
        )
        return ItemFeatures(sp.csr_matrix(pick @ self.matrix), self.names, items)
