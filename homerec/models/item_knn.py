# SPDX-License-Identifier: Apache-2.0
"""Item-item collaborative filtering on a sparse top-K similarity (cosine, BM25 or RP3beta)."""

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

SIMILARITIES = ("cosine", "bm25", "rp3beta")
NUM_THREADS = 2
CHUNK_CELLS = 20_000_000
"""Rows × columns of one dense block while computing RP3beta (80 MB of float32)."""


def sparse_top_k(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest stored entries of each row (exactly k where a row has more); drops zeros."""
    m = sp.csr_matrix(m)
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    keep = np.ones(m.nnz, dtype=bool)
    for r in np.flatnonzero(counts > k):
        s, e = m.indptr[r], m.indptr[r + 1]
        drop = np.argpartition(m.data[s:e], e - s - k)[: e - s - k]
        keep[s + drop] = False
    rows = np.repeat(np.arange(m.shape[0]), counts)[keep]
    indptr = np.zeros(m.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m.shape[0]), out=indptr[1:])
    return sp.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)


def _dense_top_k(block: np.ndarray, k: int) -> sp.csr_matrix:
    """Top-k of each row of a dense block as CSR (entries <= 0 dropped)."""
    n = block.shape[1]
    k = min(k, n)
    cols = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(block), 1))
    vals = np.take_along_axis(block, cols, axis=1)
    rows = np.repeat(np.arange(len(block)), k)
    out = sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=block.shape, dtype=np.float32)
    out.eliminate_zeros()
    return out


def _drop_diagonal(m: sp.csr_matrix, row_offset: int = 0) -> sp.csr_matrix:
    """Zero the entries (r, r + row_offset) of a row block and drop them."""
    m = sp.csr_matrix(m)
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    m.data[m.indices == rows + row_offset] = 0.0
    m.eliminate_zeros()
    return m


def rp3beta(X: sp.csr_matrix, k: int, alpha: float = 1.0, beta: float = 0.5) -> sp.csr_matrix:
    """RP3beta item-item weights (Paudel et al. 2016), top-k per row, zero diagonal.

    W = P_iu^alpha @ P_ui^alpha with both transition matrices row-normalised, and column j
    divided by popularity_j^beta; computed in row blocks so no dense n_items² array exists.
    """
    B = sp.csr_matrix(X, dtype=np.float32)
    B.data = np.abs(B.data)
    B.eliminate_zeros()
    user_deg = np.asarray(B.sum(axis=1)).ravel()
    P_ui = sp.csr_matrix(sp.diags(1.0 / np.maximum(user_deg, 1e-12)) @ B)
    P_ui.data **= alpha
    Bt = sp.csr_matrix(B.T)
    item_deg = np.asarray(Bt.sum(axis=1)).ravel()
    P_iu = sp.csr_matrix(sp.diags(1.0 / np.maximum(item_deg, 1e-12)) @ Bt)
    P_iu.data **= alpha
    pop = np.asarray((B > 0).sum(axis=0), dtype=np.float64).ravel()
    col_scale = (1.0 / np.power(np.maximum(pop, 1.0), beta)).astype(np.float32)
    n = B.shape[1]
    step = max(1, CHUNK_CELLS // max(n, 1))
    blocks = []
    for a in range(0, n, step):
        b = min(n, a + step)
        part = sp.csr_matrix(P_iu[a:b] @ P_ui)
        part = _drop_diagonal(part @ sp.diags(col_scale), a)
        if part.nnz > 0.2 * (b - a) * n:
            blocks.append(_dense_top_k(part.toarray(), k))
        else:
            blocks.append(sparse_top_k(part, k))
    W = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((n, n), dtype=np.float32)
    return W.astype(np.float32)


def _implicit_knn(weighted: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """implicit's all-pairs top-k (its K counts the item itself) without the diagonal."""
    from implicit.nearest_neighbours import ItemItemRecommender

    knn = ItemItemRecommender(K=k + 1, num_threads=NUM_THREADS)
    knn.fit(sp.csr_matrix(weighted, dtype=np.float64), show_progress=False)
    return sparse_top_k(_drop_diagonal(knn.similarity), k).astype(np.float32)


def item_similarity(
    X: sp.csr_matrix, similarity: str, k: int, alpha: float = 1.0, beta: float = 0.5,
    bm25_k1: float = 1.2, bm25_b: float = 0.75,
) -> sp.csr_matrix:
    """Item × item top-k similarity of a user × item matrix (rows: source item, columns: target)."""
    if similarity not in SIMILARITIES:
        raise ConfigError(f"unknown item_knn similarity {similarity!r}; use one of {', '.join(SIMILARITIES)}")
    if k < 1:
        raise ConfigError(f"item_knn k_neighbors must be >= 1, got {k}")
    X = sp.csr_matrix(X, dtype=np.float32)
    if similarity == "rp3beta":
        return rp3beta(X, k, alpha, beta)
    from implicit.nearest_neighbours import bm25_weight

    if similarity == "cosine":
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        weighted = X @ sp.diags(1.0 / np.maximum(norms, 1e-12))
    else:
        weighted = bm25_weight(sp.csr_matrix(X.T), bm25_k1, bm25_b).T
    return _implicit_knn(sp.csr_matrix(weighted), k)


@dataclass
class ItemKNN(Recommender):
    """Item-item neighbours: a user's score for j sums the similarities of their items to j.

    Attributes:
        similarity: "cosine", "bm25" (implicit's BM25-weighted dot product) or "rp3beta".
        k_neighbors: similar items kept per item.
        alpha: RP3beta exponent of both transition probabilities (user → item, item → user).
        beta: RP3beta popularity penalty (0: none; 0.5-0.6 favours the long tail).
        bm25_k1: BM25 term saturation.
        bm25_b: BM25 length normalisation.
    """

    name = "item_knn"
    similarity: str = "bm25"
    k_neighbors: int = 200
    alpha: float = 0.5
    beta: float = 0.5
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        self.W_ = item_similarity(
            X, self.similarity, self.k_neighbors, self.alpha, self.beta, self.bm25_k1, self.bm25_b
        )

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return (sp.csr_matrix(history, dtype=np.float32) @ self.W_).toarray()

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        return weighted_rows(self.W_, hist.items, hist.weights)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return self.W_[item_idx].toarray()

    def _arrays(self) -> dict[str, np.ndarray]:
        return artifact.pack_csr("W", self.W_)

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.W_ = artifact.unpack_csr("W", arrays)
