# SPDX-License-Identifier: Apache-2.0
"""SegmentModel: likeliest new buyers of a product or an attribute, past buyers left out; artifacts."""

import numpy as np
import pytest
import polars as pl

from homerec.errors import InputError, NotFitted, UnknownItem
from homerec.models.segments import SegmentModel, attribute_columns, attribute_matrices, category_matrix
from tests.models.reorder_world import GROUP_A, GROUP_B, USERS, catalog, new_buyers, split_world, world


@pytest.fixture(scope="module")
def fitted() -> SegmentModel:
    history, future = split_world()
    targets = np.array(history.items.to_idx(GROUP_A))
    truth = [new_buyers(future, history, item) for item in GROUP_A]
    model = SegmentModel().fit(history, targets, truth, attribute_matrices(catalog(), history.items))
    return model.refresh(history)


def _buyers(item: str) -> set[str]:
    history, _ = split_world()
    return set(history.users.to_ids(history.user_idx[history.item_idx == history.items.to_idx(item)]))


def test_likeliest_buyers_share_the_products_group_and_never_bought_it(fitted):
    item = GROUP_A[2]
    ranked = fitted.likeliest_users(item, k=10)
    users = [u for u, _ in ranked]
    assert not set(users) & _buyers(item)
    prospects = {u for u in USERS if int(u[1:]) % 2 == 0} - _buyers(item)  # the product's own group
    assert len(prospects) >= 3 and set(users[: len(prospects)]) == prospects
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    with_buyers = {u for u, _ in fitted.likeliest_users(item, k=30, include_buyers=True)}
    assert _buyers(item) <= with_buyers


def test_attribute_segments(fitted):
    ranked = fitted.likeliest_users('Items.CATEGORY IN ("Gloves")', k=30, catalog=catalog(), include_buyers=True)
    assert len(ranked) == 30 and all(0.0 <= s <= 1.0 for _, s in ranked)
    top = [int(u[1:]) % 2 == 0 for u, _ in ranked[:15]]
    assert all(top)
    prospects = fitted.likeliest_users('ITEMS.CATEGORY = "Beverages"', k=30, catalog=catalog())
    assert not {u for u, _ in prospects} & set().union(*(_buyers(i) for i in GROUP_B))
    with pytest.raises(InputError, match="catalogue"):
        fitted.likeliest_users('Items.CATEGORY IN ("Gloves")')
    with pytest.raises(InputError, match="no known item"):
        fitted.likeliest_users('Items.CATEGORY IN ("Nothing")', catalog=catalog())
    with pytest.raises(UnknownItem):
        fitted.likeliest_users("i999")


def test_save_load_round_trip(fitted, tmp_path):
    loaded = SegmentModel.load(fitted.save(tmp_path / "segments"))
    assert loaded.likeliest_users(GROUP_A[1], k=8) == fitted.likeliest_users(GROUP_A[1], k=8)
    assert loaded.attributes_.shape == fitted.attributes_.shape and loaded.feature_names == fitted.feature_names
    with pytest.raises(NotFitted):
        SegmentModel().likeliest_users(GROUP_A[1])


def test_refresh_keeps_categories_over_a_new_item_map(fitted, tmp_path):
    data = world()
    model = SegmentModel.load(fitted.save(tmp_path / "segments"))
    assert model.refresh(data).attributes_.shape[0] == data.n_items
    assert category_matrix(None, data.items).shape == (data.n_items, 0)


def test_attribute_columns_are_short_repeated_text():
    frame = catalog().with_columns(
        pl.Series("PRICE", ["1.5"] * 10), pl.Series("DESCRIPTION", ["a long text that describes the product well"] * 10),
        pl.Series("SKU", [f"s{n}" for n in range(10)]), pl.Series("BRAND", ["Acme", "Zed"] * 5))
    assert attribute_columns(frame) == ["CATEGORY", "BRAND"]
    assert category_matrix(frame, world().items).shape == (10, 3)  # Cleaning, Gloves, Beverages
