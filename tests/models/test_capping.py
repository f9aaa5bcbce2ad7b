# SPDX-License-Identifier: Apache-2.0
"""cap_prices: no item over its share of lists, and the most attached users keep it."""

import numpy as np

from homerec.models.capping import cap_prices
from homerec.models.topk import top_k


def _shares(scores: np.ndarray, prices: np.ndarray, k: int) -> np.ndarray:
    idx, _ = top_k(scores - prices[None, :], k)
    return np.bincount(idx.ravel(), minlength=scores.shape[1]) / scores.shape[0]


def test_prices_cap_every_item_share():
    rng = np.random.default_rng(0)
    scores = rng.random((500, 60)) + np.linspace(2.0, 0.0, 60)[None, :]  # everyone prefers the same items
    assert _shares(scores, np.zeros(60), 5).max() > 0.5
    prices = cap_prices(scores, 5, 0.2, rounds=30)
    assert _shares(scores, prices, 5).max() <= 0.21  # the auction approaches the cap from above
    assert np.all(prices >= 0) and prices[0] > prices[-1]


def test_the_users_who_like_an_item_most_keep_it():
    scores = np.tile(np.array([1.0, 0.5, 0.4, 0.3, 0.2]), (10, 1))
    scores[:, 0] += np.arange(10) / 100.0  # user 9 likes item 0 most
    prices = cap_prices(scores, 1, 0.2)
    idx, _ = top_k(scores - prices[None, :], 1)
    assert set(np.flatnonzero(idx[:, 0] == 0)) == {8, 9}


def test_no_prices_without_a_cap_and_pools_are_supported():
    scores = np.random.default_rng(1).random((20, 8))
    assert not cap_prices(scores, 3, 1.0).any()
    pool = np.tile(np.array([5, 7, 9, 11]), (20, 1))
    prices = cap_prices(np.tile(np.array([4.0, 3.0, 2.0, 1.0]), (20, 1)), 1, 0.5, pool, n_items=12)
    assert prices.shape == (12,) and prices[5] > 0 and prices[[0, 1, 2]].sum() == 0
