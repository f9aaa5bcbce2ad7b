# SPDX-License-Identifier: Apache-2.0
"""SegmentModel: likeliest new buyers of a product or an attribute, past buyers left out; artifacts."""

import numpy as np
import pytest
import scipy.sparse as sp

from homerec.errors import InputError, NotFitted, UnknownItem
from homerec.models.segments import SegmentModel, category_matrix
from tests.models.reorder_world import GROUP_A, GROUP_B, catalog, new_buyers, split_world, world


@pytest.fixture(scope="module")
def fitted() -> SegmentModel:
    history, future = split_world()
    targets = np.array(history.items.to_idx(GROUP_A))
    truth = [new_buyers(future, history, item) for item in GROUP_A]
    model = SegmentModel().fit(history, targets, truth, category_matrix(catalog(), history.items))
    return model.refresh(history)


def _buyers(item: str) -> set[str]:
    history, _ = split_world()
    return set(history.users.to_ids(history.user_idx[history.item_idx == history.items.to_idx(item)]))


def test_likeliest_buyers_share_the_products_group_and_never_bought_it(fitted):
    item = GROUP_A[2]
    ranked = fitted.likeliest_users(item, k=10)
    users = [u for u, _ in ranked]
    assert not set(users) & _buyers(item)
    even = [int(u[1:]) % 2 == 0 for u in users]
    assert all(even[:5])  # the product's own group (even users) first
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
    assert loaded.categories_.shape == fitted.categories_.shape
    with pytest.raises(NotFitted):
        SegmentModel().likeliest_users(GROUP_A[1])


def test_refresh_keeps_categories_over_a_new_item_map(fitted, tmp_path):
    data = world()
    model = SegmentModel.load(fitted.save(tmp_path / "segments"))
    assert model.refresh(data).categories_.shape[0] == data.n_items
    assert isinstance(category_matrix(None, data.items), sp.csr_matrix)
