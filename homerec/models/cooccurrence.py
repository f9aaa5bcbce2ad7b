# SPDX-License-Identifier: Apache-2.0
"""Item-item co-occurrence: items bought in the same orders, and items bought by the same customers."""

import numpy as np
import scipy.sparse as sp

from homerec.data.interactions import Interactions


def incidence(rows: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A binary rows × items matrix (float32) with a 1 wherever a (row, item) pair occurs."""
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, items)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def order_matrix(data: Interactions) -> sp.csr_matrix:
    """Baskets × items, 1 where the basket holds the item (see `Interactions.baskets`)."""
    basket = data.baskets()
    return incidence(basket, data.item_idx, (int(basket.max()) + 1 if len(data) else 0, data.n_items))


def customer_matrix(data: Interactions) -> sp.csr_matrix:
    """Users × items, 1 where the user bought the item."""
    return incidence(data.user_idx, data.item_idx, (data.n_users, data.n_items))


def co_counts(m: sp.csr_matrix) -> sp.csr_matrix:
    """Items × items: rows of `m` holding both items (the diagonal dropped)."""
    c = sp.csr_matrix(m.T @ m, dtype=np.float32)
    c.setdiag(0.0)
    c.eliminate_zeros()
    return c


def normalised(counts: sp.csr_matrix, n: np.ndarray, alpha: float) -> sp.csr_matrix:
    """c_ab / (n_a^(1 - alpha) n_b^alpha): 0 gives the confidence of a -> b, 0.5 the cosine."""
    n = np.maximum(np.asarray(n, dtype=np.float64), 1.0)
    return sp.csr_matrix(sp.diags(n ** (alpha - 1.0)) @ counts @ sp.diags(n**-alpha), dtype=np.float32)


def column_sums(m: sp.csr_matrix) -> np.ndarray:
    """Rows holding each item."""
    return np.asarray(m.sum(axis=0)).ravel()
