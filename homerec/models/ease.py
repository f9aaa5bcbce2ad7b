# SPDX-License-Identifier: Apache-2.0
"""EASE (Steck, 2019): a closed-form item × item linear model; sparse on large catalogues."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.models import artifact
from homerec.models.base import Recommender
from homerec.models.gather import weighted_rows
from homerec.models.one_user import OneHistory
from homerec.models.sparse_ease import pruned_ease


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

    The dense item × item solve costs O(n³) time and O(n²) memory, so on a catalogue with
    more than ``max_items`` items with events the model solves each item's regression over
    its ``neighbours`` most co-purchased items among the ``hubs`` most bought only
    (`homerec.models.sparse_ease`), keeps B sparse, and says so in ``restricted_reason_``.
    """

    name = "ease"
    regularization: float = 200.0
    max_items: int = 6000
    binary: bool = True
    neighbours: int = 64
    hubs: int = 3000

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        X = X.copy()
        if self.binary:
            X.data[:] = 1.0
        counts = np.asarray(X.getnnz(axis=0))
        known = np.flatnonzero(counts > 0)
        self.restricted_reason_ = ""
        if len(known) > self.max_items:
            self.columns_ = np.arange(X.shape[1], dtype=np.int64)
            self.B_ = pruned_ease(X, self.regularization, self.neighbours, self.hubs)
            self.restricted_reason_ = (
                f"catalogue has {len(known)} items with events (> {self.max_items}): each item's EASE "
                f"regression uses its {self.neighbours} most co-purchased items among the {self.hubs} "
                "most bought (sparse B)")
            return
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
        if sp.issparse(self.B_):
            return (sp.csr_matrix(h, dtype=np.float32) @ self.B_).toarray()
        out = np.full((history.shape[0], history.shape[1]), -np.inf, dtype=np.float32)
        out[:, self.columns_] = h @ self.B_
        return out

    def _score_one(self, user_idx: int, hist: OneHistory) -> np.ndarray:
        weights = np.ones(len(hist.items), np.float32) if self.binary else hist.weights
        if sp.issparse(self.B_):
            return weighted_rows(self.B_, hist.items, weights)
        pos = self._column_positions()[hist.items]
        inside = pos >= 0
        out = np.full(len(self.items_), -np.inf, dtype=np.float32)
        out[self.columns_] = weights[inside] @ self.B_[pos[inside]] if inside.any() else 0.0
        return out

    def _column_positions(self) -> np.ndarray:
        """Per item, its row in B (-1: not one of the solved columns); computed once."""
        cached = self.__dict__.get("_positions")
        if cached is None or cached[0] is not self.columns_:
            pos = np.full(len(self.items_), -1, dtype=np.int64)
            pos[self.columns_] = np.arange(len(self.columns_))
            cached = (self.columns_, pos)
            self.__dict__["_positions"] = cached
        return cached[1]

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        if sp.issparse(self.B_):
            return self.B_[item_idx].toarray()
        pos = np.searchsorted(self.columns_, item_idx)
        out = np.full((len(item_idx), len(self.items_)), -np.inf, dtype=np.float32)
        inside = (pos < len(self.columns_)) & (self.columns_[np.minimum(pos, len(self.columns_) - 1)] == item_idx)
        out[np.ix_(np.flatnonzero(inside), self.columns_)] = self.B_[pos[inside]]
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        B = artifact.pack_csr("Bs", self.B_) if sp.issparse(self.B_) else {"B": self.B_}
        return {**B, "columns": self.columns_, "reason": np.asarray(self.restricted_reason_)}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B_ = arrays["B"] if "B" in arrays else artifact.unpack_csr("Bs", arrays)
        self.columns_ = arrays["columns"]
        self.restricted_reason_ = str(arrays["reason"])
