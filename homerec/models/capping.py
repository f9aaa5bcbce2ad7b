# SPDX-License-Identifier: Apache-2.0
"""Per-item prices that keep every item out of more than a share of the users' top-k lists.

"No product in more than 20 % of the lists" is a capacity per item. Maximising the users'
summed scores under it is an assignment problem whose dual gives each item a price: a user
keeps an item when its score beats the score of their next-best item by more than the price.
`cap_prices` finds such prices on a sample of users by a few rounds of an ascending auction:
each round, every item held by more than its capacity raises its price to the margin of its
``capacity``-th most attached holder (margin = score - the holder's (k+1)-th best score), so
exactly that many keep it, and the displaced users move to their next items. The prices only
rise, so a few rounds settle; the items people like most keep going to the users who like
them most, instead of everyone's list starting with the same best-sellers.

The hybrid subtracts the prices from its blended scores (`Hybrid.max_item_share`), so batch
lists, live answers and the tuning on validation all see the same capped ranking.
"""

import numpy as np

from homerec.models.topk import top_k

ROUNDS = 8
"""Auction rounds while tuning (many weight settings); a fitted hybrid runs `FIT_ROUNDS`."""
FIT_ROUNDS = 30


def cap_prices(
    scores: np.ndarray, k: int, max_share: float, items: np.ndarray | None = None, n_items: int | None = None,
    rounds: int = ROUNDS,
) -> np.ndarray:
    """Prices (n_items,) such that the top-k of ``scores - prices`` holds each item in <= max_share of rows.

    Args:
        scores: (users, n) scores, -inf where an item may not be listed (seen, unscored).
        k: list length.
        max_share: the largest share of rows one item may be listed in (>= 1: no prices).
        items: (users, n) item index of each column per row (a candidate pool), or None when
            column j is item j.
        n_items: number of items (default: scores' width).
        rounds: auction rounds (the cap may be slightly exceeded when they run out).
    """
    n_rows = scores.shape[0]
    n_items = n_items if n_items is not None else scores.shape[1]
    prices = np.zeros(n_items, dtype=np.float64)
    if max_share >= 1.0 or n_rows == 0:
        return prices.astype(np.float32)
    capacity = max(1, int(np.floor(max_share * n_rows)))
    rows = np.arange(n_rows)[:, None]
    for _ in range(rounds):
        adjusted = scores - (prices[items] if items is not None else prices[None, :])
        idx, vals = top_k(adjusted, k + 1)
        top, top_vals = idx[:, :k], vals[:, :k]
        held = top >= 0
        ids = np.where(held, items[rows, np.maximum(top, 0)] if items is not None else top, -1)
        counts = np.bincount(ids[held], minlength=n_items)
        over = counts > capacity
        if not over.any():
            break
        nxt = vals[:, k] if vals.shape[1] > k else np.full(n_rows, -np.inf)
        margin = top_vals - np.where(np.isfinite(nxt), nxt, -1e9)[:, None]
        sel = held & over[np.maximum(ids, 0)]
        item, m = ids[sel], margin[sel]
        order = np.lexsort((-m, item))
        item, m = item[order], m[order]
        first = np.searchsorted(item, item, side="left")
        rank = np.arange(len(item)) - first
        at_cap = rank == capacity  # the first holder past capacity: the price makes them let go
        prices[item[at_cap]] += m[at_cap] + 1e-6
    return prices.astype(np.float32)
