# SPDX-License-Identifier: Apache-2.0
"""Evaluating bound filters over item metadata, a user's events and the user's row."""

import polars as pl
import pytest

from homerec.filters import FilterData, FilterError, bind, evaluate, parse, select

NOT_BOUGHT = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
BY_CATEGORY = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)"


# -- parser ------------------------------------------------------------------------------------

ITEMS = pl.DataFrame({
    "item_id": ["a", "b", "c", "d"],
    "CATEGORY": ["Shoes|Boots", "Boots", "Hats", None],
    "PRICE": ["10", "25.5", "40", "x"],
})
HISTORY = pl.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "c", "d"], "ts": [1, 2, 3],
                        "event_type": ["Purchase", "click", "view"], "event_value": [1.0, 2.0, 9.0]})


def data(user: dict | None = None, history: pl.DataFrame = HISTORY) -> FilterData:
    return FilterData(items=lambda: ITEMS, history=lambda: history, user=lambda: user)


@pytest.mark.parametrize("text, values, allowed, banned", [
    ('INCLUDE ItemID WHERE Items.category IN ("Boots")', {}, {"a", "b"}, set()),  # multi-valued, any value
    ('INCLUDE ItemID WHERE Items.CATEGORY NOT IN ("Boots")', {}, {"c", "d"}, set()),
    ("INCLUDE ItemID WHERE Items.CATEGORY IN ($C)", {"C": '"Hats","Shoes"'}, {"a", "c"}, set()),
    ("INCLUDE ItemID WHERE Items.PRICE <= $P", {"P": "25.5"}, {"a", "b"}, set()),
    ("INCLUDE ItemID WHERE Items.PRICE > 10 AND Items.CATEGORY IN (\"Boots\")", {}, {"b"}, set()),
    ("INCLUDE ItemID WHERE Items.PRICE = 40 OR Items.CATEGORY IN (\"Shoes\")", {}, {"a", "c"}, set()),
    ('EXCLUDE ItemID WHERE Items.CATEGORY IN ("Hats")', {}, None, {"c"}),
    (NOT_BOUGHT, {}, None, {"a"}),  # event types match case-insensitively
    ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', {}, None, {"a", "c", "d"}),
    ("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"view\", \"click\") AND Interactions.EVENT_VALUE > 5",
     {}, None, {"d"}),
    # | : includes unioned, excludes unioned, (∪ includes) − (∪ excludes) in any order
    (NOT_BOUGHT + ' | INCLUDE ItemID WHERE Items.CATEGORY IN ("Boots") | INCLUDE ItemID WHERE Items.PRICE > 30',
     {}, {"a", "b", "c"}, {"a"}),
])
def test_evaluate_items_and_interactions(text, values, allowed, banned):
    sel = select(text, values, data())
    assert (set(sel.allowed) if sel.allowed is not None else None) == allowed
    assert set(sel.banned) == banned
    kept = {i for i in ITEMS["item_id"] if sel.keeps(i)}
    assert kept == (allowed if allowed is not None else set(ITEMS["item_id"])) - banned
    assert sel.excluded(ITEMS["item_id"]) == set(ITEMS["item_id"]) - kept


def test_evaluate_users_conditions():
    adult_only = 'EXCLUDE ItemID WHERE Items.CATEGORY IN ("Hats") IF CurrentUser.AGE < 18'
    assert select(adult_only, {}, data({"user_id": "u", "AGE": "15"})).banned == {"c"}
    assert select(adult_only, {}, data({"user_id": "u", "AGE": "30"})).banned == set()
    assert select(adult_only, {}, data(None)).banned == set()  # unknown user: the IF does not hold
    retail = 'INCLUDE ItemID WHERE Users.segment IN ("retail")'
    assert select(retail, {}, data({"user_id": "u", "SEGMENT": "retail"})).allowed is None  # everything
    assert select(retail, {}, data({"user_id": "u", "SEGMENT": "horeca"})).allowed == frozenset()
    none = select('EXCLUDE ItemID WHERE Users.SEGMENT NOT IN ("x")', {}, data({"user_id": "u"}))
    assert not any(none.keeps(i) for i in ITEMS["item_id"])


def test_evaluate_edge_cases():
    with pytest.raises(FilterError, match="no field NOPE"):
        select('INCLUDE ItemID WHERE Items.NOPE IN ("x")', {}, data())
    empty = pl.DataFrame(schema={"item_id": pl.String, "event_type": pl.String, "event_value": pl.Float64,
                                 "ts": pl.Int64})
    assert select(NOT_BOUGHT, {}, data(history=empty)).banned == set()
    assert select('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', {}, data(history=empty)).allowed == set()
    assert evaluate(bind(parse("EXCLUDE ItemID WHERE Items.CATEGORY IN ($C)"), {}), data()).banned == set()


