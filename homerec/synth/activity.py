# SPDX-License-Identifier: Apache-2.0
"""Who orders, how much, when: activity levels, active windows, baskets and re-orders."""

from dataclasses import dataclass

import numpy as np

from homerec.synth.timeline import DAY, N_DAYS, START_TS
from homerec.synth.vocab import SEGMENTS

ACTIVE_SHARE = 0.41
"""Share of customers with at least one order."""
WHALE_SHARES = (0.0205, 0.006, 0.004, 0.003, 0.0025, 0.002)
"""Share of all lines of the few largest customers (one giant, a few with thousands)."""
ACTIVITY_SIGMA = 1.45
SEG_ACTIVITY = np.array([s[1] for s in SEGMENTS.values()])
SEG_BASKET = np.array([s[2] for s in SEGMENTS.values()])
SIX_YEARS = 6 * 365 * DAY


@dataclass(frozen=True)
class Plan:
    """Per customer: number of order lines (0: no orders), active days and mean basket size."""

    n_lines: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    basket: np.ndarray
    signup_ts: np.ndarray

    def permuted(self, order: np.ndarray) -> "Plan":
        """The same plan with customers reordered."""
        return Plan(*(getattr(self, f)[order] for f in self.__dataclass_fields__))


def plan_activity(rng: np.random.Generator, segment: np.ndarray, total_lines: int) -> Plan:
    """Heavy-tailed line counts summing to about `total_lines`, windows, baskets and sign-up times."""
    n = len(segment)
    n_act = int(np.clip(round(n * ACTIVE_SHARE), 1, n))
    act = np.sort(rng.permutation(n)[:n_act])
    x = rng.lognormal(0.0, ACTIVITY_SIGMA, n_act) * SEG_ACTIVITY[segment[act]]
    n_whales = min(len(WHALE_SHARES), n_act // 20)
    whales = np.argsort(-x, kind="stable")[:n_whales]
    whale_lines = np.round(np.array(WHALE_SHARES[:n_whales]) * total_lines)
    body = np.ones(n_act, dtype=bool)
    body[whales] = False
    scale = max(total_lines - whale_lines.sum() - 0.5 * body.sum(), 0.0) / max(x[body].sum(), 1e-9)
    lines = np.zeros(n_act, dtype=np.int64)
    lines[body] = 1 + np.floor(x[body] * scale).astype(np.int64)
    lines[whales] = np.maximum(whale_lines.astype(np.int64), 1)

    heavy = lines >= 150
    established = heavy | (rng.random(n_act) < 0.65)
    first = np.where(established, rng.integers(0, 30, n_act), rng.integers(0, N_DAYS, n_act))
    retained = heavy | (rng.random(n_act) < 0.6)
    last = np.where(
        retained,
        N_DAYS - 1 - rng.integers(0, 20, n_act),
        first + np.floor((N_DAYS - 1 - first) * rng.random(n_act)).astype(np.int64),
    )
    last = np.maximum(last, first)
    basket = 1.0 + rng.lognormal(np.log(1.8), 0.5, n_act) * SEG_BASKET[segment[act]] * (1 + 0.35 * np.log10(1 + lines))

    gap = np.where(established, rng.integers(0, SIX_YEARS, n_act), rng.exponential(20 * DAY, n_act).astype(np.int64))
    signup = START_TS - SIX_YEARS + rng.integers(0, SIX_YEARS + N_DAYS * DAY, n).astype(np.int64)
    signup[act] = START_TS + first * DAY - gap

    def full(values: np.ndarray, fill) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype)
        out[act] = values
        return out

    return Plan(full(lines, 0), full(first, 0), full(last, 0), full(basket, 1.0), signup)


@dataclass(frozen=True)
class Lines:
    """Order lines sorted by (user, time): user row, timestamp and where its order and user start."""

    user: np.ndarray
    ts: np.ndarray
    order_start: np.ndarray
    user_start: np.ndarray


def _starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Index of the first element of each element's run of equal keys."""
    idx = np.arange(len(sorted_keys))
    change = np.ones(len(sorted_keys), dtype=bool)
    change[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return np.maximum.accumulate(np.where(change, idx, 0))


def build_lines(rng: np.random.Generator, plan: Plan) -> Lines:
    """Spread each customer's lines over baskets on business days within its active window."""
    act = np.flatnonzero(plan.n_lines > 0)
    n_lines = plan.n_lines[act]
    n_orders = np.clip(np.round(n_lines / plan.basket[act]).astype(np.int64), 1, n_lines)
    order_user = np.repeat(act, n_orders)
    offsets = np.concatenate([[0], np.cumsum(n_orders)[:-1]])
    f, l_ = np.repeat(plan.first_day[act], n_orders), np.repeat(plan.last_day[act], n_orders)
    day = f + np.floor(rng.random(len(order_user)) * (l_ - f + 1)).astype(np.int64)
    weekday = day % 7  # 2024-01-01 was a Monday; most weekend orders move to a weekday of that week
    moved = day - weekday + rng.integers(0, 5, len(day))
    day = np.where((weekday >= 5) & (rng.random(len(day)) < 0.85) & (moved >= f) & (moved <= l_), moved, day)
    sec = np.clip(rng.normal(10.5 * 3600, 2.5 * 3600, len(day)), 5 * 3600, 21 * 3600).astype(np.int64)
    ts = START_TS + day * DAY + sec
    by_time = np.lexsort((ts, order_user))
    order_ts = ts[by_time]

    pick = np.floor(rng.random(int(n_lines.sum())) * np.repeat(n_orders, n_lines)).astype(np.int64)
    line_order = np.sort(np.repeat(offsets, n_lines) + pick)
    user = np.repeat(act, n_lines)  # order_user is sorted, so lines stay grouped by user
    return Lines(user, order_ts[line_order], _starts(line_order), _starts(user))


def reorder_sources(rng: np.random.Generator, lines: Lines, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each line, the line whose item it repeats (itself for exploring lines), and the re-order flags.

    A line of a customer with h earlier lines re-buys with probability rate[user] * h / (h + 2),
    copying a line of an earlier order chosen with a mild preference for recent ones.
    """
    n = len(lines.user)
    h = lines.order_start - lines.user_start
    again = rng.random(n) < rate[lines.user] * h / (h + 2.0)
    pick = lines.user_start + np.floor(h * rng.random(n) ** 0.7).astype(np.int64)
    src = np.where(again, pick, np.arange(n))
    while True:  # pointer jumping: every re-order ends at an exploring line
        nxt = src[src]
        if np.array_equal(nxt, src):
            return src, again
        src = nxt
