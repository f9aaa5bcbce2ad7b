# SPDX-License-Identifier: Apache-2.0
"""EASE on a pruned candidate graph: a sparse item x item linear model for large catalogues.

EASE's column j is the ridge regression of item j's column of X on every other item:

    B[:, j] = argmin_b ||X_j - X b||^2 + lambda ||b||^2   with b_j = 0,

solved for all j at once by one dense n x n inverse, O(n^3) time and O(n^2) memory. Here
column j may only use N(j), the `neighbours` items most often bought together with j (the
largest off-diagonal entries of the Gram matrix G = X^T X), so each column is a small
ridge regression

    B[N(j), j] = (G[N(j), N(j)] + lambda I)^-1 G[N(j), j]

and B has at most n x neighbours entries. Items bought with nothing get an empty column.
This is the "feature selection" form of SLIM (Ning & Karypis 2011) with EASE's closed-form
ridge instead of an elastic net; with N(j) = every other item it is EASE itself.

Candidates come from the `hubs` items with the most buyers (all items on smaller
catalogues): their dense Gram block (hubs² floats) holds every local system, so a batch of
solves is one gather and one batched LAPACK call. Every item still gets its own column
(it can be recommended); only a hub can be a regressor (a rarely bought item adds little
to anyone's scores once lambda is added).
"""

import numpy as np
import scipy.sparse as sp

from homerec.models.item_knn import sparse_top_k

BATCH_CELLS = 4_000_000
"""Floats in one batch of local systems (items x neighbours², 16 MB of float32)."""


def pruned_ease(X: sp.csr_matrix, regularization: float, neighbours: int, hubs: int = 6000) -> sp.csr_matrix:
    """The sparse B (n_items x n_items, float32) of EASE restricted to each item's co-purchase neighbours.

    Args:
        X: user x item matrix (binarise it first for the classic EASE).
        regularization: lambda, added to the diagonal of every local Gram block.
        neighbours: candidates per item (the regression's support).
        hubs: how many of the most-bought items may be candidates.
    """
    X = sp.csc_matrix(X, dtype=np.float32)
    n = X.shape[1]
    buyers = np.diff(X.indptr)
    hub = np.sort(np.argsort(-buyers, kind="stable")[: min(hubs, int((buyers > 0).sum()))])
    Xh = X[:, hub]
    C = sp.csr_matrix(X.T @ Xh)  # item x hub co-purchase counts
    rows_of = np.repeat(np.arange(n), np.diff(C.indptr))
    C.data[hub[C.indices] == rows_of] = 0.0  # an item is not its own regressor
    graph = sparse_top_k(C, neighbours)
    Gh = (Xh.T @ Xh).toarray()
    sizes = np.diff(graph.indptr)
    order = np.argsort(-sizes, kind="stable")
    order = order[sizes[order] > 0]
    rows, cols, vals = [], [], []
    start = 0
    while start < len(order):
        m = int(sizes[order[start]])
        batch = order[start : start + max(1, BATCH_CELLS // (m * m))]
        start += len(batch)
        lo, length = graph.indptr[batch], sizes[batch]
        pad = np.arange(m)[None, :] >= length[:, None]
        at = np.where(pad, 0, lo[:, None] + np.arange(m)[None, :])
        nb = np.where(pad, 0, graph.indices[at])
        rhs = np.where(pad, 0.0, graph.data[at]).astype(np.float32)
        by_hub = np.argsort(nb, axis=1, kind="stable")  # ascending hubs: the gather walks Gh's rows in order
        nb, rhs, pad = (np.take_along_axis(a, by_hub, axis=1) for a in (nb, rhs, pad))
        A = Gh[nb[:, :, None], nb[:, None, :]]  # float32: lambda on the diagonal keeps it well conditioned
        A[pad[:, :, None] | pad[:, None, :]] = 0.0
        A[:, np.arange(m), np.arange(m)] += regularization
        b = np.linalg.solve(A, rhs[..., None])[..., 0]
        keep = ~pad
        rows.append(hub[nb[keep]])
        cols.append(np.repeat(batch, m)[keep.ravel()])
        vals.append(b[keep])
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float32)
    B = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float32)
    B.eliminate_zeros()
    return B
