# SPDX-License-Identifier: Apache-2.0
"""Candidates of a buy-again list and their features: the user's past items and the discovery model's top.

Each past item is described by how often, how recently and how regularly the user bought it,
and by when it is due: the user's own mean interval for the item, shrunk towards the item's
typical interval moved by the user's own pace, read as a log-normal interval distribution,
gives the probability that the next purchase falls in the coming `horizon` days given that it
has not happened yet:

    P(due) = (F(age + H) - F(age)) / (1 - F(age)),   F = log-normal CDF(median mu, shape sigma)

Items the user never bought come from the discovery model (the not-yet-bought hybrid) with
its normalised score and rank. A linear model over these features (`ReorderModel`) ranks
both kinds in one list.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from homerec.data.interactions import Interactions
from homerec.models.purchase_stats import DAY, ItemStats, pair_stats, purchases, user_stats

HALF_LIVES_DAYS = (14.0, 60.0, 365.0)
SIGMA_DEFAULT = 0.6
"""Log-normal shape of re-order intervals when a pair has too few purchases to measure its own."""
FEATURES = (
    "repeat", "log_count", "log_decay_14d", "log_decay_60d", "log_decay_365d", "log_age_days",
    "due_probability", "log_due_ratio", "own_interval", "share_of_baskets", "item_log_buyers",
    "item_repeat_share", "user_repeat_share", "user_log_baskets", "user_log_idle_days",
    "discovery", "discovery_score", "discovery_log_rank", "discovery_user_repeat_share",
    "discovery_user_log_baskets", "log_orders_since", "log_orders_between_buys", "log_orders_in_horizon",
    "orders_due_margin", "repeat_affinity",
)  # fmt: skip
"""Feature names, in column order."""


@dataclass(frozen=True)
class Discoveries:
    """The discovery model's view of each user row: its top new items (indices, -1 pads, and raw
    scores), and its scores of every item with each row's finite range (for the affinity of
    past items: the score min-max scaled, 0 where unscored)."""

    idx: np.ndarray
    scores: np.ndarray
    all_scores: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, all_scores: np.ndarray, idx: np.ndarray, scores: np.ndarray) -> "Discoveries":
        """From every item's scores (-inf: unscored) and the top new items."""
        unscored = np.isneginf(all_scores)
        high = all_scores.max(axis=1, initial=-np.inf)
        low = np.where(unscored, np.inf, all_scores).min(axis=1, initial=np.inf)
        return cls(idx, scores, all_scores, low, high)

    def affinity(self, row: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Scaled scores at (row, item) pairs."""
        s = self.all_scores[row, item].astype(np.float64)
        span = (self.high - self.low)[row]
        scaled = np.where(span > 0, (s - self.low[row]) / np.where(span > 0, span, 1.0), 1.0)
        return np.where(np.isfinite(s), scaled, 0.0)


@dataclass(frozen=True)
class Candidates:
    """Candidate (row, item) pairs with their features and what a reason needs."""

    row: np.ndarray
    item: np.ndarray
    X: np.ndarray
    repeat: np.ndarray
    due_days: np.ndarray
    quantity: np.ndarray


def _due(age: np.ndarray, log_mu: np.ndarray, sigma: np.ndarray, horizon: float, count: np.ndarray) -> np.ndarray:
    """P(next purchase within `horizon` days | none in the `age` days since the last one).

    The user may also have dropped the product: a prior (n + 1) / (n + 1.5) that a product
    bought n times is still bought, updated by the purchase not having come yet.
    """
    f_now = ndtr((np.log(np.maximum(age, 0.5)) - log_mu) / sigma)
    f_then = ndtr((np.log(age + horizon) - log_mu) / sigma)
    kept = (count + 1.0) / (count + 1.5)
    return kept * (f_then - f_now) / np.maximum(kept * (1.0 - f_now) + 1.0 - kept, 1e-6)


def candidates(
    data: Interactions, now: int, items: ItemStats, horizon_days: float, found: Discoveries
) -> Candidates:
    """Every past item of each user (row of `data.users`) and their discoveries, with features.

    `data` holds only the requested users' events, over the model's item map.
    """
    p = purchases(data, now)
    pairs = pair_stats(p, now, HALF_LIVES_DAYS)
    users = user_stats(p, pairs, data.n_users)
    u, i = pairs.user, pairs.item
    age = np.maximum(now - pairs.last_ts, 0) / DAY
    repeats = pairs.count - 1.0
    own = np.log(np.maximum(np.nan_to_num(pairs.interval_days, nan=1.0), 0.5))
    log_mu = (repeats * own + _prior_log_interval(u, i, own, repeats, items, data.n_users)) / (repeats + 1.0)
    cv = pairs.interval_cv
    sigma = np.clip(np.where(np.isfinite(cv), np.sqrt(np.log1p(np.nan_to_num(cv) ** 2)), SIGMA_DEFAULT), 0.25, 1.5)
    user_log_baskets = np.log1p(users.baskets)
    idle = np.log1p(np.maximum(now - users.last_ts, 0) / DAY)
    rep = np.zeros((len(u), len(FEATURES)), dtype=np.float32)
    rep[:, 0] = 1.0
    rep[:, 1] = np.log1p(pairs.count)
    rep[:, 2:5] = np.log1p(pairs.decayed)
    rep[:, 5] = np.log1p(age)
    rep[:, 6] = _due(age, log_mu, sigma, horizon_days, pairs.count)
    rep[:, 7] = np.clip(np.log(np.maximum(age, 0.5)) - log_mu, -4.0, 4.0)
    rep[:, 8] = pairs.count > 1
    rep[:, 9] = pairs.count / np.maximum(users.baskets[u], 1.0)
    rep[:, 12] = users.repeat_share[u]
    rep[:, 13] = user_log_baskets[u]
    rep[:, 14] = idle[u]
    # The same in the user's own orders: how many since the last purchase, how many between two.
    gap = np.where(users.baskets > 1, (users.last_ts - users.first_ts) / DAY / np.maximum(users.baskets - 1, 1), np.nan)
    in_horizon = horizon_days / np.maximum(np.nan_to_num(gap, nan=horizon_days), 0.5)
    every = np.where(repeats > 0, pairs.orders_between / np.maximum(repeats, 1.0), np.nan)
    rep[:, 20] = np.log1p(pairs.orders_since)
    rep[:, 21] = np.log(np.maximum(np.nan_to_num(every, nan=0.0), 1.0))
    rep[:, 22] = np.log1p(in_horizon[u])
    rep[:, 24] = found.affinity(u, i)
    rep[:, 23] = np.where(repeats > 0, np.clip((pairs.orders_since + in_horizon[u]) / np.maximum(every, 1.0), 0, 5), 0)

    width = found.idx.shape[1]
    rank = np.tile(np.arange(width), found.idx.shape[0])
    d_row = np.repeat(np.arange(found.idx.shape[0]), width)
    keep = found.idx.ravel() >= 0
    d_row, d_item, rank = d_row[keep], found.idx.ravel()[keep], rank[keep]
    disc = np.zeros((len(d_row), len(FEATURES)), dtype=np.float32)
    disc[:, 15] = 1.0
    disc[:, 16] = row_scaled(found.scores)[keep.reshape(found.idx.shape)]
    disc[:, 17] = np.log1p(rank)
    disc[:, 18] = users.repeat_share[d_row]
    disc[:, 19] = user_log_baskets[d_row]

    X = np.concatenate([rep, disc])
    item = np.concatenate([i, d_item]).astype(np.int64)
    X[:, 10] = np.log1p(items.buyers[item])
    X[:, 11] = items.repeat_share[item]
    due_days = np.concatenate([np.exp(log_mu) - age, np.full(len(d_row), np.nan)]).astype(np.float32)
    quantity = np.concatenate([pairs.quantity, np.full(len(d_row), np.nan, np.float32)])
    repeat = np.concatenate([np.ones(len(u), bool), np.zeros(len(d_row), bool)])
    return Candidates(np.concatenate([u, d_row]).astype(np.int64), item, X, repeat, due_days, quantity)


def _prior_log_interval(
    user: np.ndarray, item: np.ndarray, own: np.ndarray, repeats: np.ndarray, items: ItemStats, n_users: int
) -> np.ndarray:
    """Log interval expected before the pair's own: the item's typical one, moved by the user's pace.

    A user's pace is how much longer (or shorter) than typical their own intervals run over all
    the items they re-bought, weighted by re-buys and shrunk towards 0 by one re-buy.
    """
    typical = np.log(items.interval_days[item])
    weight = np.bincount(user, weights=repeats, minlength=n_users)
    pace = np.bincount(user, weights=repeats * (own - typical), minlength=n_users) / (weight + 1.0)
    return typical + pace[user]


def row_scaled(scores: np.ndarray) -> np.ndarray:
    """Each row's finite scores min-max scaled to [0, 1] (1 for a row of equal scores)."""
    ok = np.isfinite(scores)
    s = np.where(ok, scores, 0.0).astype(np.float64)
    lo = np.where(ok, s, np.inf).min(axis=1, keepdims=True, initial=np.inf)
    hi = np.where(ok, s, -np.inf).max(axis=1, keepdims=True, initial=-np.inf)
    span = hi - lo
    out = np.where(span > 0, (s - lo) / np.where(span > 0, span, 1.0), 1.0)
    return np.where(ok, out, 0.0).astype(np.float32)
