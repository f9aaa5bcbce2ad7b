# SPDX-License-Identifier: Apache-2.0
"""Suspected non-products: in most orders of most customers, or an id that reads like a charge."""

import polars as pl

from homerec.pipeline.suspects import suspected_non_products


def _frame(rows, with_orders=False):
    cols = ["user_id", "item_id", "ts"] + (["order_id"] if with_orders else [])
    return pl.DataFrame(rows, schema=cols, orient="row")


def test_a_line_in_every_order_and_a_fee_like_id_are_suspected():
    rows = []
    for u in range(10):
        for order in range(3):
            rows += [(f"c{u}", f"p{u + order}", 100 * order), (f"c{u}", "DLV", 100 * order)]
    rows.append(("c0", "late-fee", 999))
    found = {s.item_id: s for s in suspected_non_products(_frame(rows))}
    assert set(found) == {"DLV", "late-fee"}
    assert found["DLV"].customers_share == 1.0 and found["DLV"].orders_share > 0.9
    assert "reads like a charge" in found["late-fee"].reasons[0]
    assert suspected_non_products(_frame([])) == []


def test_orders_come_from_the_order_id_when_there_is_one():
    # each customer: two orders at the same second; 'BAG' is in one of the two
    rows = [(f"c{u}", "BAG", 5, f"o{u}a") for u in range(6)]
    rows += [(f"c{u}", f"p{u}", 5, f"o{u}b") for u in range(6)]
    no_ids = _frame([r[:3] for r in rows])
    assert [s.item_id for s in suspected_non_products(no_ids)] == ["BAG"]  # one order by timestamp
    assert suspected_non_products(_frame(rows, with_orders=True)) == []  # in half the orders: not most
