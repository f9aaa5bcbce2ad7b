# SPDX-License-Identifier: Apache-2.0
"""pruned_ease: EASE itself when every item may be a regressor; sparse and bounded otherwise."""

import numpy as np
import scipy.sparse as sp

from homerec.models.ease import spd_inverse
from homerec.models.sparse_ease import pruned_ease


def _dense_ease(X: sp.csr_matrix, lam: float) -> np.ndarray:
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += lam
    P = spd_inverse(G)
    B = P / -np.diag(P)
    B[np.diag_indices_from(B)] = 0.0
    return B


def _data(seed: int = 1, density: float = 0.5) -> sp.csr_matrix:
    X = sp.random(300, 40, density=density, random_state=seed, format="csr")
    X.data[:] = 1.0
    return X


def test_full_neighbourhoods_give_ease_exactly():
    X = _data()
    assert np.allclose(pruned_ease(X, 10.0, neighbours=39).toarray(), _dense_ease(X, 10.0), atol=1e-5)


def test_each_column_uses_at_most_its_neighbours_and_never_itself():
    X = _data(density=0.2)
    B = pruned_ease(X, 5.0, neighbours=4)
    assert np.diff(B.tocsc().indptr).max() <= 4
    assert np.all(B.diagonal() == 0)


def test_only_hubs_are_regressors_and_every_item_gets_a_column():
    X = _data(density=0.3)
    buyers = np.diff(X.tocsc().indptr)
    hubs = np.argsort(-buyers, kind="stable")[:10]
    B = pruned_ease(X, 5.0, neighbours=8, hubs=10).tocsr()
    assert set(np.flatnonzero(np.diff(B.indptr))) <= set(hubs.tolist())
    assert (np.diff(B.tocsc().indptr) > 0).sum() == X.shape[1]


def test_items_bought_with_nothing_get_empty_columns():
    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32))
    B = pruned_ease(X, 1.0, neighbours=2).toarray()
    assert np.all(B[:, 2] == 0) and B[0, 1] > 0


def test_batches_of_solves_give_the_same_model(monkeypatch):
    import homerec.models.sparse_ease as module

    X = _data(density=0.3)
    whole = pruned_ease(X, 5.0, neighbours=6)
    monkeypatch.setattr(module, "BATCH_CELLS", 36 * 3)  # three items per batch
    assert abs(pruned_ease(X, 5.0, neighbours=6) - whole).max() < 1e-5
    assert whole.nnz > 36 * 3
