# SPDX-License-Identifier: Apache-2.0
"""Generated exposure and event logs with a known effect per variant."""

from collections.abc import Mapping

import numpy as np
import polars as pl

T0 = 1_700_000_000
DAY = 86_400
N_ITEMS = 500


def exposure_frame(rows: list[tuple]) -> pl.DataFrame:
    """Exposures from ``(recommendation_id, variant, user_id, items, ts, served)`` tuples (experiment "exp")."""
    return pl.DataFrame(
        [(r, "exp", v, u, items, ts, served) for r, v, u, items, ts, served in rows],
        schema={"recommendation_id": pl.String, "experiment": pl.String, "variant": pl.String,
                "user_id": pl.String, "items": pl.List(pl.String), "ts": pl.Int64, "served": pl.Boolean},
        orient="row",
    )


def event_frame(rows: list[tuple]) -> pl.DataFrame:
    """Events from ``(event_id, user_id, item_id, ts, event_type, event_value, recommendation_id)`` tuples."""
    return pl.DataFrame(
        rows,
        schema={"event_id": pl.String, "user_id": pl.String, "item_id": pl.String, "ts": pl.Int64,
                "event_type": pl.String, "event_value": pl.Float64, "recommendation_id": pl.String},
        orient="row",
    )


def simulate(variants: Mapping[str, tuple[float, float, float]], n_users: int = 20_000, *,
             split: Mapping[str, float] | None = None, shadow: bool = False, seed: int = 0,
             ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Exposure and event logs of experiment "exp".

    Args:
        variants: variant -> (CTR per exposure, conversion per user, mean order value).
        n_users: users in the experiment; each sees 1 + Poisson(1) exposures of 5 items over 14 days.
        split: the probability of each variant in assignment (default equal).
        shadow: shadow mode: everyone is served the first variant (control); the exposures of
            users assigned another variant are also logged unserved (shadow) in their variant.
        seed: numpy seed.

    Half of the clicks echo the recommendation id, the other half must be found by the window.
    Each variant's purchases land 0-7 days after the user's first exposure; 5% of users also bought
    something an hour before it, and a few outside users click and buy too (all of which must not
    count).
    """
    rng = np.random.default_rng(seed)
    names = list(variants)
    p = np.array([(split or {}).get(v, 1.0 / len(names)) for v in names])
    ctr, conv, value = (np.array([variants[v][i] for v in names]) for i in range(3))
    user_v = rng.choice(len(names), n_users, p=p / p.sum())
    shown_v = np.zeros_like(user_v) if shadow else user_v
    n_exp = 1 + rng.poisson(1.0, n_users)
    exp_user = np.repeat(np.arange(n_users), n_exp)
    exp_v = shown_v[exp_user]
    n = len(exp_user)
    exp_ts = T0 + rng.integers(0, 14 * DAY, n)
    items = rng.integers(0, N_ITEMS, (n, 5))
    rec_ids = np.char.add("r", np.arange(n).astype(str))
    users = np.char.add("u", np.arange(n_users).astype(str))
    item_ids = np.char.add("i", items.astype(str))
    exposures = pl.DataFrame({
        "recommendation_id": rec_ids, "experiment": "exp", "variant": np.array(names)[exp_v],
        "user_id": users[exp_user], "items": pl.Series(item_ids).cast(pl.List(pl.String)), "ts": exp_ts,
        "served": True,
    }, schema_overrides={"ts": pl.Int64})
    if shadow:
        hidden = user_v[exp_user] != 0
        exposures = pl.concat([exposures, exposures.filter(hidden).with_columns(
            recommendation_id=pl.lit("s") + pl.col("recommendation_id"), served=pl.lit(False),
            variant=pl.Series(np.array(names)[user_v[exp_user][hidden]]))])

    clicked = np.flatnonzero(rng.random(n) < ctr[exp_v])
    echo = rng.random(len(clicked)) < 0.5
    clicks = pl.DataFrame({
        "user_id": users[exp_user[clicked]],
        "item_id": item_ids[clicked, rng.integers(0, 5, len(clicked))],
        "ts": exp_ts[clicked] + rng.integers(1, 3600, len(clicked)), "event_type": "click",
        "event_value": None, "recommendation_id": pl.Series(rec_ids[clicked], dtype=pl.String).scatter(np.flatnonzero(~echo), None),
    })
    first = np.full(n_users, np.iinfo(np.int64).max)
    np.minimum.at(first, exp_user, exp_ts)
    buyers = np.flatnonzero(rng.random(n_users) < conv[shown_v])
    before = np.flatnonzero(rng.random(n_users) < 0.05)
    outsiders = np.char.add("x", np.arange(200).astype(str))
    buys = pl.DataFrame({
        "user_id": np.concatenate([users[buyers], users[before], outsiders]),
        "item_id": np.char.add("i", rng.integers(0, N_ITEMS, len(buyers) + len(before) + 200).astype(str)),
        "ts": np.concatenate([first[buyers] + rng.integers(0, 7 * DAY, len(buyers)), first[before] - 3600,
                              T0 + rng.integers(0, 14 * DAY, 200)]),
        "event_type": "purchase",
        "event_value": np.concatenate([rng.exponential(value[shown_v[buyers]]), np.full(len(before) + 200, 50.0)]),
        "recommendation_id": None,
    })
    views = pl.DataFrame({"user_id": users[:100], "item_id": "i1", "ts": T0 + DAY, "event_type": "view",
                          "event_value": None, "recommendation_id": None})
    schema = {"user_id": pl.String, "item_id": pl.String, "ts": pl.Int64, "event_type": pl.String,
              "event_value": pl.Float64, "recommendation_id": pl.String}
    events = pl.concat([f.cast(schema) for f in (clicks, buys, views)])
    events = events.with_columns(event_id=pl.lit("e") + pl.int_range(pl.len()).cast(pl.String))
    return exposures, events
