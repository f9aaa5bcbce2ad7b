# SPDX-License-Identifier: Apache-2.0
"""The batch's lists in a worker's memory: every cached list of a namespace as compact arrays.

`homerec batch` writes each user's top-k (and each item's similar items) to the store's
`rec_cache`. A serving worker loads a namespace once into a `ListTable` (item codes and raw
scores as (n, width) arrays, one row per key, plus the model version, `computed_at` and change
feed position of each row) and answers cache hits from it without touching the store. At the
reference scale (180,483 users × 10 items) a table takes about 30 MB: two small arrays per
column and one dict from key to row. `ServedLists` holds the current tables and swaps in new
ones, built off the request path, when a batch has written new lists.
"""

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import polars as pl

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS, Col
from homerec.models.base import Recommender
from homerec.storage.base import Store

log = logging.getLogger(__name__)

NAMESPACES = (USER_RECS, SIMILAR_ITEMS)


class CachedRow(NamedTuple):
    """One key's cached list: item ids and raw scores (best first), and what it was made from."""

    item_ids: list[str]
    scores: np.ndarray
    model_version: str
    computed_at: int
    feed_seq: int


@dataclass(frozen=True)
class ListTable:
    """Every list of one namespace; rows are addressed through `rows` (key → row index)."""

    rows: dict[str, int]
    items: np.ndarray
    """(n, width) int32 codes into `vocab`; -1 pads lists shorter than `width`."""
    scores: np.ndarray
    """(n, width) float32 raw scores, aligned with `items`."""
    lengths: np.ndarray
    """(n,) list length of each row."""
    vocab: np.ndarray
    """Item ids (object array of str) the codes point to."""
    versions: tuple[str, ...]
    version_code: np.ndarray
    """(n,) index into `versions` of each row's model version."""
    computed_at: np.ndarray
    feed_seq: np.ndarray
    score10: np.ndarray | None = None
    """(n, width) 0-10 scores, computed at load by each row's model version (NaN: that version was not loaded)."""

    @property
    def vocab_list(self) -> list[str]:
        """`vocab` as a Python list (indexing it is several times cheaper than the object array)."""
        cached = self.__dict__.get("_vocab_list")
        if cached is None:
            cached = self.vocab.tolist()
            object.__setattr__(self, "_vocab_list", cached)
        return cached

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, key: str) -> CachedRow | None:
        """The list of `key`, or None."""
        row = self.rows.get(key)
        if row is None:
            return None
        n = int(self.lengths[row])
        return CachedRow(self.vocab[self.items[row, :n]].tolist(), self.scores[row, :n],
                         self.versions[self.version_code[row]], int(self.computed_at[row]), int(self.feed_seq[row]))

    def oldest_feed_seq(self) -> int:
        """The smallest change-feed position of any row (0 when empty)."""
        return int(self.feed_seq.min()) if len(self.feed_seq) else 0

    def calibrated(self, models: Mapping[str, Recommender]) -> "ListTable":
        """The table with `score10` filled for the rows whose model version is in `models`."""
        out = np.full(self.scores.shape, np.nan)
        for code, version in enumerate(self.versions):
            model = models.get(version)
            rows = np.flatnonzero(self.version_code == code)
            if model is not None and len(rows):
                out[rows] = model.score10_array(self.scores[rows])
        return replace(self, score10=out)

    @classmethod
    def empty(cls) -> "ListTable":
        """A table without lists."""
        return cls({}, np.zeros((0, 0), np.int32), np.zeros((0, 0), np.float32), np.zeros(0, np.int32),
                   np.zeros(0, dtype=object), (), np.zeros(0, np.int16), np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> "ListTable":
        """Build from `Store.cached_lists` rows (JSON `[[item_id, score], ...]` per row)."""
        if frame.is_empty():
            return cls.empty()
        pairs = frame[Col.ranked].str.json_decode(pl.List(pl.List(pl.String)))
        lengths = pairs.list.len().fill_null(0).to_numpy().astype(np.int32)
        flat = pairs.explode().drop_nulls()
        ids, scores = flat.list.get(0), flat.list.get(1).cast(pl.Float32)
        vocab = ids.unique(maintain_order=True)
        codes = ids.cast(pl.Enum(vocab)).to_physical().to_numpy().astype(np.int32)
        width = int(lengths.max()) if len(lengths) else 0
        n = frame.height
        items = np.full((n, width), -1, dtype=np.int32)
        values = np.full((n, width), -np.inf, dtype=np.float32)
        row_of = np.repeat(np.arange(n), lengths)
        col_of = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        items[row_of, col_of] = codes
        values[row_of, col_of] = scores.to_numpy()
        versions = frame[Col.model_version].unique(maintain_order=True)
        version_code = frame[Col.model_version].cast(pl.Enum(versions)).to_physical().to_numpy().astype(np.int16)
        keys = frame[Col.key].to_list()
        return cls(dict(zip(keys, range(n))), items, values, lengths, np.asarray(vocab.to_list(), dtype=object),
                   tuple(versions.to_list()), version_code, frame[Col.computed_at].to_numpy().astype(np.int64),
                   frame[Col.feed_seq].to_numpy().astype(np.int64))


class ServedLists:
    """The current `ListTable` of each served namespace; `reload()` swaps in fresh ones."""

    def __init__(self, store: Store, namespaces: tuple[str, ...] = NAMESPACES) -> None:
        self.store, self.namespaces = store, namespaces
        self.tables: dict[str, ListTable] = {ns: ListTable.empty() for ns in namespaces}
        self._lock = threading.Lock()  # one reload at a time

    def table(self, namespace: str) -> ListTable:
        """The current table of `namespace` (read once per request; swapped whole)."""
        return self.tables[namespace]

    def reload(self, models: Mapping[str, Recommender] | None = None) -> dict[str, int]:
        """Read every namespace again and swap the tables in; lists per namespace.

        `models` (version → model) precomputes the 0-10 scores of those versions' rows.
        """
        with self._lock:
            fresh = {ns: ListTable.from_frame(self.store.cached_lists(ns)).calibrated(models or {})
                     for ns in self.namespaces}
            self.tables = fresh
        log.info("cached lists loaded: %s", ", ".join(f"{ns} {len(t):,}" for ns, t in fresh.items()))
        return {ns: len(t) for ns, t in fresh.items()}

    def oldest_feed_seq(self) -> int:
        """The oldest change-feed position any loaded list depends on."""
        seqs = [t.oldest_feed_seq() for t in self.tables.values() if len(t)]
        return min(seqs) if seqs else 0
