# SPDX-License-Identifier: Apache-2.0
"""Peers of the basket-completion protocol, as completers `(task, params, k) -> top-k indices`.

Textbook versions (`benchmark-protocol.md`, "Basket completion"): popularity; item-to-item
co-occurrence within train baskets summed over the cart, as raw counts, cosine or lift; and
association rules, the confidence of cart item -> item (max over the cart) above a minimum
support. Popularity breaks their ties (far below one co-occurrence), which only helps them.
"""

from typing import Any

import numpy as np
import scipy.sparse as sp

from homerec.evaluation.basket import BasketTask
from homerec.models.cooccurrence import co_counts, column_sums, normalised, order_matrix
from homerec.models.topk import mask_rows, top_k

CHUNK_CELLS = 16_000_000


def _popularity(task: BasketTask) -> np.ndarray:
    return column_sums(order_matrix(task.train)).astype(np.float64)


def _ranked(task: BasketTask, scores_of, k: int) -> np.ndarray:
    """Top-k per cart of scores_of(carts chunk) + a popularity tie-break, cart items masked."""
    pop = _popularity(task)
    fill = (1e-6 * pop / (pop.max() + 1.0)).astype(np.float32)
    step = max(1, CHUNK_CELLS // max(task.train.n_items, 1))
    out = []
    for a in range(0, task.carts.shape[0], step):
        carts = task.carts[a : a + step]
        s = np.asarray(scores_of(carts), dtype=np.float32) + fill[None, :]
        mask_rows(s, carts)
        out.append(top_k(s, k)[0])
    return np.concatenate(out) if out else np.zeros((0, k), np.int64)


def popularity(task: BasketTask, params: dict[str, Any], k: int) -> np.ndarray:
    """The most frequently ordered items, the cart's left out."""
    return _ranked(task, lambda carts: np.zeros(carts.shape, np.float32), k)


def co_occurrence(task: BasketTask, params: dict[str, Any], k: int) -> np.ndarray:
    """Sum over the cart of co-order counts: raw, cosine (c / sqrt(n_a n_b)) or lift (c N / (n_a n_b))."""
    b = order_matrix(task.train)
    n, c = np.maximum(column_sums(b), 1.0), co_counts(b)
    if params["measure"] == "cosine":
        c = normalised(c, n, 0.5)
    elif params["measure"] == "lift":
        c = sp.csr_matrix(sp.diags(b.shape[0] / n) @ c @ sp.diags(1.0 / n), dtype=np.float32)
    return _ranked(task, lambda carts: (carts @ c).toarray(), k)


def association_rules(task: BasketTask, params: dict[str, Any], k: int) -> np.ndarray:
    """Max over the cart of the confidence of cart item -> item, for rules with at least `min_support` baskets."""
    b = order_matrix(task.train)
    c = co_counts(b)
    c.data[c.data < params["min_support"]] = 0.0
    c.eliminate_zeros()
    conf = normalised(c, column_sums(b), 0.0)

    def scores(carts: sp.csr_matrix) -> np.ndarray:
        out = np.zeros(carts.shape, np.float32)
        for r in range(carts.shape[0]):
            rows = conf[carts.indices[carts.indptr[r] : carts.indptr[r + 1]]]
            if rows.nnz:
                out[r] = rows.max(axis=0).toarray().ravel()
        return out

    return _ranked(task, scores, k)


BASKET_PEERS = {
    "popularity": (popularity, [{}]),
    "co-occurrence": (co_occurrence, [{"measure": m} for m in ("raw", "cosine", "lift")]),
    "association-rules": (association_rules, [{"min_support": s} for s in (1, 2, 5)]),
}
"""Peer name → (completer, tuning grid)."""
