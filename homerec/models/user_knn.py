# SPDX-License-Identifier: Apache-2.0
"""User-user collaborative filtering: score items by what the most similar training users have."""

from concurrent.futures import ThreadPoolExecutor
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
from homerec.models.item_knn import sparse_top_k

WEIGHTINGS = ("cosine", "tfidf", "bm25")
CHUNK_ROWS = 1024
NUM_THREADS = 2
MIN_ROWS_PER_THREAD = 64
USE_IMPLICIT = True
"""Find neighbours with implicit's C++ top-k accumulator (about 4x faster than scipy + argpartition)."""


@dataclass
class UserKNN(Recommender):
    """User-user neighbours over a row-normalised (cosine) user × item matrix.

    A history row is weighted like the training rows, compared with every training user
    (a sparse product with top-k, in implicit's C++ accumulator when available), and the
    `k_neighbors` most similar users vote for their items (their raw event weights) with
    weight similarity**exponent. A known user is never their own neighbour.

    Attributes:
        k_neighbors: neighbours kept per scored user.
        weighting: "cosine" (raw weights), "tfidf" or "bm25" item weighting before normalising.
        shrink: similarity to a training user is q·u / (|q| (|u| + shrink)) (0: plain cosine); it
            discounts users with little history.
        exponent: similarities are raised to this power (>1 trusts the closest neighbours more).
        bm25_k1: BM25 saturation of repeated interactions.
        bm25_b: BM25 length normalisation (long histories count less per item).
    """

    name = "user_knn"
    k_neighbors: int = 100
    weighting: str = "bm25"
    shrink: float = 0.0
    exponent: float = 1.0
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    # ---- weighting shared by training rows and query rows --------------------------------------
    def _weigh(self, M: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
        """Item-weighted rows and their L2 norms."""
        M = sp.csr_matrix(M, dtype=np.float32, copy=True)
        M.data = np.maximum(M.data, 0.0)
        cols = M.indices
        if self.weighting == "bm25":
            length = np.asarray(M.sum(axis=1)).ravel()
            norm = (1.0 - self.bm25_b) + self.bm25_b * length / max(float(self.avg_len_), 1e-12)
            rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
            M.data = M.data * (self.bm25_k1 + 1.0) / (self.bm25_k1 * norm[rows] + M.data) * self.idf_[cols]
        elif self.weighting == "tfidf":
            M.data = np.sqrt(M.data) * self.idf_[cols]
        norms = np.sqrt(np.asarray(M.multiply(M).sum(axis=1)).ravel()).astype(np.float32)
        return M, norms

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"unknown user_knn weighting {self.weighting!r}; use one of {', '.join(WEIGHTINGS)}")
        if self.k_neighbors < 1:
            raise ConfigError(f"user_knn k_neighbors must be >= 1, got {self.k_neighbors}")
        X = sp.csr_matrix(X, dtype=np.float32)
        X.eliminate_zeros()
        n_users = max(1, int((np.diff(X.indptr) > 0).sum()))
        df = np.asarray((X > 0).sum(axis=0)).ravel()
        self.idf_ = np.maximum(np.log(n_users) - np.log1p(df), 0.0).astype(np.float32) + 1e-3
        self.avg_len_ = np.float32(X.sum() / n_users)
        self.R_ = X
        self._prepare()

    def _prepare(self) -> None:
        """Item × user matrix of weighted training rows scaled by 1 / (norm + shrink); derived from R_."""
        U, norms = self._weigh(self.R_)
        scale = np.where(norms > 0, 1.0 / (norms + self.shrink + 1e-12), 0.0).astype(np.float32)
        self.Ut_ = sp.csr_matrix((sp.diags(scale) @ U).T, dtype=np.float32)
        self.Ut_.indices = self.Ut_.indices.astype(np.int32)
        self.Ut_.indptr = self.Ut_.indptr.astype(np.int32)
        self._scorers = None

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        out = np.zeros((history.shape[0], self.R_.shape[1]), dtype=np.float32)
        for a in range(0, history.shape[0], CHUNK_ROWS):
            b = min(history.shape[0], a + CHUNK_ROWS)
            Q, q_norms = self._weigh(history[a:b])
            inv = np.where(q_norms > 0, 1.0 / np.maximum(q_norms, 1e-30), 0.0)
            Q = sp.csr_matrix(sp.diags(inv) @ Q, dtype=np.float32)
            N = self._neighbours(Q, np.asarray(user_idx[a:b]))
            if self.exponent != 1.0:
                N.data = np.power(N.data, self.exponent)
            out[a:b] = (N @ self.R_).toarray()
        return out

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray | None:
        """The batch path's arithmetic on one history, with numpy and implicit's accumulator (no scipy)."""
        if not implicit_scorer_available():
            return None
        cols, data = hist.items.astype(np.int32), np.maximum(hist.weights, 0.0).astype(np.float32)
        if self.weighting == "bm25":
            norm = (1.0 - self.bm25_b) + self.bm25_b * data.sum() / max(float(self.avg_len_), 1e-12)
            data = data * (self.bm25_k1 + 1.0) / (self.bm25_k1 * norm + data) * self.idf_[cols]
        elif self.weighting == "tfidf":
            data = np.sqrt(data) * self.idf_[cols]
        q_norm = np.sqrt(np.sum(data * data, dtype=np.float32))
        data = (data * (np.float32(1.0) / q_norm if q_norm > 0 else np.float32(0.0))).astype(np.float32)
        keep = data != 0  # as the CSR product stores no zeros
        found, sims = self._scorers_ready()[0].recommend(
            np.array([0, int(keep.sum())], np.int32), cols[keep], data[keep], K=self.k_neighbors + 1,
            remove_own_likes=False)
        own = found == user_idx
        found, sims = found[~own & (sims != 0)], sims[~own & (sims != 0)]
        if len(found) > self.k_neighbors:  # sparse_top_k's own choice among ties
            drop = np.argpartition(sims, len(found) - self.k_neighbors)[: len(found) - self.k_neighbors]
            kept = np.ones(len(found), bool)
            kept[drop] = False
            found, sims = found[kept], sims[kept]
        if self.exponent != 1.0:
            sims = np.power(sims, self.exponent)
        return weighted_rows(self.R_, found.astype(np.int64), sims)

    def _scorers_ready(self) -> list:
        """implicit's accumulators over the training users (built on first use)."""
        if self._scorers is None:
            self._top_with_implicit(sp.csr_matrix((0, self.Ut_.shape[0]), dtype=np.float32), 1)
        return self._scorers

    def _neighbours(self, Q: sp.csr_matrix, user_idx: np.ndarray) -> sp.csr_matrix:
        """(b, n_train_users): the k most similar training users of each row, never the user itself."""
        k = self.k_neighbors + 1  # one spare for the user themselves
        if implicit_scorer_available():
            S = self._top_with_implicit(Q, k)
        else:
            S = sparse_top_k(sp.csr_matrix(Q @ self.Ut_), k)
        rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
        S.data[S.indices == user_idx[rows]] = 0.0  # -1 (unknown user) matches nothing
        return sparse_top_k(S, self.k_neighbors)

    def _top_with_implicit(self, Q: sp.csr_matrix, k: int) -> sp.csr_matrix:
        """Top-k of Q @ Ut_ per row with implicit's C++ accumulator, rows split over threads."""
        if self._scorers is None:
            from implicit._nearest_neighbours import NearestNeighboursScorer

            n = max(self.Ut_.shape)  # the scorer sizes its accumulator by rows: pad to a square
            indptr = np.concatenate([self.Ut_.indptr, np.full(n - self.Ut_.shape[0], self.Ut_.indptr[-1], np.int32)])
            padded = sp.csr_matrix((self.Ut_.data, self.Ut_.indices, indptr), shape=(n, self.Ut_.shape[1]))
            self._scorers = [NearestNeighboursScorer(padded) for _ in range(NUM_THREADS)]
        indptr, indices, data = Q.indptr.astype(np.int32), Q.indices.astype(np.int32), Q.data.astype(np.float32)
        n_parts = len(self._scorers) if Q.shape[0] >= MIN_ROWS_PER_THREAD * len(self._scorers) else 1
        parts = np.array_split(np.arange(Q.shape[0]), n_parts)

        def run(job: tuple[int, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
            scorer = self._scorers[job[0]]
            return [scorer.recommend(indptr[r:r + 2], indices, data, K=k, remove_own_likes=False) for r in job[1]]

        if n_parts == 1:
            found = run((0, parts[0]))
        else:
            with ThreadPoolExecutor(n_parts) as pool:
                found = [pair for chunk in pool.map(run, enumerate(parts)) for pair in chunk]
        counts = np.fromiter((len(c) for c, _ in found), dtype=np.int64, count=len(found))
        out_ptr = np.concatenate([[0], np.cumsum(counts)])
        cols = np.concatenate([c for c, _ in found]) if found else np.zeros(0, np.int32)
        vals = np.concatenate([v for _, v in found]) if found else np.zeros(0, np.float32)
        return sp.csr_matrix((vals, cols, out_ptr), shape=(Q.shape[0], self.Ut_.shape[1]))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            **artifact.pack_csr("R", self.R_),
            "idf": self.idf_,
            "avg_len": np.asarray(self.avg_len_, dtype=np.float32),
        }

    def _drop_users(self, keep: np.ndarray) -> None:
        self.R_ = sp.csr_matrix(self.R_[keep[keep < self.R_.shape[0]]])
        self._prepare()

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.R_ = artifact.unpack_csr("R", arrays)
        self.idf_ = arrays["idf"]
        self.avg_len_ = np.float32(arrays["avg_len"])
        self._prepare()


def implicit_scorer_available() -> bool:
    """True when implicit's sparse top-k accumulator can be used (it is a private API of implicit)."""
    if not USE_IMPLICIT:
        return False
    try:
        from implicit._nearest_neighbours import NearestNeighboursScorer  # noqa: F401
    except ImportError:
        return False
    return True
