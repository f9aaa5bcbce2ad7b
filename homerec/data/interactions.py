# SPDX-License-Identifier: Apache-2.0
"""Interactions: parallel arrays of (user_idx, item_idx, weight, ts) with their id maps."""

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.ids import IdMap
from homerec.data.schema import DEFAULT_EVENT_WEIGHTS, Col


def _index_column(values: pl.Series, idmap: IdMap) -> np.ndarray:
    """Map a string column to indices of `idmap` with a hash join (fast on millions of rows)."""
    lookup = pl.DataFrame({"id": idmap.ids, "idx": np.arange(len(idmap), dtype=np.int32)})
    joined = pl.DataFrame({"id": values.cast(pl.String)}).join(lookup, on="id", how="left", maintain_order="left")
    return joined["idx"].fill_null(-1).to_numpy().astype(np.int32, copy=False)


@dataclass(frozen=True)
class Interactions:
    """Implicit-feedback events in index space; duplicates are kept (they add up as counts)."""

    user_idx: np.ndarray
    item_idx: np.ndarray
    weight: np.ndarray
    ts: np.ndarray
    users: IdMap
    items: IdMap

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        event_weights: dict[str, float] | None = None,
        users: IdMap | None = None,
        items: IdMap | None = None,
    ) -> "Interactions":
        """Build from a frame with user_id, item_id, ts and optional event_type columns.

        Given maps are extended with ids they lack, so a catalog of items without events
        (or users without events) keeps its indices.
        """
        weights = DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights
        user_ids = frame[Col.user_id].cast(pl.String)
        item_ids = frame[Col.item_id].cast(pl.String)
        users = (users or IdMap([], "user")).extend(user_ids.unique(maintain_order=True).to_list())
        items = (items or IdMap([], "item")).extend(item_ids.unique(maintain_order=True).to_list())
        if Col.event_type in frame.columns:
            w = (
                frame[Col.event_type]
                .cast(pl.String)
                .str.to_lowercase()
                .replace_strict(weights, default=1.0, return_dtype=pl.Float32)
                .fill_null(1.0)
                .to_numpy()
            )
        else:
            w = np.ones(frame.height, dtype=np.float32)
        return cls(
            user_idx=_index_column(user_ids, users),
            item_idx=_index_column(item_ids, items),
            weight=np.asarray(w, dtype=np.float32),
            ts=frame[Col.ts].cast(pl.Int64).to_numpy(),
            users=users,
            items=items,
        )

    @classmethod
    def empty(cls, users: IdMap, items: IdMap) -> "Interactions":
        """No events over the given id maps."""
        z = np.zeros(0, dtype=np.int32)
        return cls(z, z, np.zeros(0, np.float32), np.zeros(0, np.int64), users, items)

    def __len__(self) -> int:
        return len(self.user_idx)

    @property
    def n_users(self) -> int:
        """Number of users in the user map (with or without events)."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Number of items in the item map (with or without events)."""
        return len(self.items)

    def select(self, mask: np.ndarray) -> "Interactions":
        """The events where `mask` is true, over the same id maps."""
        return Interactions(
            self.user_idx[mask], self.item_idx[mask], self.weight[mask], self.ts[mask], self.users, self.items
        )

    def before(self, ts: int) -> "Interactions":
        """Events strictly before `ts`."""
        return self.select(self.ts < ts)

    def since(self, ts: int) -> "Interactions":
        """Events at or after `ts`."""
        return self.select(self.ts >= ts)

    def to_csr(self) -> sp.csr_matrix:
        """User × item matrix of summed event weights (float32)."""
        m = sp.csr_matrix(
            (self.weight, (self.user_idx, self.item_idx)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        return m

    def item_counts(self) -> np.ndarray:
        """Summed weight per item."""
        return np.bincount(self.item_idx, weights=self.weight, minlength=self.n_items).astype(np.float32)

    def max_ts(self) -> int:
        """Latest timestamp (0 when empty)."""
        return int(self.ts.max()) if len(self.ts) else 0
