# SPDX-License-Identifier: Apache-2.0
"""A copy of the serving world with what the dashboard shows: a running experiment with exposures,
clicks and purchases, and events from the last hour."""

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from homerec.data.schema import Col
from homerec.experiments.assign import assign
from homerec.experiments.spec import Experiment, Variant
from homerec.storage import open_store
from tests.serving.conftest import copy_store

EXPERIMENT = "homepage-reranker"
PLACEMENTS = ("home", "cart")
"""The placement of each user's first and second list."""
RECENT_EVENTS = 30
"""Events written with timestamps in the last 20 minutes."""


@dataclass(frozen=True)
class Seeded:
    """The copied store and what was put in it."""

    store_url: str
    now: int
    experiment: Experiment
    users_per_variant: dict[str, int]
    exposures_per_variant: dict[str, int]
    clicked_per_variant: dict[str, int]
    recent_user: str
    """A user with events in the last hour (so a history that starts with them)."""


def seed(world: dict, target: Path, users: int = 40) -> Seeded:
    """Copy the world's store to `target` and add the experiment, its logs and recent events.

    Each of `users` users gets two served exposures of their assigned variant, the first for
    placement `home`, the second for `cart`; every third user clicks the first item of their
    first list (an event naming the recommendation id), every fifth buys it for 20.0.
    """
    url = copy_store(world, target)
    now = int(time.time())
    exp = Experiment(name=EXPERIMENT, salt="dash", mode="split", control="control", created_at=now - 7200,
                     variants=(Variant("control", "model:active", 0.5),
                               Variant("candidate", f"model:{world['version']}", 0.5)))
    user_ids = world["cached_users"][:users]
    items = world["item_ids"]
    exposures, events = [], []
    per_variant: dict[str, int] = {}
    exposed: dict[str, int] = {}
    clicked: dict[str, int] = {}
    for n, user in enumerate(user_ids):
        variant = assign(exp, user)
        per_variant[variant] = per_variant.get(variant, 0) + 1
        for j in range(2):
            rid = f"dash-{n}-{j}"
            shown = [items[(n + j + x) % len(items)] for x in range(5)]
            ts = now - 3600 + 60 * n + j
            exposures.append({Col.recommendation_id: rid, Col.experiment: EXPERIMENT, Col.variant: variant,
                              Col.user_id: user, Col.ranked: shown, Col.ts: ts, Col.served: True,
                              Col.placement: PLACEMENTS[j]})
            exposed[variant] = exposed.get(variant, 0) + 1
            if j == 0 and n % 3 == 0:
                clicked[variant] = clicked.get(variant, 0) + 1
                events.append((user, shown[0], ts + 30, "click", None, rid))
            if j == 0 and n % 5 == 0:
                events.append((user, shown[0], ts + 90, "purchase", 20.0, rid))
    recent_user = user_ids[0]
    for i in range(RECENT_EVENTS):
        events.append((recent_user if i % 3 == 0 else user_ids[i % len(user_ids)], items[i % len(items)],
                       now - 40 * i, "view" if i % 2 else "add-to-cart", None, None))
    frame = pl.DataFrame(events, schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64,
                                         Col.event_type: pl.String, Col.event_value: pl.Float64,
                                         Col.recommendation_id: pl.String}, orient="row")
    store = open_store(url)
    try:
        store.put_experiment(EXPERIMENT, exp.to_json(), exp.status)
        store.add_exposures(pl.DataFrame(exposures))
        store.add_interactions(frame)
    finally:
        store.close()
    return Seeded(url, now, exp, per_variant, exposed, clicked, recent_user)
