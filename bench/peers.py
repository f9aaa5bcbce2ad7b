# SPDX-License-Identifier: Apache-2.0
"""Peer models for the quality benchmark: plain reference implementations behind homerec's API.

Each peer is a `Recommender`, so the same split, tuning and metric code runs peers and
homerec models alike. They are deliberately textbook versions (library defaults, no homerec
tricks) with a small tuning grid next to each; ``PEERS`` lists them in table order. None of
them can score items without training events (``cold_items = False``), and none takes
homerec's popularity tie-break (``tie_break = False``): equal scores keep top_k's index order.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.models.base import Recommender
from homerec.models.ease import spd_inverse

THREADS = 2
DAY = 86400


def _broadcast(row: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(row, (n, len(row))).copy()


def _distinct_users(data: Interactions, mask: np.ndarray) -> np.ndarray:
    """Per item: how many distinct users had an event where `mask` holds (repeat buys count once)."""
    keys = np.unique(data.user_idx[mask].astype(np.int64) * data.n_items + data.item_idx[mask])
    return np.bincount(keys % data.n_items, minlength=data.n_items).astype(np.float32)


@dataclass
class PeerPopularity(Recommender):
    """Items by number of distinct users with a training event (all time), the same list for everyone."""

    name = "peer-popularity"
    tie_break = False
    needs_history = False

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        self.pop_ = _distinct_users(data, np.ones(len(data), dtype=bool))

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return _broadcast(self.pop_, len(user_idx))


@dataclass
class PeerRecentPopularity(PeerPopularity):
    """Items by distinct users in the last `window_days` before the end of training.

    All-time counts break ties (scaled to stay below one user).
    """

    name = "peer-recent-popularity"
    window_days: float = 30.0

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        window = _distinct_users(data, data.ts >= data.max_ts() - self.window_days * DAY).astype(np.float64)
        total = _distinct_users(data, np.ones(len(data), dtype=bool)).astype(np.float64)
        self.pop_ = (window + total / (total.max() + 1.0)).astype(np.float32)


@dataclass
class PeerALS(Recommender):
    """implicit's AlternatingLeastSquares (CPU, conjugate gradient) on raw event counts."""

    name = "peer-als"
    tie_break = False
    factors: int = 64
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15
    random_state: int = 0

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"):  # implicit's own threads; nested BLAS threads slow it
            self.model_ = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, num_threads=THREADS, random_state=self.random_state,
            )
            self.model_.fit(X, show_progress=False)

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        uf = self.model_.user_factors
        known = (user_idx >= 0) & (user_idx < uf.shape[0])
        U = np.empty((len(user_idx), uf.shape[1]), dtype=np.float32)
        U[known] = uf[user_idx[known]]
        for r in np.flatnonzero(~known):  # implicit's own fold-in for users it has not seen
            U[r] = self.model_.recalculate_user(0, sp.csr_matrix(history[r]))
        return U @ self.model_.item_factors.T


@dataclass
class PeerBM25(Recommender):
    """implicit's BM25Recommender: item-item k-NN on BM25-weighted columns; score = history · S."""

    name = "peer-bm25"
    tie_break = False
    K: int = 100
    k1: float = 1.2
    b: float = 0.75

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        from implicit.nearest_neighbours import BM25Recommender, ItemItemRecommender, bm25_weight

        model = BM25Recommender(K=self.K, K1=self.k1, B=self.b, num_threads=THREADS)
        # BM25Recommender.fit, with the weighted matrix handed over as CSR (implicit warns on COO)
        ItemItemRecommender.fit(model, bm25_weight(X.T, self.k1, self.b).T.tocsr(), show_progress=False)
        self.similarity_ = sp.csr_matrix(model.similarity, dtype=np.float32)

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return (history @ self.similarity_).toarray()


def _train_items(X: sp.csr_matrix) -> np.ndarray:
    """Columns with at least one training event (the only items these peers may recommend)."""
    return np.flatnonzero(X.getnnz(axis=0) > 0)


def _expand(part: np.ndarray, cols: np.ndarray, n_items: int) -> np.ndarray:
    """Scores over `cols` placed into a (b, n_items) array (other items: 0, masked by the base)."""
    out = np.zeros((part.shape[0], n_items), dtype=np.float32)
    out[:, cols] = part
    return out


@dataclass
class PeerEASE(Recommender):
    """EASE (Steck 2019), the numpy reference on binary X; refuses catalogs over MAX_ITEMS.

    The solve runs over the items with training events only: an item without events has a
    zero column in X, so its rows and columns of G⁻¹ decouple and B is the same either way.
    """

    name = "peer-ease"
    tie_break = False
    MAX_ITEMS = 10_000
    regularization: float = 500.0

    @classmethod
    def skip_reason(cls, n_items: int) -> str | None:
        """Why EASE is not run on a catalog of `n_items` (a dense n × n inverse), or None."""
        return f"not run ({n_items:,} items > {cls.MAX_ITEMS:,})" if n_items > cls.MAX_ITEMS else None

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        self.cols_ = _train_items(X)
        if reason := self.skip_reason(len(self.cols_)):
            raise ValueError(f"EASE {reason}")
        Xb = (X[:, self.cols_] > 0).astype(np.float64)
        G = (Xb.T @ Xb).toarray()
        G[np.diag_indices_from(G)] += self.regularization
        P = spd_inverse(G)
        B = P / -np.diag(P)
        B[np.diag_indices_from(B)] = 0.0
        self.B_ = B.astype(np.float32)

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        h = (history[:, self.cols_] > 0).astype(np.float32)
        return _expand(h @ self.B_, self.cols_, history.shape[1])


@dataclass
class PeerLightFM(Recommender):
    """LightFM with WARP loss; item features = identity + homerec's metadata features.

    Trained over the items with training events (the others cannot be recommended, and as
    WARP negatives they would only slow sampling). Users are identity features; a user unseen
    in training is the mean of their history's item embeddings (LightFM has no fold-in).

    One thread by default: LightFM's lock-free (Hogwild) updates make 2-thread runs differ
    from run to run with the same seed (ml-100k NDCG@10 0.156-0.171 at 10 epochs), while one
    thread is reproducible and only ~25% slower here.
    """

    name = "peer-lightfm"
    tie_break = False
    no_components: int = 64
    epochs: int = 30
    learning_rate: float = 0.05
    item_alpha: float = 0.0
    random_state: int = 0
    num_threads: int = 1

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        from lightfm import LightFM

        self.cols_ = _train_items(X)
        blocks = [sp.identity(len(self.cols_), dtype=np.float32, format="csr")]
        if features is not None and features.n_features:
            blocks.append(sp.csr_matrix(features.aligned(data.items).matrix, dtype=np.float32)[self.cols_])
        F = sp.csr_matrix(sp.hstack(blocks, format="csr"))
        rows = np.asarray(F.sum(axis=1)).ravel()  # like lightfm.data.Dataset(normalize=True)
        F = sp.csr_matrix(sp.diags(1.0 / np.maximum(rows, 1e-12)) @ F, dtype=np.float32)
        model = LightFM(no_components=self.no_components, loss="warp", learning_rate=self.learning_rate,
                        item_alpha=self.item_alpha, random_state=self.random_state)
        model.fit(sp.coo_matrix((X[:, self.cols_] > 0).astype(np.float32)), item_features=F,
                  epochs=self.epochs, num_threads=self.num_threads)
        self.item_bias_, self.item_emb_ = model.get_item_representations(F)
        _, self.user_emb_ = model.get_user_representations()

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        known = (user_idx >= 0) & (user_idx < len(self.user_emb_))
        U = np.empty((len(user_idx), self.item_emb_.shape[1]), dtype=np.float32)
        U[known] = self.user_emb_[user_idx[known]]
        if (~known).any():
            h = sp.csr_matrix(history[np.flatnonzero(~known)][:, self.cols_] > 0, dtype=np.float32)
            n = np.maximum(np.asarray(h.sum(axis=1)), 1.0)
            U[~known] = np.asarray(h @ self.item_emb_) / n
        return _expand(U @ self.item_emb_.T + self.item_bias_, self.cols_, history.shape[1])


PEERS: dict[str, tuple[type[Recommender], list[dict[str, Any]]]] = {
    "popularity": (PeerPopularity, [{}]),
    "recent-popularity": (PeerRecentPopularity, [{"window_days": d} for d in (7, 14, 30, 90)]),
    "bm25": (PeerBM25, [{"K": k, "k1": 1.2, "b": b} for k in (50, 200) for b in (0.25, 0.75)]),
    "als": (PeerALS, [{"regularization": r, "alpha": a} for r in (0.01, 0.1) for a in (1.0, 10.0)]),
    "ease": (PeerEASE, [{"regularization": lam} for lam in (20.0, 200.0, 1000.0)]),
    "lightfm": (PeerLightFM, [{"epochs": e, "learning_rate": lr} for e in (10, 30) for lr in (0.05,)]),
}
"""Peer name → (class, tuning grid); every grid point is a dict of constructor arguments."""


def fitter(cls: type[Recommender], params: dict[str, Any]):
    """A fitter `(train, features) -> fitted model` for `evaluate` and `grid_search`."""

    def fit(train: Interactions, features: ItemFeatures | None) -> Recommender:
        return cls(**params).fit(train, features)

    fit.__name__ = f"fit_{cls.name}"
    return fit
