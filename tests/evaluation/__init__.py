# SPDX-License-Identifier: Apache-2.0
"""Evaluation tests; helpers that build small synthetic interactions with string ids."""

import numpy as np
import polars as pl

from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions

DAY = 86_400
T0 = 1_700_000_000


def make_data(rows: list[tuple[str, str, int]], catalog: list[str] | None = None) -> Interactions:
    """Interactions from (user_id, item_id, ts) rows, over an optional item catalog."""
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "ts"], orient="row")
    return Interactions.from_frame(frame, items=IdMap(catalog, "item") if catalog else None)


def random_data(n_users: int = 40, n_items: int = 25, n_events: int = 600, seed: int = 0) -> Interactions:
    """Random events over 100 days; item popularity is skewed so popularity is a fair baseline."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1)
    users = rng.integers(0, n_users, n_events)
    items = rng.choice(n_items, n_events, p=p / p.sum())
    ts = T0 + rng.integers(0, 100 * DAY, n_events)
    return make_data([(f"u{u + 10}", f"i{i + 11}", int(t)) for u, i, t in zip(users, items, ts)])

