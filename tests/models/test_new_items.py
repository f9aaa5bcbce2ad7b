# SPDX-License-Identifier: Apache-2.0
"""A product added after training is recommended through its metadata, to the users it suits."""

import polars as pl
import pytest

from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.models.base import FALLBACK_REASON
from homerec.models.item_knn import ItemKNN
from homerec.models.new_items import WithNewItems, find_new_items, with_new_items
from tests.models.conftest import GROUP_A, GROUP_B, USERS, checkerboard_frame, held_out, items_frame

NEW = "i99"  # arrives after training, looks like group A


@pytest.fixture(scope="module")
def model() -> ItemKNN:
    catalog = IdMap(GROUP_A + GROUP_B, "item")
    return ItemKNN().fit(Interactions.from_frame(checkerboard_frame(), items=catalog))


def catalog_with_new(look_alike: str = GROUP_A[0]) -> pl.DataFrame:
    frame = items_frame().filter(pl.col("item_id").is_in(GROUP_A + GROUP_B))
    row = frame.filter(pl.col("item_id") == look_alike).with_columns(pl.lit(NEW).alias("item_id"))
    return pl.concat([frame, row])


def history(user: str) -> list[str]:
    return checkerboard_frame().filter(pl.col("user_id") == user)["item_id"].to_list()


def test_nothing_new_leaves_the_model_alone(model):
    assert with_new_items(model, items_frame().filter(pl.col("item_id").is_in(GROUP_A + GROUP_B))) is model


def test_a_new_item_borrows_its_look_alikes_scores(model):
    wrapped = with_new_items(model, catalog_with_new())
    assert isinstance(wrapped, WithNewItems) and wrapped.new.ids == [NEW]
    assert set(wrapped.items_.to_ids(wrapped.new.neighbours[0][wrapped.new.weights[0] > 0])) <= set(GROUP_A)
    a_user, b_user = USERS[0], USERS[1]  # u10 is group A, u11 group B
    recs_a = wrapped.recommend(a_user, k=2, history=history(a_user))
    assert [r.item_id for r in recs_a][:2] == [held_out(a_user), NEW] or NEW in [r.item_id for r in recs_a]
    new_rec = next(r for r in recs_a if r.item_id == NEW)
    assert "new item" in new_rec.reason and 0 <= new_rec.score10 <= 10
    assert NEW not in [r.item_id for r in wrapped.recommend(b_user, k=2, history=history(b_user))]
    # the known items keep the wrapped model's scores and reasons
    plain = model.recommend(a_user, k=1, history=history(a_user))[0]
    assert recs_a[0].item_id == plain.item_id and recs_a[0].score == pytest.approx(plain.score)


def test_a_new_item_is_ranked_and_has_similar_items(model):
    wrapped = with_new_items(model, catalog_with_new())
    user = USERS[0]
    ranked = wrapped.rank(user, [GROUP_B[0], NEW], history=history(user))
    assert [r.item_id for r in ranked] == [NEW, GROUP_B[0]]
    similar = [r.item_id for r in wrapped.similar_items(NEW, k=3)]
    assert similar and set(similar) <= set(GROUP_A)
    assert NEW in [r.item_id for r in wrapped.similar_items(GROUP_A[0], k=len(GROUP_A) + 1)]


def test_the_fallback_never_lists_a_new_item_and_bought_new_items_are_excluded(model):
    wrapped = with_new_items(model, catalog_with_new())
    cold = wrapped.recommend(None, k=20)
    assert cold and all(r.reason == FALLBACK_REASON for r in cold) and NEW not in [r.item_id for r in cold]
    user = USERS[0]
    assert NEW not in [r.item_id for r in wrapped.recommend(user, k=20, history=history(user) + [NEW])]


def test_a_new_item_without_shared_metadata_is_never_recommended(model):
    catalog = items_frame().filter(pl.col("item_id").is_in(GROUP_A + GROUP_B))
    odd = pl.DataFrame({"item_id": [NEW], "CATEGORY": ["Garden"], "BRAND": ["Zed"], "PRICE": [None],
                        "DESCRIPTION": ["spade"]}, schema=catalog.schema)
    new = find_new_items(model, pl.concat([catalog, odd]))
    assert new.ids == [NEW] and new.confidence[0] == 0
    wrapped = with_new_items(model, pl.concat([catalog, odd]))
    assert NEW not in [r.item_id for r in wrapped.recommend(USERS[0], k=20, history=history(USERS[0]))]


def test_the_wrapper_is_not_saved(model, tmp_path):
    with pytest.raises(TypeError):
        with_new_items(model, catalog_with_new()).save(tmp_path / "m")
