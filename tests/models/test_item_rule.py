# SPDX-License-Identifier: Apache-2.0
"""Non-products: the rule, and a model trained with it never recommends them (lists, fallback, similar, new items)."""

import numpy as np
import polars as pl
import pytest

from homerec.errors import ConfigError
from homerec.models import load_model
from homerec.models.hybrid import Hybrid
from homerec.models.item_knn import ItemKNN
from homerec.models.item_rule import NonProductRule
from homerec.models.new_items import with_new_items
from homerec.models.popularity import Popularity
from tests.models.conftest import GROUP_A, GROUP_B, items_frame

CATALOG = pl.DataFrame({
    "item_id": ["P1", "SHIP-01", "P2", "P3", "P4"],
    "CATEGORY": ["Cleaning|Gloves", "Fees", "Samples|Free", "Cleaning", None],
    "PRICE": ["4.5", "9.9", "0", "-1", "x"],
})


def test_each_clause_of_the_rule_marks_its_items():
    ids = CATALOG["item_id"].to_list() + ["NOT-IN-CATALOG"]
    assert NonProductRule().non_products(CATALOG, ids).tolist() == [False] * 6
    assert NonProductRule(id_pattern=r"^SHIP").non_products(CATALOG, ids).tolist() == [False, True, False, False, False, False]
    assert NonProductRule(categories=("fees", "FREE")).non_products(CATALOG, ids).tolist() == [
        False, True, True, False, False, False]
    assert NonProductRule(nonpositive_price=True).non_products(CATALOG, ids).tolist() == [
        False, False, True, True, False, False]
    assert NonProductRule(item_ids=("P4",)).non_products(None, ids).tolist() == [False] * 4 + [True, False]


def test_the_rule_round_trips_and_rejects_a_bad_pattern():
    rule = NonProductRule(r"^FEE", ("Fees",), True, ("P9",))
    assert NonProductRule.from_json(rule.to_json()) == rule and NonProductRule.from_json("").empty
    with pytest.raises(ConfigError, match="not a regular expression"):
        NonProductRule(id_pattern="(")


@pytest.mark.parametrize("make", [lambda: ItemKNN(k_neighbors=5), Popularity,
                                  lambda: Hybrid(parts=["popularity", "item_knn"], max_item_share=0.5)])
def test_a_masked_item_is_never_recommended(make, checkerboard, tmp_path):
    banned = [GROUP_A[0], GROUP_B[0]]
    mask = ~np.isin(checkerboard.items.ids, banned)
    model = make().fit(checkerboard, recommendable=mask)
    model.item_rule_ = NonProductRule(item_ids=tuple(banned)).to_json()
    for m in (model, load_model(model.save(tmp_path / "m"))):
        for user, history in (("u10", GROUP_A[1:3]), ("u11", GROUP_B[1:3]), ("nobody", [])):
            assert not {r.item_id for r in m.recommend(user, 20, history=history)} & set(banned)
        assert not {r.item_id for r in m.similar_items(GROUP_A[1], 20)} & set(banned)
        ranked = m.rank("u10", [banned[0], GROUP_A[2]], history=GROUP_A[1:2])
        assert ranked[-1].item_id == banned[0] and ranked[-1].reason.startswith("not scored")


def test_items_added_after_training_follow_the_stored_rule(checkerboard):
    model = ItemKNN(k_neighbors=5).fit(checkerboard, recommendable=np.ones(checkerboard.n_items, bool))
    model.item_rule_ = NonProductRule(categories=("Fees",)).to_json()
    catalog = pl.concat([items_frame(), pl.DataFrame({
        "item_id": ["new-fee", "new-glove"], "CATEGORY": ["Cleaning|Kitchen|Fees", "Cleaning|Kitchen"],
    })], how="diagonal")
    wrapped = with_new_items(model, catalog)
    got = {r.item_id for r in wrapped.recommend("u10", 30, history=GROUP_A[:2])}
    assert "new-glove" in got and "new-fee" not in got
