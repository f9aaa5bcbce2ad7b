# SPDX-License-Identifier: Apache-2.0
"""Interactions: order ids and quantities kept, baskets by order id or by timestamp."""

import numpy as np
import polars as pl

from homerec.data.interactions import Interactions
from homerec.data.schema import Col


def _frame(**extra) -> pl.DataFrame:
    base = {Col.user_id: ["u1", "u1", "u1", "u2", "u1"], Col.item_id: ["i1", "i2", "i3", "i1", "i4"],
            Col.ts: [100, 100, 100, 100, 200]}
    return pl.DataFrame({**base, **extra})


def test_without_order_ids_one_users_timestamp_is_a_basket():
    data = Interactions.from_frame(_frame())
    assert data.order is None and data.quantity is None
    b = data.baskets()
    assert b[0] == b[1] == b[2] and len({b[0], b[3], b[4]}) == 3


def test_order_ids_split_and_join_baskets_and_quantities_are_kept():
    data = Interactions.from_frame(_frame(order_id=["o1", "o1", "o2", "o1", None], quantity=[2.0, None, 1.5, 4.0, 1.0]))
    b = data.baskets()
    assert b[0] == b[1] != b[2]  # same user and time, two orders
    assert b[0] != b[3]  # the same order id of another user is another basket
    assert b[4] not in (b[0], b[2])  # no order id: its own timestamp
    np.testing.assert_array_equal(np.isnan(data.quantity), [False, True, False, False, False])
    kept = data.select(np.array([True, False, True, False, True]))
    assert len(kept.order) == len(kept.quantity) == 3


def test_for_users_keeps_their_events_over_another_item_map():
    from homerec.data.ids import IdMap

    data = Interactions.from_frame(_frame(order_id=["o1", "o1", "o2", "o1", None]))
    items = IdMap(["i4", "i1"], "item")  # i2 and i3 unknown to the target map
    sub = data.for_users(["u2", "nobody", "u1"], items)
    assert sub.users.ids.tolist() == ["u2", "nobody", "u1"] and sub.items is items
    assert sorted(zip(sub.user_idx.tolist(), items.to_ids(sub.item_idx))) == [(0, "i1"), (2, "i1"), (2, "i4")]
    assert len(sub.order) == len(sub) == 3
