# SPDX-License-Identifier: Apache-2.0
"""Write a seeded synthetic B2B-distributor dataset in the AWS Personalize CSV layout."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from homerec.data.schema import (
    DEFAULT_EVENT_TYPE,
    EVENT_TYPE,
    EVENT_VALUE,
    ITEM_ID,
    ORDER_ID,
    QUANTITY,
    TIMESTAMP,
    USER_ID,
)
from homerec.errors import ConfigError
from homerec.synth.activity import Orders, build_orders, explore_lines, plan_activity
from homerec.synth.catalog import make_catalog
from homerec.synth.choice import sample_items
from homerec.synth.population import REGION_NAMES, SEGMENT_NAMES, Population, draw_tastes, draw_users
from homerec.synth.reorders import ITEM_PACE_SIGMA, staple_reorders
from homerec.synth.timeline import END_TS, START_TS, month_of
from homerec.synth.vocab import SEGMENTS

USERS_AT_SCALE_1 = 180_483
ITEMS_AT_SCALE_1 = 4_182
LINES_AT_SCALE_1 = 1_970_000
MIN_ITEM_SCALE = 0.05
MERGE_ALLOWANCE = 1.19
"""Lines planned per line kept (full catalog): the same item twice in one order becomes one line,
and some staples run out of orders before their planned re-orders."""
MERGE_ALLOWANCE_SLOPE = 0.057
"""Smaller catalogs repeat items in a basket more often: allowance += slope * log(4182 / n_items)."""
SEG_UNITS = np.array([s[3] for s in SEGMENTS.values()])
USERS_FILE, ITEMS_FILE, INTERACTIONS_FILE = "users.csv", "items.csv", "interactions.csv"

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GenerateSummary:
    """What generate() wrote; start_ts and end_ts bound the window every timestamp lies in."""

    out_dir: Path
    n_users: int
    n_users_with_orders: int
    n_items: int
    n_interactions: int
    start_ts: int
    end_ts: int
    seconds: float


def _ids(prefix: str, n: int, digits: int = 6) -> pl.Series:
    """Zero-padded ids of n rows: C000001, C000002, ..."""
    numbers = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(max(digits, len(str(n))))
    return pl.select((pl.lit(prefix) + numbers).alias(USER_ID)).to_series()


def _merge(orders: Orders, order: np.ndarray, item: np.ndarray, qty: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort lines by (time, user, order, item) and merge repeats of an item within one order."""
    by = np.lexsort((item, order, orders.user[order], orders.ts[order]))
    order, item, qty = order[by], item[by], qty[by]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (order[1:] != order[:-1]) | (item[1:] != item[:-1])
    starts = np.flatnonzero(new)
    return order[starts], item[starts], np.add.reduceat(qty, starts) if len(qty) else qty


def generate(
    out_dir: str | Path, scale: float = 1.0, seed: int = 0, progress: Progress | None = None
) -> GenerateSummary:
    """Write users.csv, items.csv, interactions.csv and hidden_tastes.npz into `out_dir`.

    At scale 1.0: 180,483 customers (about 74k with orders), 4,182 items and about 1.97M
    purchase lines over 2024-01-01..2025-12-31 UTC. The same seed gives identical files.

    Args:
        out_dir: Directory to write into (created if missing; files in it are replaced).
        scale: Multiplies customers and lines; the catalog is 4,182 * max(scale, 0.05) items, at least 200.
        seed: Seed of every random draw.
        progress: Called with (stage name, fraction done in [0, 1]) as the stages start.

    Returns:
        Counts, the time window and the seconds it took.

    Raises:
        ConfigError: scale is not positive.
    """
    if not scale > 0:
        raise ConfigError(f"scale must be positive, got {scale}")
    t0 = time.perf_counter()
    say = progress or (lambda stage, frac: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = np.random.SeedSequence(seed).spawn(10)
    rng = [np.random.default_rng(s) for s in seeds[:7]]

    say("catalog", 0.0)
    catalog = make_catalog(rng[0], max(200, round(ITEMS_AT_SCALE_1 * max(scale, MIN_ITEM_SCALE))))
    n_users = max(10, round(USERS_AT_SCALE_1 * scale))
    segment, region = draw_users(rng[1], n_users)
    allowance = MERGE_ALLOWANCE + MERGE_ALLOWANCE_SLOPE * max(0.0, np.log(ITEMS_AT_SCALE_1 / catalog.n_items))
    plan = plan_activity(rng[2], segment, round(LINES_AT_SCALE_1 * scale * allowance))
    order = np.argsort(plan.signup_ts, kind="stable")  # customer numbers follow sign-up order
    plan, segment, region = plan.permuted(order), segment[order], region[order]
    user_ids = _ids("C", n_users)

    say("tastes", 0.1)
    user_vec, user_cat = draw_tastes(rng[3], catalog, segment, region)
    pop = Population(
        user_ids=user_ids.to_numpy().astype(str), item_ids=catalog.item_ids, user_vec=user_vec, user_cat=user_cat,
        item_vec=catalog.vec, item_cat=catalog.category, item_logpop=catalog.logpop,
    )

    say("orders", 0.2)
    orders = build_orders(rng[4], plan)
    rate = rng[5].beta(5.5, 3.5, n_users)
    explore_order, wanted = explore_lines(rng[5], plan, orders, rate)
    say("items", 0.3)
    explore_user = orders.user[explore_order]
    explored = sample_items(pop, explore_user, month_of(orders.ts[explore_order]), seeds[7])

    say("re-orders", 0.7)
    extra = [np.random.default_rng(s) for s in seeds[8:]]
    item_pace = extra[0].lognormal(0.0, ITEM_PACE_SIGMA, catalog.n_items) * (catalog.price / np.median(catalog.price)) ** 0.3
    source, repeat_order = staple_reorders(extra[0], orders, explore_order, item_pace[explored], wanted)

    say("quantities", 0.8)
    lam = SEG_UNITS[segment[explore_user]] * np.clip(np.sqrt(15.0 / catalog.price[explored]), 0.3, 3.0)
    lam *= rng[6].lognormal(0.0, 0.4, n_users)[explore_user]
    explore_qty = 1 + rng[6].poisson(lam)
    repeat_qty = np.maximum(1, np.round(explore_qty[source] * extra[1].lognormal(0.0, 0.15, len(source))))
    order, item, qty = _merge(
        orders, np.concatenate([explore_order, repeat_order]), np.concatenate([explored, explored[source]]),
        np.concatenate([explore_qty, repeat_qty.astype(explore_qty.dtype)]),
    )
    user, ts = orders.user[order], orders.ts[order]
    number = np.empty(len(orders.ts), dtype=np.int64)
    number[np.lexsort((orders.user, orders.ts))] = np.arange(len(orders.ts))

    say("writing", 0.85)
    pl.DataFrame(
        {
            USER_ID: user_ids,
            "SEGMENT": np.array(SEGMENT_NAMES)[segment],
            "REGION": np.array(REGION_NAMES)[region],
            "SIGNUP_TS": plan.signup_ts,
        }
    ).write_csv(out / USERS_FILE)
    catalog.frame().write_csv(out / ITEMS_FILE, float_precision=2)
    pl.DataFrame(
        {
            USER_ID: user_ids.gather(user),
            ITEM_ID: pl.Series(catalog.item_ids).gather(item),
            TIMESTAMP: ts,
            EVENT_TYPE: pl.repeat(DEFAULT_EVENT_TYPE, len(ts), eager=True),
            EVENT_VALUE: np.round(catalog.price[item] * qty, 2),
            ORDER_ID: _ids("O", len(orders.ts), digits=8).gather(number[order]),
            QUANTITY: qty,
        }
    ).write_csv(out / INTERACTIONS_FILE, float_precision=2)
    pop.save(out)
    say("done", 1.0)
    return GenerateSummary(
        out_dir=out,
        n_users=n_users,
        n_users_with_orders=int(np.count_nonzero(plan.n_lines)),
        n_items=catalog.n_items,
        n_interactions=len(ts),
        start_ts=START_TS,
        end_ts=END_TS,
        seconds=time.perf_counter() - t0,
    )
