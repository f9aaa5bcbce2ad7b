# SPDX-License-Identifier: Apache-2.0
"""Interactions: parallel arrays of (user_idx, item_idx, weight, ts[, order, quantity]) with their id maps."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

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


def _order_codes(frame: pl.DataFrame) -> np.ndarray | None:
    """Dense codes of the order_id column (-1 for a null), or None without any order id."""
    if Col.order_id not in frame.columns or frame[Col.order_id].null_count() == frame.height:
        return None
    codes = frame[Col.order_id].cast(pl.String).rank("dense").fill_null(0).cast(pl.Int64) - 1
    return codes.to_numpy()


def _quantities(frame: pl.DataFrame) -> np.ndarray | None:
    """The quantity column as float32 (NaN for a null), or None without any quantity."""
    if Col.quantity not in frame.columns or frame[Col.quantity].null_count() == frame.height:
        return None
    return frame[Col.quantity].cast(pl.Float32).fill_null(float("nan")).to_numpy()


@dataclass(frozen=True)
class Interactions:
    """Implicit-feedback events in index space; duplicates are kept (they add up as counts)."""

    user_idx: np.ndarray
    item_idx: np.ndarray
    weight: np.ndarray
    ts: np.ndarray
    users: IdMap
    items: IdMap
    order: np.ndarray | None = None
    """Per event, a dense code of its order id (-1: none); None when the data has no order ids."""
    quantity: np.ndarray | None = None
    """Units per event (float32, NaN: unknown); None when the data has no quantities."""

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        event_weights: dict[str, float] | None = None,
        users: IdMap | None = None,
        items: IdMap | None = None,
    ) -> "Interactions":
        """Build from a frame with user_id, item_id, ts and optional event_type, order_id, quantity columns.

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
            order=_order_codes(frame),
            quantity=_quantities(frame),
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
            self.user_idx[mask], self.item_idx[mask], self.weight[mask], self.ts[mask], self.users, self.items,
            None if self.order is None else self.order[mask],
            None if self.quantity is None else self.quantity[mask],
        )

    def baskets(self) -> np.ndarray:
        """Basket index (int64, dense) of each event: one user's events of one order id, else of one timestamp."""
        second = self.ts.astype(np.int64)
        if self.order is not None:  # an order code (>= 0) or, without one, -1 - ts (< 0): never equal
            second = np.where(self.order >= 0, self.order, -1 - second)
        by = np.lexsort((second, self.user_idx))
        u, s = self.user_idx[by], second[by]
        new = np.ones(len(by), dtype=bool)
        new[1:] = (u[1:] != u[:-1]) | (s[1:] != s[:-1])
        out = np.empty(len(by), dtype=np.int64)
        out[by] = np.cumsum(new) - 1
        return out

    def for_users(self, user_ids: Sequence[str], items: IdMap) -> "Interactions":
        """The events of `user_ids` (their order fixes the user indices) over the item map `items`;
        events of other users, or of items `items` lacks, are left out."""
        found = np.asarray(self.users.to_idx(list(user_ids), strict=False))
        pos = np.full(self.n_users, -1, dtype=np.int64)
        pos[found[found >= 0]] = np.flatnonzero(found >= 0)
        to_item = np.arange(self.n_items) if self.items == items else np.asarray(
            items.to_idx(self.items.ids.tolist(), strict=False))
        row, item = pos[self.user_idx], to_item[self.item_idx]
        keep = (row >= 0) & (item >= 0) & (item < len(items))
        return replace(self.select(keep), user_idx=row[keep].astype(np.int32), item_idx=item[keep].astype(np.int32),
                       users=IdMap(list(user_ids), "user"), items=items)

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
