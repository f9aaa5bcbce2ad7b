# SPDX-License-Identifier: Apache-2.0
"""Write a seeded synthetic B2B-distributor dataset in the AWS Personalize CSV layout."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from homerec.data.schema import DEFAULT_EVENT_TYPE, EVENT_TYPE, EVENT_VALUE, ITEM_ID, TIMESTAMP, USER_ID
from homerec.errors import ConfigError
from homerec.synth.activity import build_lines, plan_activity, reorder_sources
from homerec.synth.catalog import make_catalog
from homerec.synth.choice import sample_items
from homerec.synth.population import REGION_NAMES, SEGMENT_NAMES, Population, draw_tastes, draw_users
from homerec.synth.timeline import END_TS, START_TS, month_of
from homerec.synth.vocab import SEGMENTS

USERS_AT_SCALE_1 = 180_483
ITEMS_AT_SCALE_1 = 4_182
LINES_AT_SCALE_1 = 1_970_000
MIN_ITEM_SCALE = 0.05
MERGE_ALLOWANCE = 1.10
"""Lines drawn per line kept (full catalog): the same item twice in one basket becomes one line."""
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


def _ids(prefix: str, n: int) -> pl.Series:
    """Zero-padded ids of n rows: C000001, C000002, ..."""
    digits = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(max(6, len(str(n))))
    return pl.select((pl.lit(prefix) + digits).alias(USER_ID)).to_series()


def _merge(user, ts, item, qty) -> tuple[np.ndarray, ...]:
    """Sort lines by (ts, user, item) and merge repeats of an item within one basket."""
    order = np.lexsort((item, user, ts))
    user, ts, item, qty = user[order], ts[order], item[order], qty[order]
    new = np.ones(len(ts), dtype=bool)
    new[1:] = (ts[1:] != ts[:-1]) | (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    starts = np.flatnonzero(new)
    return user[starts], ts[starts], item[starts], np.add.reduceat(qty, starts) if len(qty) else qty


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
    seeds = np.random.SeedSequence(seed).spawn(8)
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
    lines = build_lines(rng[4], plan)
    rate = rng[5].beta(6.0, 3.0, n_users)
    src, again = reorder_sources(rng[5], lines, rate)
    explore = ~again
    say("items", 0.3)
    item = np.empty(len(lines.user), dtype=np.int32)
    item[explore] = sample_items(pop, lines.user[explore], month_of(lines.ts[explore]), seeds[7])
    item = item[src]

    say("quantities", 0.8)
    price = catalog.price[item]
    lam = SEG_UNITS[segment[lines.user]] * np.clip(np.sqrt(15.0 / price), 0.3, 3.0)
    lam *= rng[6].lognormal(0.0, 0.4, n_users)[lines.user]
    qty = 1 + rng[6].poisson(lam)
    user, ts, item, qty = _merge(lines.user, lines.ts, item, qty)

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
