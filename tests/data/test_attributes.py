# SPDX-License-Identifier: Apache-2.0
"""Item attribute expressions: both Personalize spellings, multi-valued fields, clear errors."""

import polars as pl
import pytest

from homerec.data.attributes import Condition, matching_items, parse_attributes
from homerec.errors import InputError

CATALOG = pl.DataFrame({"item_id": ["a", "b", "c", "d"], "CATEGORY": ["Cleaning|Gloves", "Gloves", None, "Food"],
                        "BRAND": ["Acme", "Zed", "Acme", 'Say "hi"']})


def test_both_spellings_parse():
    assert parse_attributes('Items.CATEGORY IN ("Gloves", "Food")') == [Condition("CATEGORY", frozenset({"Gloves", "Food"}))]
    assert parse_attributes('ITEMS.genres = "Comedy" AND ITEMS.audience = "teen"') == [
        Condition("genres", frozenset({"Comedy"})), Condition("audience", frozenset({"teen"}))]
    assert parse_attributes("items.price not in (1, 2.5)") == [Condition("price", frozenset({"1", "2.5"}), True)]


def test_matching_uses_every_value_of_a_multi_valued_field():
    assert matching_items('Items.CATEGORY IN ("Gloves")', CATALOG) == ["a", "b"]
    assert matching_items('items.category = "Gloves" AND Items.BRAND = "Acme"', CATALOG) == ["a"]
    assert matching_items('Items.CATEGORY NOT IN ("Gloves")', CATALOG) == ["c", "d"]
    assert matching_items('Items.BRAND = "Say \\"hi\\""', CATALOG) == ["d"]


@pytest.mark.parametrize("text, message", [
    ('Users.AGE = "1"', "ITEMS.<column>"),
    ('Items.CATEGORY IN ("a"', "expected \\)"),
    ("Items.CATEGORY ~ 3", "cannot read"),
    ("", "expected word"),
    ('Items.CATEGORY IN ("a") OR Items.BRAND = "b"', "expected AND"),
    ('Items.CATEGORY = Gloves', "quoted value"),
])
def test_bad_expressions_say_why(text, message):
    with pytest.raises(InputError, match=message):
        parse_attributes(text)


def test_unknown_column_lists_the_known_ones():
    with pytest.raises(InputError, match="known: CATEGORY, BRAND"):
        matching_items('Items.COLOUR = "red"', CATALOG)
