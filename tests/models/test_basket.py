# SPDX-License-Identifier: Apache-2.0
"""BasketModel: complements from co-orders and habits, never the cart's items; artifacts."""

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from homerec.errors import NotFitted
from homerec.models.basket import BasketModel
from tests.models.reorder_world import GROUP_A, GROUP_B, START, DAY, staples, user_events, world

ONLY_TOGETHER = {"together": 1.0, "customers": 0.0, "habits": 0.0, "popularity": 0.0}


@pytest.fixture(scope="module")
def fitted() -> BasketModel:
    return BasketModel(weights=ONLY_TOGETHER).fit(world())


def test_the_partner_of_a_cart_item_comes_first_and_the_cart_never(fitted):
    first, second = staples("u10")
    recs = fitted.complete([first], k=3)
    assert recs[0].item_id == second
    assert recs[0].reason.startswith(f"basket: bought together with {first} in ") and recs[0].reason.endswith(" orders")
    for cart in ([first], [first, second], GROUP_A):
        assert not set(cart) & {r.item_id for r in fitted.complete(cart, k=10)}


def test_unknown_and_excluded_items(fitted):
    first, second = staples("u10")
    recs = fitted.complete([first, "i999"], k=3, exclude=[second])
    assert second not in {r.item_id for r in recs} and len(recs) == 3
    assert [r.item_id for r in fitted.complete(["i999"], k=2)]  # an unknown cart still gets a list


def test_habits_bring_the_customers_usual_items():
    model = BasketModel(weights={"together": 0.0, "customers": 0.0, "habits": 1.0, "popularity": 0.0}).fit(world())
    user = "u11"  # group B; the cart holds a group-A product it never bought
    now = START + 350 * DAY
    recs = model.complete([GROUP_A[0]], k=2, history=user_events(user, now), now=now)
    assert {r.item_id for r in recs} == set(staples(user))
    assert all(r.reason == "basket: in your usual orders" for r in recs)
    assert {r.item_id for r in model.complete([GROUP_A[0]], k=2, history=list(staples(user)))} == set(staples(user))


def test_batch_masks_every_cart(fitted):
    n = len(fitted.items_)
    carts = sp.csr_matrix(np.eye(n, dtype=np.float32))
    idx, _ = fitted.complete_batch(carts, sp.csr_matrix((n, n), dtype=np.float32), k=3)
    assert not (idx == np.arange(n)[:, None]).any()


def test_save_load_round_trip(fitted, tmp_path):
    loaded = BasketModel.load(fitted.save(tmp_path / "basket"))
    assert loaded.params() == fitted.params()
    cart = [GROUP_B[1], GROUP_B[2]]
    assert loaded.complete(cart, k=5) == fitted.complete(cart, k=5)
    with pytest.raises(NotFitted):
        BasketModel().complete(cart)
    frame = pl.DataFrame({"item_id": [GROUP_B[0]]})
    assert loaded.complete(cart, k=2, history=frame)
