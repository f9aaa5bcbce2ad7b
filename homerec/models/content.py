# SPDX-License-Identifier: Apache-2.0
"""Content-based: a user profile in item-feature space, cosine to every item (the cold-item path)."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import ConfigError
from homerec.models import artifact
from homerec.models.base import Recommender
from homerec.models.gather import weighted_rows
from homerec.models.one_user import OneHistory

CHUNK_ROWS = 512
SPARSE_PRODUCT_COST = 4.0
"""A sparse × sparse product costs about this many dense-product flops per multiply (measured)."""
TIE_BREAK = 1e-6
NO_FEATURES = "content model needs item metadata (items.csv)"


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm (empty rows stay empty)."""
    sq = np.asarray(m.multiply(m).sum(axis=1)).ravel()
    inv = np.where(sq > 0, 1.0 / np.sqrt(np.maximum(sq, 1e-30)), 0.0).astype(np.float32)
    return sp.csr_matrix(sp.diags(inv) @ m, dtype=np.float32)


def _dot(left: sp.csr_matrix, right: sp.csr_matrix, right_t: sp.csr_matrix) -> np.ndarray:
    """Dense left @ right.T for a small row block `left`, by the cheaper of two exact routes.

    Args:
        left: (b, f) rows, b small.
        right: (n, f) rows; right_t is its (f, n) transpose in CSR.
    """
    sparse_flops = np.diff(right_t.indptr)[left.indices].sum()
    if SPARSE_PRODUCT_COST * sparse_flops < right.nnz * left.shape[0]:
        return (left @ right_t).toarray()
    return np.ascontiguousarray((right @ left.toarray().T).T)


@dataclass
class ContentBased(Recommender):
    """Cosine between a user's profile (sum of their items' feature rows) and each item's features.

    Scores are multiplied by a damped popularity prior (1 + users)^popularity_weight. An item
    without events gets the prior of the median popularity of its `prior_neighbors` most similar
    known items, so a new product can surface as soon as it has metadata.

    Attributes:
        popularity_weight: exponent of the popularity prior (0: pure content ranking).
        idf: down-weight features shared by many items (log inverse item frequency).
        prior_neighbors: similar known items whose median popularity a cold item borrows.
    """

    name = "content"
    cold_items = True
    popularity_weight: float = 1.0
    idf: bool = True
    prior_neighbors: int = 20

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        if features is None or features.n_features == 0:
            raise ConfigError(NO_FEATURES)
        F = sp.csr_matrix(features.aligned(data.items).matrix, dtype=np.float32)
        if F.nnz == 0:
            raise ConfigError(NO_FEATURES)
        F.data = np.abs(F.data)
        if self.idf:
            df = np.bincount(F.indices, minlength=F.shape[1])
            n = max(1, int((np.diff(F.indptr) > 0).sum()))
            F = F @ sp.diags((np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32))
        self.F_ = _l2_rows(F)
        self.Ft_ = sp.csr_matrix(self.F_.T)
        pop = np.asarray((X > 0).sum(axis=0), dtype=np.float32).ravel()
        self.prior_ = self._prior(pop)

    def _prior(self, pop: np.ndarray) -> np.ndarray:
        """(1 + popularity)^w per item; cold items borrow the median of their similar known items."""
        known = np.flatnonzero(pop > 0)
        cold = np.flatnonzero(pop == 0)
        eff = pop.copy()
        if len(known) == 0 or len(cold) == 0:
            return np.power(1.0 + eff, self.popularity_weight).astype(np.float32)
        eff[cold] = np.median(pop[known])
        Fk, pk = self.F_[known], pop[known]
        Fk_t = sp.csr_matrix(Fk.T)
        k = max(1, min(self.prior_neighbors, len(known)))
        for a in range(0, len(cold), CHUNK_ROWS):
            rows = cold[a:a + CHUNK_ROWS]
            sims = _dot(self.F_[rows], Fk, Fk_t)
            top = (np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(known)
                   else np.tile(np.arange(len(known)), (len(rows), 1)))
            nb_sim = np.take_along_axis(sims, top, axis=1)
            has = (nb_sim > 0).any(axis=1)
            nb_pop = np.where(nb_sim > 0, pk[top], np.nan)
            eff[rows[has]] = np.nanmedian(nb_pop[has], axis=1)
        return np.power(1.0 + eff, self.popularity_weight).astype(np.float32)

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        out = np.empty((history.shape[0], self.F_.shape[0]), dtype=np.float32)
        for a in range(0, history.shape[0], CHUNK_ROWS):
            b = min(history.shape[0], a + CHUNK_ROWS)
            H = sp.csr_matrix(history[a:b], dtype=np.float32)
            H.data = np.maximum(H.data, 0.0)
            profile = _l2_rows(H @ self.F_)
            out[a:b] = _dot(profile, self.F_, self.Ft_)
        out += TIE_BREAK  # a history without metadata still gets an order: the prior's
        out *= self.prior_
        return out

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        profile = weighted_rows(self.F_, hist.items, np.maximum(hist.weights, 0.0))
        norm = np.float32(np.sqrt(np.sum(profile.astype(np.float64) ** 2)))
        if norm > 0:
            profile *= np.float32(1.0) / norm
        features = np.flatnonzero(profile)
        out = weighted_rows(self.Ft_, features, profile[features])
        out += TIE_BREAK
        out *= self.prior_
        return out

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return _dot(self.F_[item_idx], self.F_, self.Ft_)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**artifact.pack_csr("F", self.F_), "prior": self.prior_}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.F_ = artifact.unpack_csr("F", arrays)
        self.Ft_ = sp.csr_matrix(self.F_.T)
        self.prior_ = arrays["prior"]
