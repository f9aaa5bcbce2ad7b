# SPDX-License-Identifier: Apache-2.0
"""Shown-but-not-chosen counts from reported impressions."""

import polars as pl

from homerec.data.ids import IdMap
from homerec.data.impressions import shown_not_chosen


def test_items_shown_and_never_chosen_are_counted():
    impressions = pl.DataFrame(
        [("e1", "u10", 1, "i11", True), ("e1", "u10", 1, "i12", False), ("e1", "u10", 1, "i13", False),
         ("e2", "u10", 2, "i12", False), ("e2", "u10", 2, "i14", False), ("e3", "u20", 3, "i12", False),
         ("e4", "u99", 4, "i12", False)],
        schema=["event_id", "user_id", "ts", "item_id", "chosen"], orient="row")
    interactions = pl.DataFrame({"user_id": ["u10"], "item_id": ["i14"]})  # bought later: not a negative
    users, items = IdMap.from_ids(["u10", "u20"], "user"), IdMap.from_ids(["i11", "i12", "i13", "i14"], "item")
    m = shown_not_chosen(impressions, interactions, users, items).toarray()
    assert m.tolist() == [[0, 2, 1, 0], [0, 1, 0, 0]]
