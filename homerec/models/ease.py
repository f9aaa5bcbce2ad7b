# SPDX-License-Identifier: Apache-2.0
"""EASE (Steck, 2019): a closed-form item × item linear model, restricted on large catalogs."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.models.base import Recommender


def spd_inverse(G: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix through Cholesky (LAPACK potrf/potri).

    Same result as np.linalg.inv up to rounding, several times faster.
    """
    from scipy.linalg import lapack

    c, info = lapack.dpotrf(G, lower=False, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"Cholesky failed (info={info}): G is not positive definite")
    P, info = lapack.dpotri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed (info={info})")
    return np.triu(P) + np.triu(P, 1).T


@dataclass
class EASE(Recommender):
    """B = I - P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, diag(B) = 0; score = x_u B.

    The dense item × item solve costs O(n³) time and O(n²) memory, so on a catalog larger
    than ``max_items`` the model restricts itself to the ``max_items`` most-bought items and
    states so in ``restricted_reason_``; other items get no EASE score.
    """

    name = "ease"
    regularization: float = 200.0
    max_items: int = 6000
    binary: bool = True

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        X = X.copy()
        if self.binary:
            X.data[:] = 1.0
        counts = np.asarray(X.getnnz(axis=0))
        known = np.flatnonzero(counts > 0)
        self.restricted_reason_ = ""
        if len(known) > self.max_items:
            keep = known[np.argsort(-counts[known], kind="stable")[: self.max_items]]
            self.restricted_reason_ = (
                f"catalog has {len(known)} items with events; EASE keeps the {self.max_items} "
                "most-bought (dense item x item solve)"
            )
            known = np.sort(keep)
        self.columns_ = known.astype(np.int64)
        Xs = X[:, self.columns_]
        G = (Xs.T @ Xs).toarray().astype(np.float64)
        G[np.diag_indices_from(G)] += self.regularization
        P = spd_inverse(G)
        B = P / (-np.diag(P))
        B[np.diag_indices_from(B)] = 0.0
        self.B_ = B.astype(np.float32)

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        h = history[:, self.columns_]
        if self.binary:
            h = h.copy()
            h.data[:] = 1.0
        out = np.full((history.shape[0], history.shape[1]), -np.inf, dtype=np.float32)
        out[:, self.columns_] = h @ self.B_
        return out

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.columns_, item_idx)
        out = np.full((len(item_idx), len(self.items_)), -np.inf, dtype=np.float32)
        inside = (pos < len(self.columns_)) & (self.columns_[np.minimum(pos, len(self.columns_) - 1)] == item_idx)
        out[np.ix_(np.flatnonzero(inside), self.columns_)] = self.B_[pos[inside]]
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B_, "columns": self.columns_, "reason": np.asarray(self.restricted_reason_)}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B_, self.columns_ = arrays["B"], arrays["columns"]
        self.restricted_reason_ = str(arrays["reason"])
