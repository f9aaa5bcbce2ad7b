# SPDX-License-Identifier: Apache-2.0
"""Re-orders on each customer's own rhythm: staple products bought again every so many days.

Most exploring lines (`STAPLE_SHARE`) start a staple: the customer buys that product again
and again, each time `interval * jitter` days after the last purchase, in the first order
they place on or after that day, until they drop it (a lifetime of `LIFETIME_DAYS` on
average) or stop ordering. A staple's interval is the product's own pace (cheap consumables
sooner) times an individual factor, scaled per customer so that their re-orders add up to
the number of re-order lines their plan asks for; its jitter is a log-normal of the
customer's regularity (`JITTER_SIGMA`). Every chain of purchases is walked step by step for
all staples at once, so the whole reference workload takes a fraction of a second.
"""

import numpy as np

from homerec.synth.activity import Orders
from homerec.synth.timeline import DAY, START_TS

STAPLE_SHARE = 0.7
LIFETIME_DAYS = 540.0
JITTER_SIGMA = (0.1, 0.4)
"""Range of each customer's log-normal shape of the gap around a staple's interval."""
ITEM_PACE_SIGMA = 0.5
PERSONAL_PACE_SIGMA = 0.4


def _scales(user: np.ndarray, span: np.ndarray, pace: np.ndarray, gap: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per customer c such that sum over its staples of span / (c * pace + gap / 2) = wanted (bisection in log c).

    `span / (interval + gap / 2)` approximates a staple's purchases: one per interval, plus on
    average half the spacing of the customer's orders before the next order comes.
    """
    lo, hi = np.full(len(wanted), np.log(1e-3)), np.full(len(wanted), np.log(1e4))
    for _ in range(40):
        mid = (lo + hi) / 2.0
        expected = np.bincount(user, weights=span / (np.exp(mid)[user] * pace + gap[user] / 2.0), minlength=len(wanted))
        more = expected > wanted
        lo, hi = np.where(more, mid, lo), np.where(more, hi, mid)
    return np.exp((lo + hi) / 2.0)


def _walk(rng: np.random.Generator, orders: Orders, user: np.ndarray, start: np.ndarray, interval: np.ndarray,
          sigma: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every purchase of every staple chain: (chain, order) pairs, in chain-step order."""
    key = (orders.user.astype(np.int64) << 32) + (orders.ts - START_TS)
    chains, placed = [], []
    alive, now = np.flatnonzero(end > start), start.copy()
    while len(alive):
        s = sigma[alive]
        due = now[alive] + (interval[alive] * DAY * rng.lognormal(-s * s / 2.0, s)).astype(np.int64)
        due = np.maximum(due, now[alive] + 1)  # never the same order again
        pos = np.minimum(np.searchsorted(key, (user[alive] << 32) + (due - START_TS)), len(key) - 1)
        ok = (orders.user[pos] == user[alive]) & (orders.ts[pos] >= due) & (orders.ts[pos] <= end[alive])
        alive, pos = alive[ok], pos[ok]
        chains.append(alive)
        placed.append(pos)
        now[alive] = orders.ts[pos]
    return np.concatenate(chains), np.concatenate(placed)


def staple_reorders(
    rng: np.random.Generator, orders: Orders, explore_order: np.ndarray, item_pace: np.ndarray,
    wanted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-order lines: for each, the exploring line whose product it buys again and the order it is in.

    Args:
        orders: every order, sorted by (user, time).
        explore_order: the order of each exploring line.
        item_pace: per exploring line, its product's relative interval (its pace).
        wanted: re-order lines per customer.
    """
    n_users = len(wanted)
    user = orders.user[explore_order].astype(np.int64)
    start = orders.ts[explore_order]
    staple = rng.random(len(user)) < STAPLE_SHARE
    first_line = np.ones(len(user), dtype=bool)
    first_line[1:] = user[1:] != user[:-1]
    staple |= first_line & (wanted[user] > 0)  # a customer who re-orders has at least one staple
    staple &= wanted[user] > 0
    has = orders.count > 0
    last = np.zeros(n_users, dtype=np.int64)
    first = np.zeros(n_users, dtype=np.int64)
    last[has] = orders.ts[orders.first[has] + orders.count[has] - 1]
    first[has] = orders.ts[orders.first[has]]
    gap = np.maximum((last - first) / DAY / np.maximum(orders.count - 1, 1), 0.5)
    lifetime = rng.exponential(LIFETIME_DAYS * DAY, len(user)).astype(np.int64)
    end = np.minimum(start + lifetime, last[user])
    pace = item_pace * rng.lognormal(0.0, PERSONAL_PACE_SIGMA, len(user))
    regularity = rng.uniform(*JITTER_SIGMA, n_users)
    s = np.flatnonzero(staple)
    scale = _scales(user[s], np.maximum(end[s] - start[s], 0) / DAY, pace[s], gap, wanted.astype(np.float64))
    chain, order = _walk(rng, orders, user[s], start[s], scale[user[s]] * pace[s], regularity[user[s]], end[s])
    return s[chain], order
