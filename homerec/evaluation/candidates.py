# SPDX-License-Identifier: Apache-2.0
"""Blend candidates: each part's normalised score on a pool of items per validation user.

Tuning a blend re-ranks only these pools (the union of every part's top `CANDIDATES_PER_PART`
unseen items), so one weight setting costs a tensor product and a top-k, not a scoring pass.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.models.capping import cap_prices
from homerec.models.hybrid import Hybrid
from homerec.models.scaling import normalize_scores
from homerec.models.topk import mask_rows, top_k

CANDIDATES_PER_PART = 100


@dataclass
class Candidates:
    """Each part's normalised score on a pool of candidate items per validation user."""

    values: np.ndarray  # (parts, users, C), 0 where a part cannot score
    relevant: np.ndarray  # (users, C) bool
    valid: np.ndarray  # (users, C) bool, False for padding
    ideal: np.ndarray  # (users,) ideal DCG at k
    buckets: np.ndarray  # (users,)
    items: np.ndarray | None = None  # (users, C) item index of each candidate, -1 for padding
    n_items: int = 0  # catalogue size (the denominator of coverage)
    cap_share: float = 1.0  # item prices cap each item's share of the lists (as `Hybrid.max_item_share`)

    def blend(self, weights: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-user NDCG@k and top-k item indices of the blend for `rows`.

        Args:
            weights: (parts,) for every row, or (len(rows), parts) one row each.
        """
        w = np.asarray(weights, dtype=np.float32)
        if w.ndim == 1:
            blended = np.tensordot(w, self.values[:, rows], axes=1)
        else:
            blended = np.einsum("up,puc->uc", w, self.values[:, rows])
        blended[~self.valid[rows]] = -np.inf
        if self.cap_share < 1.0 and self.items is not None:
            pool = self.items[rows]
            blended -= cap_prices(blended, k, self.cap_share, pool, self.n_items)[np.maximum(pool, 0)]
        idx, _ = top_k(blended, k)
        hits = np.take_along_axis(self.relevant[rows], np.maximum(idx, 0), axis=1) & (idx >= 0)
        dcg = (hits / np.log2(np.arange(2, idx.shape[1] + 2))).sum(axis=1)
        ndcg = np.where(self.ideal[rows] > 0, dcg / np.maximum(self.ideal[rows], 1e-12), 0.0)
        items = None if self.items is None else np.where(idx >= 0, np.take_along_axis(self.items[rows], np.maximum(idx, 0), axis=1), -1)
        return ndcg, items


def ndcg_per_user(c: Candidates, w: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k of the blend with weights `w` for the given user rows."""
    return c.blend(w, rows, k)[0]


def collect_candidates(hybrid: Hybrid, X: sp.csr_matrix, users: np.ndarray, truth: Sequence[np.ndarray], k: int) -> Candidates:
    """Union of every part's top candidates per user, with each part's normalised score there."""
    names = list(hybrid.models_)
    rows_vals, rows_rel, rows_idx = [], [], []
    for start in range(0, len(users), 512):
        u = users[start : start + 512]
        hist = X[u]
        part_norm = [normalize_scores(hybrid.models_[name].score(u, hist)) for name in names]
        pools = []
        for s in part_norm:
            masked = np.where(np.isnan(s), -np.inf, s)
            mask_rows(masked, hist)
            pools.append(top_k(masked, CANDIDATES_PER_PART)[0])
        pool = np.concatenate(pools, axis=1)
        for r in range(len(u)):
            cand = np.unique(pool[r][pool[r] >= 0])
            rows_idx.append(cand)
            rows_vals.append(np.stack([np.nan_to_num(s[r, cand]) for s in part_norm]))
            rows_rel.append(np.isin(cand, truth[start + r]))
    width = max((len(c) for c in rows_idx), default=1)
    n = len(users)
    values = np.zeros((len(names), n, width), np.float32)
    relevant = np.zeros((n, width), bool)
    valid = np.zeros((n, width), bool)
    items = np.full((n, width), -1, np.int64)
    for r, cand in enumerate(rows_idx):
        values[:, r, : len(cand)] = rows_vals[r]
        relevant[r, : len(cand)] = rows_rel[r]
        valid[r, : len(cand)] = True
        items[r, : len(cand)] = cand
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    n_rel = np.minimum([len(t) for t in truth], k)
    ideal = np.array([discounts[:m].sum() for m in n_rel])
    return Candidates(values, relevant, valid, ideal, hybrid.bucket_of(X[users]), items, X.shape[1])
