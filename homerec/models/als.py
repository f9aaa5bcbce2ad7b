# SPDX-License-Identifier: Apache-2.0
"""Implicit-feedback matrix factorisation: ALS from the `implicit` library, plus fold-in."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import ConfigError
from homerec.models.base import Recommender
from homerec.models.one_user import OneHistory


@dataclass
class ALS(Recommender):
    """Hu, Koren & Volinsky (2008) ALS; confidence = alpha × log1p(weight) (or × weight).

    A user seen in training is scored from their learned vector; any other history (a new
    user, or a known user whose events changed) is folded in by solving their least-squares
    problem against the fixed item factors, exactly as one ALS half-step would.

    Two fields record which least-squares problem the trainer solved, so that fold-in solves
    the same one: implicit's (the defaults) or Spark's (``homerec train --engine spark``),
    where the confidence is Hu et al.'s 1 + alpha × log1p(weight) and the regularisation is
    scaled by the user's number of items (ALS-WR).
    """

    name = "als"
    needs_history = False
    factors: int = 64
    iterations: int = 15
    regularization: float = 1.0
    alpha: float = 10.0
    log_confidence: bool = True
    num_threads: int = 2
    random_state: int = 0
    confidence_offset: float = 0.0
    """Added to every confidence: 0 as implicit solves it, 1 where Spark trained the factors."""
    weighted_regularization: bool = False
    """Regularisation × the user's number of items (Spark's scaling) instead of a fixed one."""

    def _confidence(self, X: sp.csr_matrix) -> sp.csr_matrix:
        C = sp.csr_matrix(X, dtype=np.float32, copy=True)
        if self.log_confidence:
            C.data = np.log1p(C.data)
        C.data *= self.alpha
        C.data += self.confidence_offset
        return C

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        if self.weighted_regularization:
            raise ConfigError("implicit's ALS has a fixed regularisation: weighted_regularization "
                              "describes factors trained by Spark (homerec train --engine spark)")
        with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS threads would fight them
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=1.0,
                iterations=self.iterations, num_threads=self.num_threads, random_state=self.random_state,
                calculate_training_loss=False,
            )
            model.fit(self._confidence(X), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._yty = None

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User vectors (b, factors) for history rows, against the fixed item factors."""
        Y = self.item_factors_
        C = self._confidence(history)
        A = np.repeat(self._gram()[None], C.shape[0], axis=0)
        n_items = np.maximum(np.diff(C.indptr), 1) if self.weighted_regularization else np.ones(C.shape[0])
        lam = self.regularization * n_items
        A += lam[:, None, None] * np.eye(Y.shape[1])[None]
        b = np.zeros((C.shape[0], Y.shape[1]))
        for r in range(C.shape[0]):
            lo, hi = C.indptr[r], C.indptr[r + 1]
            if lo == hi:
                continue
            yi = Y[C.indices[lo:hi]].astype(np.float64)
            c = C.data[lo:hi].astype(np.float64)
            A[r] += yi.T @ (yi * (c - 1.0)[:, None])
            b[r] = c @ yi
        return np.linalg.solve(A, b[..., None])[..., 0].astype(np.float32)

    def _gram(self) -> np.ndarray:
        """YᵀY in float64, computed once (the part of every fold-in system that all users share)."""
        if getattr(self, "_yty", None) is None:
            Y = self.item_factors_
            self._yty = Y.T.astype(np.float64) @ Y
        return self._yty

    def fold_in_one(self, hist: OneHistory) -> np.ndarray:
        """`fold_in` of one history (item indices, weights): the same system, solved with numpy alone."""
        Y = self.item_factors_
        c = np.log1p(hist.weights) if self.log_confidence else np.array(hist.weights, dtype=np.float32)
        c = (c * np.float32(self.alpha) + np.float32(self.confidence_offset)).astype(np.float64)
        lam = self.regularization * (max(len(hist.items), 1) if self.weighted_regularization else 1)
        A = self._gram() + lam * np.eye(Y.shape[1])
        yi = Y[hist.items].astype(np.float64)
        A += yi.T @ (yi * (c - 1.0)[:, None])
        return np.linalg.solve(A, c @ yi).astype(np.float32)

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        known = 0 <= user_idx < len(self.user_factors_)
        x = self.user_factors_[user_idx] if known else self.fold_in_one(hist)
        return self.item_factors_ @ x

    def user_vectors(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Learned vectors for known users, folded-in vectors for the rest."""
        known = (user_idx >= 0) & (user_idx < len(self.user_factors_))
        out = np.empty((len(user_idx), self.item_factors_.shape[1]), dtype=np.float32)
        out[known] = self.user_factors_[user_idx[known]]
        if (~known).any():
            out[~known] = self.fold_in(history[np.flatnonzero(~known)])
        return out

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self.user_vectors(user_idx, history) @ self.item_factors_.T

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        Y = self.item_factors_
        norms = np.linalg.norm(Y, axis=1) + 1e-9
        return (Y[item_idx] / norms[item_idx, None]) @ (Y / norms[:, None]).T

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _drop_users(self, keep: np.ndarray) -> None:
        self.user_factors_ = np.ascontiguousarray(self.user_factors_[keep[keep < len(self.user_factors_)]])

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors_ = arrays["user_factors"]
        self.item_factors_ = arrays["item_factors"]
        self._yty = None
