# SPDX-License-Identifier: Apache-2.0
"""Items that look like non-products (postage, fees, deposits), listed after an import for the operator.

Nothing is excluded here: the operator reads the list and, where it is right, adds the ids
(or a pattern, a category, the price rule) to the `non_product_*` settings, which training
turns into the model's recommendable mask (`homerec.models.item_rule`).

An item is suspected when

- most customers bought it (``> MOST`` of the users with events) and it is in most orders
  (``> MOST`` of all orders): a line every order carries, like a delivery charge; an order is
  one customer's events with the same order id when the data has an ``order_id`` column,
  else with the same timestamp;
- or its id looks like a charge (`ID_HINT`, e.g. ``SHIPPING``, ``FEE-10``, ``POSTAGE``).
"""

import re
from dataclasses import dataclass

import polars as pl

from homerec.data.schema import Col

MOST = 0.5
ORDER_ID = "order_id"
"""The optional interactions column naming an order (several lines bought together)."""
ID_HINT = re.compile(
    r"(?i)(?<![a-z])(ship(ping)?|freight|postage|delivery|carriage|fee|surcharge|charge|handling|discount|"
    r"coupon|voucher|rebate|deposit|sample|pallet)(?![a-z])"
)
"""Words in an item id that usually name a charge or a free line rather than a product."""


@dataclass(frozen=True)
class Suspect:
    """One suspected non-product and why."""

    item_id: str
    customers_share: float
    orders_share: float
    reasons: tuple[str, ...]


def suspected_non_products(frame: pl.DataFrame, limit: int = 50) -> list[Suspect]:
    """Suspected non-products among the items of an interactions frame, most widespread first.

    Args:
        frame: interactions with ``user_id``, ``item_id``, ``ts`` (and optionally ``order_id``).
        limit: the longest list returned.
    """
    if frame.height == 0:
        return []
    has_orders = ORDER_ID in frame.columns and frame[ORDER_ID].null_count() < frame.height
    order_key = [Col.user_id, ORDER_ID] if has_orders else [Col.user_id, Col.ts]
    lines = frame.select(pl.col(Col.user_id).cast(pl.String), pl.col(Col.item_id).cast(pl.String),
                         *(pl.col(c) for c in order_key[1:]))
    n_users = lines[Col.user_id].n_unique()
    n_orders = lines.select(order_key).n_unique()
    per_item = lines.group_by(Col.item_id).agg(
        pl.col(Col.user_id).n_unique().alias("customers"),
        pl.struct(order_key).n_unique().alias("orders"),
    )
    out = []
    for item, customers, orders in per_item.iter_rows():
        c_share, o_share = customers / n_users, orders / n_orders
        reasons = []
        if c_share > MOST and o_share > MOST:
            reasons.append(f"bought by {c_share:.0%} of customers, in {o_share:.0%} of orders")
        if ID_HINT.search(item):
            reasons.append(f"its id {item!r} reads like a charge or a free line")
        if reasons:
            out.append(Suspect(item, c_share, o_share, tuple(reasons)))
    out.sort(key=lambda s: (-s.orders_share, s.item_id))
    return out[:limit]
