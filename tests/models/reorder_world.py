# SPDX-License-Identifier: Apache-2.0
"""A small distributor with known rhythms, for the re-order, basket and segment models.

Users u10..u39 split in two groups. Every user re-orders two staples of their group every
`INTERVAL` days, always together in one order and in fixed quantities (`UNITS`); the phase
differs per user. Even users (group A) also try one more group-A product late in the period,
so group A has new buyers after `CUTOFF_DAY` (what a segment should find).
"""

import numpy as np
import polars as pl

from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import Col

DAY = 86_400
START = 1_700_000_000
INTERVAL = 30
DAYS = 360
CUTOFF_DAY = 300
UNITS = {"first": 40.0, "second": 12.0}
GROUP_A = [f"i{n}" for n in range(11, 16)]
GROUP_B = [f"i{n}" for n in range(16, 21)]
USERS = [f"u{n}" for n in range(10, 40)]


def staples(user: str) -> tuple[str, str]:
    """The two products a user re-orders (both from the user's group)."""
    n = int(user[1:])
    group = GROUP_A if n % 2 == 0 else GROUP_B
    return group[n % 5], group[(n + 1) % 5]


def world_frame() -> pl.DataFrame:
    """Every purchase line: user, item, ts, order id, quantity."""
    rows = []
    for user in USERS:
        n = int(user[1:])
        first, second = staples(user)
        for day in range(n % INTERVAL, DAYS, INTERVAL):
            order = f"o{user}-{day}"
            rows.append((user, first, START + day * DAY + 3600, order, UNITS["first"]))
            rows.append((user, second, START + day * DAY + 3600, order, UNITS["second"]))
        if n % 2 == 0:  # group A tries one more of its products late in the period
            trial = GROUP_A[(n + 2) % 5]  # next to its staples: bought by customers like it
            rows.append((user, trial, START + (CUTOFF_DAY + 5 + n % 20) * DAY, f"t{user}", 1.0))
    return pl.DataFrame(rows, schema=[Col.user_id, Col.item_id, Col.ts, Col.order_id, Col.quantity], orient="row")


def world() -> Interactions:
    """The world's interactions over the ten products."""
    return Interactions.from_frame(world_frame(), items=IdMap(GROUP_A + GROUP_B, "item"))


def catalog() -> pl.DataFrame:
    """Item metadata: the groups are two categories."""
    ids = GROUP_A + GROUP_B
    return pl.DataFrame({Col.item_id: ids, "CATEGORY": ["Cleaning|Gloves" if i in GROUP_A else "Beverages" for i in ids]})


def cutoff() -> int:
    """The first second of the 'future' window."""
    return START + CUTOFF_DAY * DAY


def split_world() -> tuple[Interactions, Interactions]:
    """History (before the cutoff) and future (from it) over the same maps."""
    data = world()
    return data.select(data.ts < cutoff()), data.select(data.ts >= cutoff())


def user_events(user: str, before: int) -> pl.DataFrame:
    """One user's events before `before`, as `Store.history` gives them."""
    frame = world_frame()
    return frame.filter((pl.col(Col.user_id) == user) & (pl.col(Col.ts) < before)).sort(Col.ts)


def new_buyers(future: Interactions, history: Interactions, item: str) -> np.ndarray:
    """User indices who buy `item` in `future` and never in `history`."""
    i = history.items.to_idx(item)
    before = set(history.user_idx[history.item_idx == i].tolist())
    return np.array(sorted(set(future.user_idx[future.item_idx == i].tolist()) - before), dtype=np.int64)
