# SPDX-License-Identifier: Apache-2.0
"""Purchase statistics per (user, item) pair, per user and per item, as of a moment `now`.

A purchase is an item in a basket (see `Interactions.baskets`): the lines of one item in one
order count once, with their quantities added up. From the purchases of each pair come how
often, how recently and how regularly the user buys the item, and how many units a time:
what the re-order model scores and explains.
"""

from dataclasses import dataclass

import numpy as np

from homerec.data.interactions import Interactions

DAY = 86_400.0


@dataclass(frozen=True)
class PairStats:
    """One row per (user, item) pair bought before `now`, sorted by user then item.

    Attributes:
        user, item: indices of the pair.
        count: purchases (distinct baskets holding the item).
        first_ts, last_ts: time of the first and the latest purchase.
        orders_since: the user's baskets after the latest purchase.
        orders_between: the user's baskets after the first purchase up to the latest one.
        interval_days: mean days between purchases (NaN with one purchase).
        interval_cv: coefficient of variation of those intervals (NaN with fewer than three purchases).
        decayed: (pairs, half-lives) sums of 0.5 ** (age / half-life) over the purchases.
        quantity: the usual units a purchase: the lower median of the pair's quantities, so always
            one the user ordered (NaN where the data has no quantities).
    """

    user: np.ndarray
    item: np.ndarray
    count: np.ndarray
    first_ts: np.ndarray
    last_ts: np.ndarray
    orders_since: np.ndarray
    orders_between: np.ndarray
    interval_days: np.ndarray
    interval_cv: np.ndarray
    decayed: np.ndarray
    quantity: np.ndarray

    def __len__(self) -> int:
        return len(self.user)


@dataclass(frozen=True)
class Purchases:
    """Purchases (one per basket and item) sorted by user, item and time, with their units."""

    user: np.ndarray
    item: np.ndarray
    ts: np.ndarray
    quantity: np.ndarray
    basket: np.ndarray


def purchases(data: Interactions, now: int | None = None) -> Purchases:
    """The distinct (basket, item) purchases of `data` before `now` (default: all)."""
    if now is not None:
        data = data.select(data.ts <= now)
    basket = data.baskets()
    key = basket * np.int64(max(data.n_items, 1)) + data.item_idx
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    qty = data.quantity if data.quantity is not None else np.full(len(data), np.nan, np.float32)
    units = np.bincount(inverse, weights=np.nan_to_num(qty, nan=0.0), minlength=len(uniq))
    known = np.bincount(inverse, weights=~np.isnan(qty), minlength=len(uniq)) > 0
    ts = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(ts, inverse, data.ts)
    user, item = data.user_idx[first].astype(np.int64), data.item_idx[first].astype(np.int64)
    order = np.lexsort((ts, item, user))
    return Purchases(user[order], item[order], ts[order],
                     np.where(known, units, np.nan).astype(np.float32)[order], basket[first][order])


def _group_starts(*keys: np.ndarray) -> np.ndarray:
    """Start positions of runs of equal key tuples in sorted arrays."""
    n = len(keys[0])
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def pair_stats(p: Purchases, now: int, half_lives_days: tuple[float, ...]) -> PairStats:
    """Per-pair statistics of sorted purchases as of `now`."""
    if len(p.user) == 0:
        empty = np.zeros(0, dtype=np.float32)
        return PairStats(p.user, p.item, empty, p.ts, p.ts, empty, empty, empty, empty,
                         np.zeros((0, len(half_lives_days)), np.float32), empty)
    starts = _group_starts(p.user, p.item)
    ends = np.append(starts[1:], len(p.user))
    count = (ends - starts).astype(np.float32)
    first_ts, last_ts = p.ts[starts], p.ts[ends - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        interval = np.where(count > 1, (last_ts - first_ts) / DAY / (count - 1), np.nan).astype(np.float32)
        gaps = np.diff(p.ts, prepend=p.ts[:1]).astype(np.float64) / DAY
        gaps[starts] = 0.0
        mean = np.nan_to_num(interval.astype(np.float64))
        var = np.maximum(np.add.reduceat(gaps**2, starts) / np.maximum(count - 1, 1) - mean**2, 0.0)
        cv = np.where(count > 2, np.sqrt(var) / np.maximum(mean, 1e-9), np.nan).astype(np.float32)
    age = np.maximum(now - p.ts, 0) / DAY
    decayed = np.stack([np.add.reduceat(np.exp2(-age / hl), starts) for hl in half_lives_days], axis=1)
    user = p.user[starts]
    baskets = np.unique((p.user << 32) + (p.ts - p.ts.min()))  # one key per (user, basket time)
    upto = lambda ts: np.searchsorted(baskets, (user << 32) + (ts - p.ts.min()), side="right")  # noqa: E731
    user_end = np.searchsorted(baskets, (user + 1) << 32)
    return PairStats(user, p.item[starts], count, first_ts, last_ts, (user_end - upto(last_ts)).astype(np.float32),
                     (upto(last_ts) - upto(first_ts)).astype(np.float32), interval, cv, decayed.astype(np.float32),
                     _lower_medians(p.quantity, starts, ends))


def _lower_medians(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lower median of each run [start, end) of `values` (NaN values ignored; NaN for a run of NaNs)."""
    if len(starts) == 0:
        return np.zeros(0, dtype=np.float32)
    group = np.repeat(np.arange(len(starts)), ends - starts)
    v = values[np.lexsort((values, group))]  # NaN sorts last inside its group
    n = np.bincount(group, weights=~np.isnan(values), minlength=len(starts)).astype(np.int64)
    return np.where(n > 0, v[starts + np.maximum(n - 1, 0) // 2], np.nan).astype(np.float32)


@dataclass(frozen=True)
class ItemStats:
    """Per item: distinct buyers, share of buyers who bought it again, and its typical interval (days)."""

    buyers: np.ndarray
    repeat_share: np.ndarray
    interval_days: np.ndarray


def item_stats(pairs: PairStats, n_items: int) -> ItemStats:
    """Item statistics from pair statistics; an item nobody re-bought takes the median of all intervals."""
    buyers = np.bincount(pairs.item, minlength=n_items).astype(np.float32)
    again = pairs.count > 1
    repeat = np.bincount(pairs.item[again], minlength=n_items) / np.maximum(buyers, 1.0)
    log_iv = np.log(np.maximum(pairs.interval_days[again], 0.5))
    overall = float(np.median(log_iv)) if len(log_iv) else np.log(30.0)
    # A log-mean per item (the median would need a sort per item), shrunk towards the overall one.
    total = np.bincount(pairs.item[again], weights=log_iv, minlength=n_items)
    n = np.bincount(pairs.item[again], minlength=n_items)
    typical = np.exp((total + 2.0 * overall) / (n + 2.0)).astype(np.float32)
    return ItemStats(buyers, repeat.astype(np.float32), typical)


@dataclass(frozen=True)
class UserStats:
    """Per user: baskets, time of the first and the last basket, and the share of purchases that were re-orders."""

    baskets: np.ndarray
    first_ts: np.ndarray
    last_ts: np.ndarray
    repeat_share: np.ndarray


def user_stats(p: Purchases, pairs: PairStats, n_users: int) -> UserStats:
    """User statistics from sorted purchases and their pair statistics."""
    n_baskets = int(p.basket.max()) + 1 if len(p.basket) else 0
    present = np.zeros(n_baskets, dtype=bool)
    present[p.basket] = True
    owner = np.zeros(n_baskets, dtype=np.int64)
    owner[p.basket] = p.user
    baskets = np.bincount(owner[present], minlength=n_users).astype(np.float32)
    last = np.zeros(n_users, dtype=np.int64)
    np.maximum.at(last, p.user, p.ts)
    first = np.full(n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, p.user, p.ts)
    n_purchases = np.bincount(p.user, minlength=n_users).astype(np.float32)
    n_pairs = np.bincount(pairs.user, minlength=n_users).astype(np.float32)
    repeat = np.where(n_purchases > 0, (n_purchases - n_pairs) / np.maximum(n_purchases, 1.0), 0.0)
    return UserStats(baskets, np.minimum(first, last), last, repeat.astype(np.float32))
