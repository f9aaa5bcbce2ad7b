# SPDX-License-Identifier: Apache-2.0
"""One user's answer without sparse matrices: what serving computes on the request path.

The batch path scores many users at once from a CSR history matrix; for one user that is a
1 × n_items row and scipy's per-call overhead on every part (about a millisecond for the tuned
hybrid). Here a history is two small arrays (`OneHistory`: sorted item indices and their
summed weights) and each model's `_score_one` computes the same scores as its `_score` with
numpy gathers over arrays it prepared once. What follows the primitive (the popularity mix,
tie breaks, masks: `Recommender._finish`), the exclusions and the top-k are shared with the
batch path, so both paths rank alike; `tests/models/test_one_user.py` compares them user by
user for every model. A model without `_score_one` is scored through `_score` on a one-row
matrix: correct, only slower.
"""

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp

from homerec.data.ids import IdMap
from homerec.models.topk import top_k
from homerec.types import Recommendation

if TYPE_CHECKING:
    from homerec.models.base import Recommender

History = Sequence[str] | Mapping[str, float]
"""A user's history as item ids (each counting 1) or item id → weight."""
FALLBACK_REASON = "popularity fallback: no history"
UNSCORED = "not scored: unknown to the model"


class OneHistory(NamedTuple):
    """One user's history in a model's item indices: sorted, distinct, weights summed."""

    items: np.ndarray
    """int64 item indices, ascending."""
    weights: np.ndarray
    """float32 weight of each item."""

    @classmethod
    def of(cls, item_map: IdMap, history: History | None) -> "OneHistory":
        """Translate item ids (or id → weight); ids the model does not know are dropped."""
        if not history:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.float32))
        weights = dict(history) if isinstance(history, Mapping) else None
        ids = list(weights) if weights is not None else list(history)
        idx = np.asarray(item_map.to_idx(ids, strict=False), dtype=np.int64)
        w = np.asarray([weights[i] for i in ids] if weights is not None else np.ones(len(ids)), np.float32)
        keep = idx >= 0
        items, inverse = np.unique(idx[keep], return_inverse=True)
        return cls(items, np.bincount(inverse, weights=w[keep], minlength=len(items)).astype(np.float32))

    def row(self, n_items: int) -> sp.csr_matrix:
        """The history as the 1 × n_items CSR row the batch path scores."""
        return sp.csr_matrix((self.weights, self.items, np.array([0, len(self.items)])), shape=(1, n_items))

    def below(self, n: int) -> "OneHistory":
        """Only the items with an index below `n` (the items a wrapped model knows)."""
        keep = self.items < n
        return OneHistory(self.items[keep], self.weights[keep])

    def key(self, user_idx: int) -> tuple:
        """What identifies one scoring: the user and their history."""
        return int(user_idx), self.items.tobytes(), self.weights.tobytes()


class OneUser:
    """The one-user operations of a `Recommender` (mixed into it): score, recommend, rank."""

    def _score_one(self: "Recommender", user_idx: int, hist: OneHistory) -> np.ndarray | None:
        """Scores (n_items,) of one user, as `_score` gives them, without scipy; None: use `_score`."""
        return None

    def score_one(self: "Recommender", user_idx: int, hist: OneHistory) -> np.ndarray:
        """One user's scores (n_items,) float32, exactly what `score` gives for their row."""
        self._check_fitted()
        raw = self._score_one(user_idx, hist)
        if raw is None:
            raw = self._score(np.array([user_idx]), hist.row(len(self.items_)))[0]
        s = np.array(raw, dtype=np.float32, copy=True)[None, :]  # kernels may hand out shared arrays
        return self._finish(s)[0]

    def is_cold_one(self: "Recommender", user_idx: int, hist: OneHistory) -> bool:
        """Whether this model cannot personalise for the user (the popularity fallback answers)."""
        return len(hist.items) == 0 and (user_idx < 0 or self.needs_history)

    def recommend(
        self: "Recommender", user_id: str | None, k: int = 10, exclude: Collection[str] = (),
        history: History | None = None, exclude_seen: bool = True,
    ) -> list[Recommendation]:
        """Top-k for one user, scored from `history` (item ids) and what the model learned of the user."""
        self._check_fitted()
        uidx = self.users_.get(user_id) if user_id is not None else -1
        hist = OneHistory.of(self.items_, history)
        cold = self.is_cold_one(uidx, hist)
        scores = np.array(self.fallback_, dtype=np.float32) if cold else self.score_one(uidx, hist)
        banned = set(exclude) | (set(history) if exclude_seen and history else set())
        if banned:
            ex = np.asarray(self.items_.to_idx(list(banned), strict=False), dtype=np.int64)
            scores[ex[ex >= 0]] = -np.inf
        idx, vals = top_k(scores, k)
        keep = idx >= 0
        return self._records(uidx, hist, idx[keep], vals[keep], cold)

    def rank(self: "Recommender", user_id: str | None, item_ids: Sequence[str],
             history: History | None = None) -> list[Recommendation]:
        """Order the given items for a user; items the model cannot score come last."""
        self._check_fitted()
        uidx = self.users_.get(user_id) if user_id is not None else -1
        hist = OneHistory.of(self.items_, history)
        cold = self.is_cold_one(uidx, hist)
        scores = self.fallback_ if cold else self.score_one(uidx, hist)
        idx = np.asarray(self.items_.to_idx(list(item_ids), strict=False), dtype=np.int64)
        raw = np.where(idx >= 0, scores[np.maximum(idx, 0)], -np.inf)
        out = []
        for pos in np.argsort(-raw, kind="stable"):
            known = idx[pos] >= 0 and np.isfinite(raw[pos])
            reason = (FALLBACK_REASON if cold else self.name) if known else UNSCORED
            v = float(raw[pos]) if known else 0.0
            out.append(Recommendation(str(item_ids[pos]), v, self.score10(v) if known else 0.0, reason))
        return out

    def _records(self: "Recommender", uidx: int, hist: OneHistory, idx: np.ndarray, vals: np.ndarray,
                 cold: bool) -> list[Recommendation]:
        """Recommendation records for one user's top list; subclasses may give finer reasons."""
        if cold:
            return [Recommendation(i, float(v), self.fallback_score10(v), FALLBACK_REASON)
                    for i, v in zip(self.items_.to_ids(idx), vals)]
        return [Recommendation(i, float(v), t, self.name)
                for i, v, t in zip(self.items_.to_ids(idx), vals, self.score10_many(vals))]
