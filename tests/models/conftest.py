# SPDX-License-Identifier: Apache-2.0
"""Model fixtures: a two-group checkerboard with string ids that cannot pass for indices."""

import numpy as np
import polars as pl
import pytest

from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions

GROUP_A = [f"i{n}" for n in range(11, 16)]
GROUP_B = [f"i{n}" for n in range(16, 21)]
COLD_ITEM = "i21"  # group A by its metadata, never bought
USERS = [f"u{n}" for n in range(10, 40)]


def held_out(user: str) -> str:
    """The one item of its group that this user has not bought (what a model should find)."""
    n = int(user[1:])
    group = GROUP_A if n % 2 == 0 else GROUP_B
    return group[n % 5]


def checkerboard_frame() -> pl.DataFrame:
    """Each user bought every item of their group except one; later events are more recent."""
    rows = []
    day = 86400
    for n, user in enumerate(USERS):
        group = GROUP_A if int(user[1:]) % 2 == 0 else GROUP_B
        for j, item in enumerate(group):
            if item != held_out(user):
                rows.append((user, item, 1_700_000_000 + (n + j) * day, "purchase", 1.0))
    return pl.DataFrame(rows, schema=["user_id", "item_id", "ts", "event_type", "event_value"], orient="row")


def items_frame() -> pl.DataFrame:
    """Metadata that tells the groups apart (category, brand, price, text)."""
    ids = GROUP_A + GROUP_B + [COLD_ITEM]
    cat = ["Cleaning|Kitchen" if i in GROUP_A or i == COLD_ITEM else "Beverages" for i in ids]
    brand = ["Acme" if c.startswith("Cleaning") else "Fizz" for c in cat]
    price = [str(3.0 + k) if c.startswith("Cleaning") else str(30.0 + k) for k, c in enumerate(cat)]
    text = ["nitrile gloves box blue" if c.startswith("Cleaning") else "sparkling water bottle lemon" for c in cat]
    return pl.DataFrame({"item_id": ids, "CATEGORY": cat, "BRAND": brand, "PRICE": price, "DESCRIPTION": text})


@pytest.fixture
def checkerboard() -> Interactions:
    """The checkerboard interactions over a catalog that also holds the cold item."""
    catalog = IdMap(GROUP_A + GROUP_B + [COLD_ITEM], "item")
    return Interactions.from_frame(checkerboard_frame(), items=catalog)


@pytest.fixture
def item_features(checkerboard: Interactions) -> ItemFeatures:
    """Features of the checkerboard catalog."""
    return ItemFeatures.from_frame(items_frame(), checkerboard.items)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator."""
    return np.random.default_rng(0)
