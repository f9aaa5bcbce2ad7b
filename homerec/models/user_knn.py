# SPDX-License-Identifier: Apache-2.0
"""User-user collaborative filtering: score items by what the most similar training users have."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import ConfigError
from homerec.models import artifact
from homerec.models.base import Recommender
from homerec.models.item_knn import sparse_top_k

WEIGHTINGS = ("cosine", "tfidf", "bm25")
CHUNK_ROWS = 1024


@dataclass
class UserKNN(Recommender):
    """User-user neighbours over a row-normalised (cosine) user × item matrix.

    A history row is weighted like the training rows, compared with every training user
    (one sparse product), and the `k_neighbors` most similar users vote for their items with
    weight similarity**exponent. A known user is never their own neighbour.

    Attributes:
        k_neighbors: neighbours kept per scored user.
        weighting: "cosine" (raw weights), "tfidf" or "bm25" item weighting before normalising.
        shrink: similarities are dot / (|a| |b| + shrink) (0: plain cosine); damps tiny overlaps.
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
        """The transposed weighted training matrix and its row norms (derived from R_)."""
        U, self.norms_ = self._weigh(self.R_)
        self.Ut_ = sp.csr_matrix(U.T)

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        out = np.zeros((history.shape[0], self.R_.shape[1]), dtype=np.float32)
        for a in range(0, history.shape[0], CHUNK_ROWS):
            b = min(history.shape[0], a + CHUNK_ROWS)
            out[a:b] = self._score_chunk(np.asarray(user_idx[a:b]), history[a:b])
        return out

    def _score_chunk(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        Q, q_norms = self._weigh(history)
        S = sp.csr_matrix(Q @ self.Ut_)  # (b, n_train_users) dot products
        rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
        S.data /= q_norms[rows] * self.norms_[S.indices] + self.shrink + 1e-12
        S.data[S.indices == user_idx[rows]] = 0.0  # never one's own neighbour (-1 matches nothing)
        N = sparse_top_k(S, self.k_neighbors)
        if self.exponent != 1.0:
            N.data = np.power(N.data, self.exponent)
        return (N @ self.R_).toarray()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            **artifact.pack_csr("R", self.R_),
            "idf": self.idf_,
            "avg_len": np.asarray(self.avg_len_, dtype=np.float32),
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.R_ = artifact.unpack_csr("R", arrays)
        self.idf_ = arrays["idf"]
        self.avg_len_ = np.float32(arrays["avg_len"])
        self._prepare()
