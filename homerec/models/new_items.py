# SPDX-License-Identifier: Apache-2.0
"""Products added after training, made recommendable through their metadata before any retrain.

A trained model's item map is fixed. `with_new_items(model, catalog)` wraps it in a model
whose item map is the model's items followed by the catalogue's new ones. A new item is
placed by its metadata: its `NEIGHBOURS` most similar known items (cosine of the content
features, built afresh over the whole current catalogue: categories, brand, price band, text)
lend it their scores. For a user, a new item scores a weighted mean of its neighbours'
scores, the weights a softmax of their similarities (temperature `TEMPERATURE`, so the closest
look-alikes dominate), lowered by how far the best neighbour is from identical:

    s(u, new) = m - (1 - c) * |m|,   m = sum_j w_j s(u, j),  w = softmax(sim / T),  c = max sim

so a new product that looks like an item the user is about to be recommended ranks just below
it, in the model's own score scale (the 0-10 calibration applies unchanged). Similar items
work the same way. A new item without any metadata in common with a known one is never
recommended. The popularity fallback (users without history) does not list new items: they
have no popularity yet.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.features_build import build_item_features
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.models.base import Recommender
from homerec.models.one_user import OneHistory
from homerec.models.item_rule import NonProductRule
from homerec.types import Recommendation

NEIGHBOURS = 10
TEMPERATURE = 0.05


@dataclass(frozen=True)
class NewItems:
    """New item ids and, per new item, its known neighbours (model item indices) and weights."""

    ids: list[str]
    neighbours: np.ndarray  # (n_new, m) int64
    weights: np.ndarray  # (n_new, m) float32, rows sum to 1 (0 where the item matched nothing)
    confidence: np.ndarray  # (n_new,) the best neighbour's cosine, in [0, 1]
    recommendable: np.ndarray | None = None  # (n_new,) False for non-products by the model's rule

    def lend(self, known: np.ndarray) -> np.ndarray:
        """Scores (b, n_new) of the new items from scores (b, n_known) of the known ones."""
        s = known[:, self.neighbours]  # (b, n_new, m)
        ok = np.isfinite(s)
        w = np.where(ok, self.weights[None], 0.0)
        total = w.sum(axis=2)
        mean = (np.where(ok, s, 0.0) * w).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(total > 0, mean / total, -np.inf)
        out = mean - (1.0 - self.confidence[None]) * np.abs(mean)
        out[:, self.confidence <= 0] = -np.inf
        return np.where(np.isnan(out), -np.inf, out).astype(np.float32)


def find_new_items(model: Recommender, catalog: pl.DataFrame, neighbours: int = NEIGHBOURS) -> NewItems:
    """The catalogue's items the model does not know, with their metadata neighbours among known items."""
    ids = catalog[Col.item_id].cast(pl.String).to_list() if Col.item_id in catalog.columns else []
    new = [i for i in ids if i not in model.items_]
    if not new or len(model.items_) == 0:
        return NewItems([], np.zeros((0, 1), np.int64), np.zeros((0, 1), np.float32), np.zeros(0, np.float32))
    everyone = IdMap(ids)
    F = build_item_features(catalog, everyone).matrix  # rows unit-normalised (or empty)
    known_rows = everyone.to_idx(model.items_.ids.tolist(), strict=False)  # per model item, -1 if not in catalog
    Fk = F[np.maximum(known_rows, 0)].multiply((known_rows >= 0)[:, None]).tocsr()
    sims = (F[everyone.to_idx(new)] @ Fk.T).toarray()  # (n_new, n_known) cosines
    m = max(1, min(neighbours, sims.shape[1]))
    top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < sims.shape[1] else np.tile(np.arange(m), (len(new), 1))
    sim = np.clip(np.take_along_axis(sims, top, axis=1), 0.0, 1.0)
    weights = np.where(sim > 0, np.exp((sim - sim.max(axis=1, keepdims=True)) / TEMPERATURE), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    rule = NonProductRule.from_json(getattr(model, "item_rule_", ""))
    return NewItems(new, top.astype(np.int64), weights.astype(np.float32), sim.max(axis=1).astype(np.float32),
                    ~rule.non_products(catalog, new))


class WithNewItems(Recommender):
    """A trained model whose item map also holds new items, scored from their metadata neighbours.

    Everything else (users, fallback, calibration, reasons for known items) is the wrapped
    model's; `recommend`, `recommend_batch`, `rank` and `similar_items` work as on any model.
    """

    cold_items: ClassVar[bool] = True
    tie_break: ClassVar[bool] = False  # the wrapped model already broke its ties

    def __init__(self, base: Recommender, new: NewItems) -> None:
        super().__init__(popularity_mix=0.0)
        self.base, self.new = base, new
        self.name = base.name  # type: ignore[misc]  # reasons and logs name the real model
        self.needs_history = base.needs_history  # type: ignore[misc]
        n_new = len(new.ids)
        self.users_ = base.users_
        self.items_ = base.items_.extend(new.ids)
        self.item_known_ = np.concatenate([base.item_known_, np.ones(n_new, bool)])
        self.fallback_ = np.concatenate([base.fallback_, np.full(n_new, -np.inf, np.float32)])  # no popularity yet
        self.calibration_ = base.calibration_
        known_ok = base.recommendable_ if getattr(base, "recommendable_", None) is not None else np.ones(len(base.items_), bool)
        new_ok = new.recommendable if new.recommendable is not None else np.ones(n_new, bool)
        self.recommendable_ = None if known_ok.all() and new_ok.all() else np.concatenate([known_ok, new_ok])
        self._n = len(base.items_)
        self._like = base.items_.to_ids(new.neighbours[np.arange(n_new), np.argmax(new.weights, axis=1)]) if n_new else []

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: object) -> None:
        raise TypeError("WithNewItems wraps a fitted model; fit the model itself")

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        known = self.base.score(user_idx, sp.csr_matrix(history[:, : self._n]))
        return np.hstack([known, self.new.lend(known)])

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        known = self.base.score_one(user_idx, hist.below(self._n))[None, :]
        return np.hstack([known, self.new.lend(known)])[0]

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        item_idx = np.asarray(item_idx)
        is_new = item_idx >= self._n
        out = np.empty((len(item_idx), len(self.items_)), dtype=np.float32)
        if (~is_new).any():
            known = np.asarray(self.base._similar(item_idx[~is_new]), dtype=np.float32)
            out[~is_new] = np.hstack([known, self.new.lend(known)])
        for row in np.flatnonzero(is_new):  # a new item: its neighbours' similarity rows, weighted
            j = item_idx[row] - self._n
            nb, w = self.new.neighbours[j], self.new.weights[j]
            known = np.asarray(self.base._similar(nb), dtype=np.float32)
            known = np.where(np.isfinite(known), known, 0.0)
            mixed = (w[:, None] * known).sum(axis=0, keepdims=True)
            out[row] = np.hstack([mixed, self.new.lend(mixed)])[0]
            out[row, nb] = np.maximum(out[row, nb], mixed.max() + w * self.new.confidence[j])  # its look-alikes first
        return out

    def _records(self, uidx: int, hist: OneHistory, idx: np.ndarray, vals: np.ndarray, cold: bool) -> list[Recommendation]:
        """Known items keep the wrapped model's reasons; new ones say which known item they resemble."""
        old = idx < self._n
        base_records = iter(self.base._records(uidx, hist.below(self._n), idx[old], vals[old], cold))
        out = []
        for i, v in zip(idx, vals):
            if i < self._n:
                out.append(next(base_records))
            else:
                like = self._like[i - self._n]
                out.append(Recommendation(self.items_.to_ids([i])[0], float(v), self.score10(v),
                                          f"{self.name}: new item, metadata like {like}"))
        return out

    def save(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise TypeError("WithNewItems is built at serving time from the catalogue; save the wrapped model")


def with_new_items(model: Recommender, catalog: pl.DataFrame) -> Recommender:
    """The model itself when the catalogue has nothing new for it, else the wrapped model."""
    new = find_new_items(model, catalog)
    return WithNewItems(model, new) if new.ids else model
