# SPDX-License-Identifier: Apache-2.0
"""Recommender: the base every model extends; subclasses write _fit and _score."""

import bisect
import dataclasses
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.errors import NotFitted
from homerec.models import artifact
from homerec.models.scaling import scale_rows_inplace
from homerec.models.one_user import FALLBACK_REASON, History, OneHistory, OneUser  # noqa: F401 (re-exported)
from homerec.models.topk import mask_rows, top_k
from homerec.types import Recommendation

FALLBACK_HALF_LIFE_DAYS = 30.0


def trending_scores(data: Interactions, half_life_days: float) -> np.ndarray:
    """Event weight per item decayed by age (relative to the latest event); inf half-life = counts."""
    if not np.isfinite(half_life_days):
        return data.item_counts()
    age_days = (data.max_ts() - data.ts) / 86400.0
    w = data.weight * np.exp2(-age_days / half_life_days)
    return np.bincount(data.item_idx, weights=w, minlength=data.n_items).astype(np.float32)


@dataclasses.dataclass
class Recommender(OneUser, ABC):
    """Base model: id translation, cold users, exclusions, top-k, calibration and artifacts.

    Hyper-parameters are dataclass fields of the subclass; learned state (names ending in
    ``_``) is set only by fit() or load(). ``popularity_mix`` (shared by every model) blends
    that share of the trending-popularity prior into the min-max scaled scores; it is tuned
    on validation so that a model leans on popularity where its own signal is weak.
    """

    popularity_mix: float = 0.0

    name: ClassVar[str] = "base"
    cold_items: ClassVar[bool] = False
    """True when the model can score items that had no training events."""
    needs_history: ClassVar[bool] = True
    """True when a user with an empty history cannot be scored (gets the fallback)."""
    tie_break: ClassVar[bool] = True
    """Break ties between equal scores by popularity (off for models that are popularity)."""

    # ---- the primitives subclasses write -------------------------------------------------
    @abstractmethod
    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        """Learn from the user × item weight matrix."""

    @abstractmethod
    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Scores (b, n_items) for users given by index (-1: unknown) and history rows."""

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Scores (b, n_items) of items similar to each item; default: score a one-item history."""
        hist = sp.csr_matrix(
            (np.ones(len(item_idx), np.float32), (np.arange(len(item_idx)), item_idx)),
            shape=(len(item_idx), len(self.items_)),
        )
        return self._score(np.full(len(item_idx), -1), hist)

    def _arrays(self) -> dict[str, np.ndarray]:
        """Learned arrays of the subclass, for the artifact."""
        return {}

    def _drop_users(self, keep: np.ndarray) -> None:
        """Keep only the learned rows of these users (old indices, in order); models without per-user state: nothing."""

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore learned arrays of the subclass."""

    # ---- fit ------------------------------------------------------------------------------
    def fit(self, data: Interactions, features: ItemFeatures | None = None,
            recommendable: np.ndarray | None = None) -> Self:
        """Learn from interactions (and item features, for models that use them).

        Args:
            recommendable: per item of `data`, False for items never to recommend (non-products,
                `homerec.models.item_rule`); they still count as history. None: every item.
        """
        started = time.perf_counter()
        X = data.to_csr()
        self.users_: IdMap = data.users
        self.items_: IdMap = data.items
        self.item_known_ = np.asarray(X.getnnz(axis=0) > 0)
        self.recommendable_ = None if recommendable is None else np.asarray(recommendable, dtype=bool)
        if self.recommendable_ is not None and len(self.recommendable_) != data.n_items:
            raise ValueError(f"recommendable has {len(self.recommendable_)} entries for {data.n_items} items")
        self.fallback_ = trending_scores(data, FALLBACK_HALF_LIFE_DAYS) + 1e-6 * data.item_counts()
        if self.recommendable_ is not None:
            self.fallback_[~self.recommendable_] = -np.inf  # never in the popularity fallback either
        self._fit(X, data, features)
        self.calibration_ = self._calibrate(X)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def without_users(self, user_ids: Collection[str]) -> bool:
        """Forget users: their id map entries and every learned row of theirs (a privacy deletion).

        What the model learned from them in aggregate (item popularity, item-item similarity,
        the score calibration) stays; nothing in it names or indexes them any more. Returns
        True when one of them was known (the model changed in place).
        """
        self._check_fitted()
        users, keep = self.users_.without(user_ids)
        if len(users) == len(self.users_):
            return False
        self._drop_users(keep)
        self.users_ = users
        return True

    def adopt(
        self, users: IdMap, items: IdMap, item_known: np.ndarray, fallback: np.ndarray,
        arrays: dict[str, np.ndarray], calibration_rows: sp.csr_matrix, fit_seconds: float,
        recommendable: np.ndarray | None = None,
    ) -> Self:
        """Take state learned elsewhere (Spark) and calibrate it as fit() does.

        Args:
            item_known, fallback: what fit() derives from the events (items with events; the
                trending popularity with FALLBACK_HALF_LIFE_DAYS plus 1e-6 × counts).
            arrays: the subclass's learned arrays, as `_set_arrays` takes them.
            calibration_rows: users × items weights of the users to calibrate on (fit() draws
                300 users with history from all of them; rows without history are skipped).
            recommendable: per item, False for items never to recommend (as fit() takes it).
        """
        self.users_, self.items_ = users, items
        self.item_known_ = np.asarray(item_known, dtype=bool)
        self.fallback_ = np.asarray(fallback, dtype=np.float32)
        self.recommendable_ = None if recommendable is None else np.asarray(recommendable, dtype=bool)
        if self.recommendable_ is not None:
            self.fallback_[~self.recommendable_] = -np.inf  # never in the popularity fallback either
        self._set_arrays(arrays)
        self.calibration_ = self._calibrate(sp.csr_matrix(calibration_rows, dtype=np.float32))
        self.fit_seconds_ = fit_seconds
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "items_"):
            raise NotFitted(f"{self.name} model is not fitted; call fit() or load() first")

    def params(self) -> dict[str, Any]:
        """Hyper-parameters (the dataclass fields), as saved in the artifact."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    # ---- batch scoring ------------------------------------------------------------------------
    def score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Scores (b, n_items) float32; -inf where the model cannot score an item."""
        self._check_fitted()
        return self._finish(np.asarray(self._score(np.asarray(user_idx), history), dtype=np.float32))

    def _finish(self, s: np.ndarray) -> np.ndarray:
        """What follows the primitive, in place on (b, n_items) float32 scores: the popularity mix
        (or tie breaks), the items the model cannot score, the items never to recommend."""
        if self.popularity_mix > 0:
            unscored = scale_rows_inplace(s)
            s *= 1.0 - self.popularity_mix
            s += (self.popularity_mix / self._fallback_top()) * self.fallback_
            s[unscored] = -np.inf
        else:
            self._break_ties(s)
        if not self.cold_items:
            s[:, ~self.item_known_] = -np.inf
        self._mask_unrecommendable(s)
        return s

    def _mask_unrecommendable(self, s: np.ndarray) -> None:
        """Set the columns of items never to recommend to -inf, in place."""
        mask = getattr(self, "recommendable_", None)
        if mask is not None:
            s[:, ~mask] = -np.inf

    def _fallback_top(self) -> float:
        """The largest finite fallback score (the popularity scale), 1.0 when there is none."""
        cached = self.__dict__.get("_fallback_top_cache")
        if cached is None or cached[0] is not self.fallback_:
            finite = self.fallback_[np.isfinite(self.fallback_)]
            cached = (self.fallback_, float(finite.max()) if len(finite) and finite.max() > 0 else 1.0)
            self.__dict__["_fallback_top_cache"] = cached
        return cached[1]

    def _break_ties(self, s: np.ndarray) -> None:
        """Order items the model scores equally (often all zero) by the fallback popularity, in place.

        The nudge is 1e-4 of each row's largest absolute score, so it never reverses two
        scores that differ by more than that.
        """
        if s.size == 0 or not self.tie_break:
            return
        scale = np.abs(np.where(np.isfinite(s), s, 0.0)).max(axis=1, keepdims=True)
        scale[scale == 0] = 1.0
        s += (1e-4 / self._fallback_top()) * scale * np.where(np.isfinite(self.fallback_), self.fallback_, 0.0)

    def is_cold(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Which rows this model cannot personalise (they get the fallback)."""
        empty = np.diff(history.indptr) == 0
        return empty & ((np.asarray(user_idx) < 0) | self.needs_history)

    def recommend_batch(
        self, user_idx: np.ndarray, history: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k item indices and raw scores per row, and the rows that got the fallback."""
        user_idx = np.asarray(user_idx)
        cold = self.is_cold(user_idx, history)
        n_excluded = np.diff(exclude.indptr) if exclude is not None else np.zeros(len(cold), int)
        shared = cold & (n_excluded == 0)  # cold rows with nothing to exclude share one list
        rest = np.flatnonzero(~shared)
        idx = np.empty((len(cold), min(k, len(self.items_))), dtype=np.int64)
        vals = np.empty(idx.shape, dtype=np.float32)
        if shared.any():
            idx[shared], vals[shared] = top_k(self.fallback_, k)
        if len(rest):
            warm = ~cold[rest]
            if len(rest) == len(cold) and warm.all():  # every row scored (one user's request): no copies
                scores = self.score(user_idx, history)
                mask_rows(scores, exclude)
            else:
                scores = np.empty((len(rest), len(self.items_)), dtype=np.float32)
                if warm.any():
                    scores[warm] = self.score(user_idx[rest[warm]], history[rest[warm]])
                scores[~warm] = self.fallback_
                mask_rows(scores, exclude[rest] if exclude is not None else None)
            idx[rest], vals[rest] = top_k(scores, k)
        return idx, vals, cold

    def similar_batch(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k similar item indices and raw scores for each item (never the item itself)."""
        self._check_fitted()
        item_idx = np.asarray(item_idx, dtype=np.int64)
        s = np.asarray(self._similar(item_idx), dtype=np.float32)
        if not self.cold_items:
            s[:, ~self.item_known_] = -np.inf
        self._mask_unrecommendable(s)
        s[np.arange(len(item_idx)), item_idx] = -np.inf
        return top_k(s, k)

    def similar_items(self, item_id: str, k: int = 10, exclude: Collection[str] = ()) -> list[Recommendation]:
        """Top-k items similar to one item (never the item itself). Raises UnknownItem."""
        self._check_fitted()
        iidx = int(self.items_.to_idx(item_id))
        ex = self.items_.to_idx(list(exclude), strict=False)
        idx, vals = self.similar_batch(np.array([iidx]), k + int((ex >= 0).sum()))
        keep = (idx[0] >= 0) & ~np.isin(idx[0], ex)
        reason = f"{self.name}: similar to {item_id}"
        ids = self.items_.to_ids(idx[0][keep][:k])
        return [Recommendation(i, float(v), self.score10(v), reason) for i, v in zip(ids, vals[0][keep][:k])]

    # ---- calibration ----------------------------------------------------------------------------
    def _calibrate(self, X: sp.csr_matrix, n_users: int = 300, k: int = 10) -> np.ndarray:
        """Quantiles of the model's top-k raw scores over a sample of users with history."""
        users = np.flatnonzero(np.diff(X.indptr) > 0)
        if len(users) == 0:
            return np.linspace(0.0, 1.0, 51, dtype=np.float32)
        sample = np.random.default_rng(0).choice(users, min(n_users, len(users)), replace=False)
        sample.sort()
        _, vals, _ = self.recommend_batch(sample, X[sample], k, exclude=X[sample])
        vals = vals[np.isfinite(vals)]
        if len(vals) == 0:
            return np.linspace(0.0, 1.0, 51, dtype=np.float32)
        return np.quantile(vals, np.linspace(0, 1, 51)).astype(np.float32)

    def fallback_score10(self, raw: float) -> float:
        """A fallback (popularity) score on the 0-10 scale: its share of the most popular item's."""
        return round(10.0 * float(raw) / self._fallback_top(), 3)

    def score10_many(self, raw: Sequence[float] | np.ndarray) -> list[float]:
        """`score10` of several raw scores (a served list: plain Python beats numpy's call overhead)."""
        return [self.score10(v) for v in raw]

    def score10(self, raw: float) -> float:
        """A raw score on the calibrated 0-10 scale (its percentile among typical top-10 scores).

        The linear interpolation `np.interp(raw, calibration_, linspace(0, 1))` computes, done
        with `bisect` on a Python copy of the quantiles: one call costs ~1 µs instead of ~15.
        """
        x = float(raw)
        if not math.isfinite(x):
            return 0.0
        q = self._quantiles()
        if x < q[0]:
            return 0.0
        if x >= q[-1]:
            return 10.0
        i = bisect.bisect_right(q, x) - 1
        return round(10.0 * (i + (x - q[i]) / (q[i + 1] - q[i])) / (len(q) - 1), 3)

    def score10_array(self, raw: np.ndarray) -> np.ndarray:
        """`score10` of every entry of `raw` (any shape), with exactly `score10`'s result: the
        interpolation vectorised, the rounding Python's (numpy's `round` can differ in the last digit)."""
        q = np.asarray(self._quantiles(), dtype=np.float64)
        x = np.asarray(raw, dtype=np.float64)
        i = np.clip(np.searchsorted(q, x, side="right") - 1, 0, len(q) - 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = 10.0 * (i + (x - q[i]) / (q[i + 1] - q[i])) / (len(q) - 1)
        v = np.where(x >= q[-1], 10.0, np.where(x < q[0], 0.0, v))
        v = np.where(np.isfinite(x), v, 0.0)
        return np.asarray([round(t, 3) for t in v.ravel().tolist()], dtype=np.float64).reshape(x.shape)

    def _quantiles(self) -> list[float]:
        """`calibration_` as a Python list (rebuilt when the array is replaced)."""
        cached = self.__dict__.get("_quantiles_cache")
        if cached is None or cached[0] is not self.calibration_:
            cached = (self.calibration_, [float(v) for v in self.calibration_])
            self.__dict__["_quantiles_cache"] = cached
        return cached[1]

    # ---- artifacts ------------------------------------------------------------------------------------
    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write the model directory (params.json, arrays.npz, ids.npz); no pickle."""
        self._check_fitted()
        path = Path(path)
        arrays = {"_item_known": self.item_known_, "_fallback": self.fallback_, "_calibration": self.calibration_}
        if getattr(self, "recommendable_", None) is not None:
            arrays["_recommendable"] = self.recommendable_
        if getattr(self, "item_rule_", ""):
            arrays["_item_rule"] = np.asarray(self.item_rule_)
        arrays.update(self._arrays())
        meta = {"fit_seconds": getattr(self, "fit_seconds_", None), **(meta or {})}
        artifact.write_artifact(path, self.name, self.params(), arrays, self.users_, self.items_, meta)
        self._save_extra(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Rebuild a fitted model from its directory."""
        path = Path(path)
        doc = artifact.read_params(path)
        model = cls(**doc["params"])
        arrays, model.users_, model.items_ = artifact.read_arrays(path)
        model.item_known_ = arrays.pop("_item_known")
        model.fallback_ = arrays.pop("_fallback")
        model.calibration_ = arrays.pop("_calibration")
        model.recommendable_ = arrays.pop("_recommendable", None)
        model.item_rule_ = str(arrays.pop("_item_rule", ""))
        model.fit_seconds_ = doc["meta"].get("fit_seconds")
        model._set_arrays(arrays)
        model._load_extra(path)
        return model

    def _save_extra(self, path: Path) -> None:
        """Hook for models with nested artifacts (the hybrid)."""

    def _load_extra(self, path: Path) -> None:
        """Hook for models with nested artifacts (the hybrid)."""
