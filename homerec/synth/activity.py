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
ORDER_JITTER = (0.05, 0.5)
"""Range of the per-customer standard deviation of an order's date, as a share of its order spacing."""


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
class Orders:
    """Orders sorted by (user, time): user row and timestamp; per user, its first order and order count."""

    user: np.ndarray
    ts: np.ndarray
    first: np.ndarray
    count: np.ndarray


def build_orders(rng: np.random.Generator, plan: Plan) -> Orders:
    """Spread each customer's orders (lines / basket size) over business days of its active window.

    A customer orders on its own rhythm: evenly spaced orders over its window, each moved by
    a normal jitter of ORDER_JITTER (a per-customer share of the spacing), then off weekends.
    """
    act = np.flatnonzero(plan.n_lines > 0)
    n_lines = plan.n_lines[act]
    n_orders = np.clip(np.round(n_lines / plan.basket[act]).astype(np.int64), 1, n_lines)
    order_user = np.repeat(act, n_orders)
    f, l_ = np.repeat(plan.first_day[act], n_orders), np.repeat(plan.last_day[act], n_orders)
    spacing = (l_ - f + 1) / np.repeat(n_orders, n_orders)
    k = np.arange(len(order_user)) - np.repeat(np.concatenate([[0], np.cumsum(n_orders)[:-1]]), n_orders)
    jitter = np.repeat(rng.uniform(*ORDER_JITTER, len(act)), n_orders)
    at = f + (k + np.repeat(rng.random(len(act)), n_orders)) * spacing + rng.normal(0.0, 1.0, len(k)) * jitter * spacing
    day = np.clip(np.floor(at), f, l_).astype(np.int64)
    weekday = day % 7  # 2024-01-01 was a Monday; most weekend orders move to a weekday of that week
    moved = day - weekday + rng.integers(0, 5, len(day))
    day = np.where((weekday >= 5) & (rng.random(len(day)) < 0.85) & (moved >= f) & (moved <= l_), moved, day)
    sec = np.clip(rng.normal(10.5 * 3600, 2.5 * 3600, len(day)), 5 * 3600, 21 * 3600).astype(np.int64)
    ts = START_TS + day * DAY + sec
    by_time = np.lexsort((ts, order_user))
    user, ts = order_user[by_time], ts[by_time]
    # One customer's orders are at least a second apart (their lines would otherwise be one event).
    key, pos = (user.astype(np.int64) << 40) + ts - np.arange(len(ts)), np.arange(len(ts))
    ts = np.maximum.accumulate(key) + pos - (user.astype(np.int64) << 40)
    count = np.zeros(len(plan.n_lines), dtype=np.int64)
    count[act] = n_orders
    first = np.full(len(plan.n_lines), -1, dtype=np.int64)
    first[act] = np.concatenate([[0], np.cumsum(n_orders)[:-1]])
    return Orders(user, ts, first, count)


def explore_lines(
    rng: np.random.Generator, plan: Plan, orders: Orders, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lines that pick an item afresh from the customer's tastes (the rest re-order), and re-orders wanted.

    A customer with n lines re-orders a share rate * n / (n + 4) of them (small customers
    explore more); at least one line explores, in the customer's first order. Returns the
    order of each exploring line (sorted) and the number of re-order lines per customer.
    """
    n = plan.n_lines
    share = rate * n / (n + 4.0)
    explore = np.where(n > 0, np.clip(np.round(n * (1.0 - share)), 1, np.maximum(n, 1)), 0).astype(np.int64)
    user = np.repeat(np.arange(len(n)), explore)
    pick = np.floor(rng.random(len(user)) * orders.count[user]).astype(np.int64)
    lead = np.concatenate([[0], np.cumsum(explore)[:-1]])[n > 0]
    pick[lead] = 0  # every customer starts by exploring
    return np.sort(orders.first[user] + pick), n - explore
