# SPDX-License-Identifier: Apache-2.0
"""`Items.X IN (CurrentUser.Y)`: the requesting user's own values (an entitled assortment)."""

import polars as pl
import pytest

from homerec.filters import FilterData, FilterError, bind, evaluate, fields_of, parse

ITEMS = pl.DataFrame({"item_id": ["a", "b", "c", "d"], "ASSORTMENT": ["x", "y|x", "z", "ALL"]})


def data(user):
    return FilterData(items=lambda: ITEMS, history=lambda: pl.DataFrame(), user=lambda: user)


def kept(text: str, user) -> list[str]:
    selection = evaluate(bind(parse(text)), data(user))
    return [i for i in ITEMS["item_id"].to_list() if selection.keeps(i)]


def test_items_in_the_users_assortment():
    text = 'INCLUDE ItemID WHERE Items.ASSORTMENT IN (CurrentUser.ASSORTMENT, "ALL")'
    assert kept(text, {"user_id": "u", "assortment": "x|q"}) == ["a", "b", "d"]
    assert kept(text, {"user_id": "u", "ASSORTMENT": "z"}) == ["c", "d"]
    assert kept(text, None) == ["d"]  # an unknown user, or one without the field, is entitled to none
    assert kept(text, {"user_id": "u"}) == ["d"]
    assert kept("EXCLUDE ItemID WHERE Items.ASSORTMENT IN (Users.ASSORTMENT)", {"ASSORTMENT": "x"}) == ["c", "d"]
    assert fields_of(bind(parse(text))) == {("ITEMS", "ASSORTMENT"), ("USERS", "ASSORTMENT")}


@pytest.mark.parametrize("text", [
    'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (CurrentUser.TYPE)',
    "INCLUDE ItemID WHERE Items.PRICE <= CurrentUser.BUDGET",
    "INCLUDE ItemID WHERE Items.X IN (Items.Y)",
])
def test_user_values_only_where_they_make_sense(text):
    with pytest.raises(FilterError):
        parse(text)
