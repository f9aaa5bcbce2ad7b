# SPDX-License-Identifier: Apache-2.0
"""Peers of the segment protocol, as rankers `(task, params) -> scores (users × targets)`.

Textbook versions (`benchmark-protocol.md`, "Segment"): the most active customers (train
purchase count, the same ranking for every product); the most frequent buyers of the
product's category (purchases of items sharing a category value with it; skipped without a
CATEGORY-like column); and the customers who bought the product's most co-purchased items
(co-occurrence in orders or across customers, over the `top` most co-purchased items, summed
over the customer's history). The protocol code leaves out past buyers of the product.
"""

from typing import Any

import numpy as np
import scipy.sparse as sp

from homerec.evaluation.segments import SegmentTask
from homerec.models.cooccurrence import co_counts, customer_matrix, order_matrix
from homerec.models.item_knn import sparse_top_k


def _purchases(task: SegmentTask) -> sp.csr_matrix:
    t = task.train
    m = sp.csr_matrix((t.weight, (t.user_idx, t.item_idx)), shape=(t.n_users, t.n_items), dtype=np.float32)
    m.sum_duplicates()
    return m


def most_active(task: SegmentTask, params: dict[str, Any]) -> np.ndarray:
    """Train purchases per customer."""
    active = np.asarray(_purchases(task).sum(axis=1)).ravel()
    return np.repeat(active[:, None], len(task.targets), axis=1)


def category_buyers(task: SegmentTask, params: dict[str, Any]) -> np.ndarray:
    """Purchases of items sharing a category value with the product (ties: overall purchases)."""
    cats = task.categories
    if cats is None or cats.shape[1] == 0:
        raise ValueError("no CATEGORY-like item column")
    per_category = _purchases(task) @ cats
    same = (per_category @ cats[task.targets].T).toarray()
    return same + 1e-6 * most_active(task, params) / (most_active(task, params).max() + 1.0)


def co_purchasers(task: SegmentTask, params: dict[str, Any]) -> np.ndarray:
    """Sum over the customer's items of their co-occurrence with the product (its `top` partners only)."""
    incidence = order_matrix(task.train) if params["within"] == "orders" else customer_matrix(task.train)
    co = co_counts(incidence)
    if params["top"]:
        co = sparse_top_k(co, params["top"])
    bought = sp.csr_matrix(_purchases(task) > 0, dtype=np.float32)
    return (bought @ co[task.targets].T).toarray()


SEGMENT_PEERS = {
    "most-active": (most_active, [{}]),
    "category-buyers": (category_buyers, [{}]),
    "co-purchasers": (co_purchasers, [{"within": w, "top": t} for w in ("orders", "customers") for t in (10, 50, 0)]),
}
"""Peer name → (ranker, tuning grid)."""
