# SPDX-License-Identifier: Apache-2.0
"""Popularity and trending: the same list for everyone, by count or by recency-decayed count."""

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.models.base import Recommender, trending_scores
from homerec.models.one_user import OneHistory


@dataclass
class Popularity(Recommender):
    """Items by how many distinct users interacted with them (all time)."""

    name = "popularity"
    needs_history = False
    tie_break = False

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        self.pop_ = np.asarray((X > 0).sum(axis=0), dtype=np.float32).ravel()

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        # log1p keeps the order and makes a blend multiplicative in popularity (log p = log pop + taste)
        return np.broadcast_to(np.log1p(self.pop_), (len(user_idx), len(self.pop_))).copy()

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        cached = self.__dict__.get("_log_pop")
        if cached is None or cached[0] is not self.pop_:
            cached = (self.pop_, np.log1p(self.pop_))
            self.__dict__["_log_pop"] = cached
        return cached[1]

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return self._score(item_idx, sp.csr_matrix((len(item_idx), len(self.pop_))))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"pop": self.pop_}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.pop_ = arrays["pop"]


@dataclass
class Trending(Popularity):
    """Items by event weight decayed with a half-life (days) from the latest event.

    A half-life of a few days to weeks favours what sells now; ``math.inf`` is plain counts.
    ``window_days`` > 0 also drops events older than that many days (a recent-sales window);
    ties are broken by all-time counts.
    """

    name = "trending"
    half_life_days: float = 14.0
    window_days: float = 0.0

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        hl = self.half_life_days if self.half_life_days > 0 else math.inf
        recent = data
        if self.window_days > 0:
            recent = data.since(data.max_ts() - int(self.window_days * 86400))
        self.pop_ = trending_scores(recent, hl) + 1e-6 * data.item_counts()
