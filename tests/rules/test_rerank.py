# SPDX-License-Identifier: Apache-2.0
"""The re-ranking step on hand-made candidate lists: boosts bounded, caps honoured, rotation, pool size."""

import polars as pl
import pytest

from homerec.data.schema import Col
from homerec.filters import FilterData
from homerec.rules import RuleConfig, compile_rules, rerank
from homerec.types import Recommendation

ITEMS = pl.DataFrame({
    Col.item_id: [f"i{n}" for n in range(10)],
    "CATEGORY": ["Gloves", "Gloves", "Gloves", "Paper", "Gloves|Paper", "Paper", "Soap", "Paper", None, "Soap"],
    "BRAND": ["Zed", "Zed", "Zed", "Zed", "Zed", "Zed", "Acme", "Zed", "Acme", "Zed"],
    "MARGIN": ["0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.45"],
})


def candidates(n: int = 10) -> list[Recommendation]:
    return [Recommendation(f"i{i}", 1.0 - i / 100, 10.0 - i / 10, "hybrid") for i in range(n)]


def data(user: dict | None = None) -> FilterData:
    return FilterData(items=lambda: ITEMS, history=lambda: pl.DataFrame(), user=lambda: user)


def ids(recs: list[Recommendation]) -> list[str]:
    return [r.item_id for r in recs]


def rules(**config) -> object:
    return compile_rules("test", RuleConfig.model_validate(config))


def test_no_rules_keep_the_model_order_cut_to_k():
    assert ids(rerank(rules(), candidates(), 5, data(), {})) == ["i0", "i1", "i2", "i3", "i4"]


def test_a_boost_moves_an_item_up_by_its_positions_and_says_so():
    r = rules(boosts=[{"when": 'Items.BRAND IN ("Acme")', "positions": 2, "label": "brand Acme"}])
    got = rerank(r, candidates(), 10, data(), {})
    assert ids(got) == ["i0", "i1", "i2", "i3", "i6", "i4", "i5", "i8", "i7", "i9"]
    assert got[4].reason == "hybrid; boosted: brand Acme (+2)"
    assert got[7].reason == "hybrid; boosted: brand Acme (+1)"  # the places it moved: i6 moved ahead of it too
    assert got[5].reason == "hybrid"  # pushed down, not boosted


def test_boosts_add_up_to_max_positions_at_most():
    r = rules(max_positions=3, boosts=[{"when": 'Items.BRAND IN ("Zed")', "positions": 1, "label": "Zed"},
                                       {"when": "Items.MARGIN >= 0.3", "positions": 5, "label": "margin"}])
    got = rerank(r, candidates(), 10, data(), {})
    # i9 (Zed and high margin: 1 + 5, capped at 3) moves from 9 to 6; nothing moves more than 3 places.
    before = {f"i{n}": n for n in range(10)}
    assert all(before[rec.item_id] - pos <= 3 for pos, rec in enumerate(got))
    assert got.index(next(r for r in got if r.item_id == "i9")) == 6
    assert "boosted: Zed, margin (+3)" in got[6].reason


@pytest.mark.parametrize("up", [1, 2, 5])
def test_no_item_moves_up_more_than_its_boost(up):
    r = rules(max_positions=100, boosts=[{"when": 'Items.CATEGORY IN ("Paper")', "positions": up}])
    got = ids(rerank(r, candidates(), 10, data(), {}))
    assert sorted(got) == sorted(ids(candidates()))
    assert all(int(item[1:]) - pos <= up for pos, item in enumerate(got))


def test_the_category_cap_fills_with_the_next_best():
    got = ids(rerank(rules(category_cap=2), candidates(), 6, data(), {}))
    # i2 would be a third Gloves, i4 a third Gloves (it is Gloves|Paper); i5 is the second Paper.
    assert got == ["i0", "i1", "i3", "i5", "i6", "i8"]
    got = ids(rerank(rules(category_cap=1), candidates(), 4, data(), {}))
    assert got == ["i0", "i3", "i6", "i8"]  # uncategorised i8 is never capped


def test_the_cap_column_is_configurable():
    got = ids(rerank(rules(category_cap=1, category_column="brand"), candidates(), 5, data(), {}))
    assert got == ["i0", "i6"]  # one Zed, one Acme: the rest are over the cap, and the list is shorter


def test_rotation_sinks_items_shown_often_without_a_click():
    r = rules(rotation={"shown": 3, "days": 7})
    got = rerank(r, candidates(), 10, data(), {"i0": 3, "i1": 2, "i2": 7})
    assert ids(got) == ["i1", "i3", "i4", "i5", "i6", "i7", "i8", "i9", "i0", "i2"]
    assert got[-1].reason == "hybrid; rotated: shown 7 times without a click"
    assert ids(rerank(r, candidates(), 3, data(), {"i0": 3})) == ["i1", "i2", "i3"]


def test_rules_ask_for_more_candidates_than_k():
    assert rules().pool(10) == 50 and rules(candidates=2).pool(10) == 20
    assert rules(candidates=50).pool(100) == 500 and rules().pool(600) == 600
