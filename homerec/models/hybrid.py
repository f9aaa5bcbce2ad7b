# SPDX-License-Identifier: Apache-2.0
"""Hybrid: a weighted blend of fitted models' normalised scores, weights per history length."""


import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import ConfigError
from homerec.models.base import Recommender
from homerec.models.one_user import OneHistory
from homerec.models.capping import FIT_ROUNDS, cap_prices
from homerec.models.popularity import Popularity
from homerec.models.scaling import normalize_scores, scale_rows_inplace
from homerec.models.topk import mask_rows, top_k
from homerec.types import Recommendation

PRICE_POOL = 200
"""Items per sampled user the prices are fitted over (a price only pushes items down the list)."""
PRICE_CHUNK = 256
DEFAULT_PARTS = ["popularity", "trending", "als", "item_knn", "user_knn", "content", "ease"]

_LAST = threading.local()
"""Per thread: the weighted part scores of the last one-user scoring, keyed by `OneHistory.key`."""


@dataclass
class Hybrid(Recommender):
    """Blend of several models (its parts), each scaled to [0, 1] per user, then weighted.

    Weights depend on how much history a user has (``bucket_edges`` in distinct items), so
    popularity can lead for short histories and collaborative parts for long ones. They are
    tuned on a validation split by ``homerec.evaluation.blend``; untuned, all parts weigh 1.
    A part that cannot fit (content without item metadata) steps aside with its reason in
    ``skipped_``. With ``max_item_share`` < 1 the blend subtracts per-item prices
    (`homerec.models.capping`) fitted on a sample of training users, so that no item is in
    more than that share of the top-``cap_k`` lists.
    """

    name = "hybrid"
    cold_items = True
    tie_break = False  # its parts already break their ties
    parts: list[str] = field(default_factory=lambda: list(DEFAULT_PARTS))
    part_params: dict[str, dict] = field(default_factory=dict)
    weights: dict[str, list[float]] = field(default_factory=dict)
    bucket_edges: list[int] = field(default_factory=lambda: [3, 10])
    max_item_share: float = 1.0
    cap_k: int = 10
    cap_users: int = 2000

    # ---- fit --------------------------------------------------------------------------------
    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        from homerec.models import model_class  # the registry imports this module

        self.models_: dict[str, Recommender] = {}
        self.skipped_: dict[str, str] = {}
        self.part_seconds_: dict[str, float] = {}
        for name in self.parts:
            if name == self.name:
                raise ConfigError("a hybrid cannot contain itself")
            cls = model_class(name)  # an unknown name is the caller's error, not a skipped part
            started = time.perf_counter()
            try:
                self.models_[name] = cls(**self.part_params.get(name, {})).fit(data, features, self.recommendable_)
            except ConfigError as err:
                self.skipped_[name] = str(err)
            self.part_seconds_[name] = time.perf_counter() - started
        if not self.models_:
            raise ConfigError(f"no hybrid part could be fitted: {self.skipped_}")
        self.item_offsets_ = np.zeros(X.shape[1], dtype=np.float32)
        if self.max_item_share < 1.0:
            self.item_offsets_ = self._fit_prices(X)

    def _fit_prices(self, X: sp.csr_matrix) -> np.ndarray:
        """Item prices capping each item's share of the top-k lists of a sample of training users."""
        users = np.flatnonzero(np.diff(X.indptr) > 0)
        if len(users) == 0:
            return np.zeros(X.shape[1], dtype=np.float32)
        sample = np.sort(np.random.default_rng(0).choice(users, min(self.cap_users, len(users)), replace=False))
        pools, values = [], []
        for start in range(0, len(sample), PRICE_CHUNK):  # each user's best PRICE_POOL items are enough
            u = sample[start : start + PRICE_CHUNK]
            blended = self.score(u, X[u])
            mask_rows(blended, X[u])
            idx, vals = top_k(blended, PRICE_POOL)
            pools.append(idx)
            values.append(vals)
        return cap_prices(np.vstack(values), self.cap_k, self.max_item_share, np.vstack(pools), X.shape[1], FIT_ROUNDS)

    def weight_matrix(self) -> np.ndarray:
        """Weights (n_buckets, n_fitted_parts) in the order of ``models_``."""
        n_buckets = len(self.bucket_edges) + 1
        cols = []
        for name in self.models_:
            w = self.weights.get(name, [1.0] * n_buckets)
            cols.append(w if len(w) == n_buckets else [w[0]] * n_buckets)
        return np.asarray(cols, dtype=np.float32).T

    def bucket_of(self, history: sp.csr_matrix) -> np.ndarray:
        """History-length bucket of each row."""
        lengths = np.diff(history.indptr)
        return np.searchsorted(np.asarray(self.bucket_edges), lengths, side="right")

    # ---- scoring ------------------------------------------------------------------------------
    def part_scores(self, user_idx: np.ndarray, history: sp.csr_matrix) -> dict[str, np.ndarray]:
        """Each fitted part's normalised scores (NaN where the part cannot score)."""
        return {name: normalize_scores(m.score(user_idx, history)) for name, m in self.models_.items()}

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        w = self.weight_matrix()[self.bucket_of(history)]
        total = np.zeros(history.shape, dtype=np.float32)
        scored = np.zeros(history.shape, dtype=bool)
        for j, (name, m) in enumerate(self.models_.items()):
            rows = np.flatnonzero(w[:, j])  # a part weighted 0 for a row is never computed for it
            if len(rows) == 0:
                continue
            every = len(rows) == len(w)
            s = m.score(user_idx if every else user_idx[rows], history if every else history[rows])
            unscored = scale_rows_inplace(s)
            s *= w[rows, j, None]
            if every:
                total += s
                scored |= ~unscored
            else:
                total[rows] += s
                scored[rows] |= ~unscored
        total[~scored] = -np.inf
        return self._priced(total)

    def _priced(self, total: np.ndarray) -> np.ndarray:
        """Blended scores less the item prices that cap each item's share of the lists."""
        offsets = getattr(self, "item_offsets_", None)
        if offsets is not None and offsets.any():
            total -= offsets
        return total

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        """The blend for one user from each part's `score_one` (the batch path's arithmetic on one row)."""
        w = self.weight_matrix()[self.bucket_one(hist)]
        total = np.zeros((1, len(self.items_)), dtype=np.float32)
        scored = np.zeros(total.shape, dtype=bool)
        parts: dict[str, np.ndarray] = {}
        for j, (name, m) in enumerate(self.models_.items()):
            if w[j] == 0:
                continue
            s = m.score_one(user_idx, hist)[None, :]
            unscored = scale_rows_inplace(s)
            s *= w[j]
            parts[name] = np.where(unscored, 0.0, s)[0]
            total += s
            scored |= ~unscored
        total[~scored] = -np.inf
        _LAST.value = (hist.key(user_idx), parts)  # _records explains this very list next, without scoring again
        return self._priced(total)[0]

    def bucket_one(self, hist: OneHistory) -> int:
        """History-length bucket of one user."""
        return int(np.searchsorted(np.asarray(self.bucket_edges), len(hist.items), side="right"))

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        w = self.weight_matrix()[0]
        total = np.zeros((len(item_idx), len(self.items_)), dtype=np.float32)
        scored = np.zeros(total.shape, dtype=bool)
        for j, m in enumerate(self.models_.values()):
            if w[j] == 0 or isinstance(m, Popularity):  # the same popular list for every item is no similarity
                continue
            s = normalize_scores(m._similar(item_idx))
            if not m.cold_items:
                s[:, ~m.item_known_] = np.nan
            ok = ~np.isnan(s)
            scored |= ok
            total += w[j] * np.where(ok, s, 0.0)
        total[~scored] = -np.inf
        return total

    def _records(self, uidx: int, hist: OneHistory, idx: np.ndarray, vals: np.ndarray, cold: bool) -> list[Recommendation]:
        """Records whose reason names the parts that contributed most to each item."""
        if cold or len(idx) == 0:
            return super()._records(uidx, hist, idx, vals, cold)
        w = self.weight_matrix()[self.bucket_one(hist)]
        last = getattr(_LAST, "value", None)
        if last is None or last[0] != hist.key(uidx):
            self._score_one(uidx, hist)
            last = _LAST.value
        stash = last[1]
        contrib = np.stack([stash[n][idx] if n in stash else np.zeros(len(idx)) for n in self.models_])
        names = list(self.models_)
        totals = contrib.sum(axis=0)
        shares = np.divide(contrib, totals, out=contrib.copy(), where=totals > 0).T.tolist()
        leading = np.argsort(-contrib, axis=0)[:2].T.tolist()  # each column's two largest parts
        present = (contrib > 0).T.tolist()
        default = [names[int(np.argmax(w))]]
        out = []
        for col, (item, v, t) in enumerate(zip(self.items_.to_ids(idx), vals.tolist(), self.score10_many(vals))):
            top = [f"{names[j]} {shares[col][j]:.0%}" for j in leading[col] if present[col][j]] or default
            out.append(Recommendation(item, v, t, "hybrid: " + ", ".join(top)))
        return out

    def without_users(self, user_ids: Collection[str]) -> bool:
        """See `Recommender.without_users`: every part forgets them too."""
        parts = [m.without_users(user_ids) for m in self.models_.values()]
        return super().without_users(user_ids) or any(parts)

    # ---- artifacts -----------------------------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        return {"fitted_parts": np.asarray(list(self.models_), dtype=str),
                "skipped": np.asarray([f"{k}\t{v}" for k, v in self.skipped_.items()], dtype=str),
                "offsets": self.item_offsets_}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self._fitted_names = arrays["fitted_parts"].tolist()
        self.item_offsets_ = arrays.get("offsets", np.zeros(len(self.items_), np.float32))
        self.skipped_ = dict(s.split("\t", 1) for s in arrays["skipped"].tolist())

    def _save_extra(self, path: Path) -> None:
        for name, model in self.models_.items():
            model.save(path / "parts" / name)

    def _load_extra(self, path: Path) -> None:
        from homerec.models import load_model

        self.models_ = {name: load_model(path / "parts" / name) for name in self._fitted_names}


def bucket_label(edges: list[int], b: int) -> str:
    """Human label of history bucket b, e.g. '3-9 items'."""
    lo = 0 if b == 0 else edges[b - 1]
    return f">={lo} items" if b == len(edges) else f"{lo}-{edges[b] - 1} items"



