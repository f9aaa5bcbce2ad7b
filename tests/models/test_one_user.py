# SPDX-License-Identifier: Apache-2.0
"""The one-user path (serving's) gives what the batch path gives, model by model, user by user.

Each model is fitted on generated purchase data. For a few hundred users, known ones with
their training history and "folded-in" ones (their history plus a few more items, scored as a
new user), `score_one` must equal `score` of the same history row, and `recommend` must list
what `recommend_batch` lists (items may only trade places where their scores tie to float
precision).
"""

import numpy as np
import polars as pl
import pytest

from homerec.data.features_build import build_item_features
from homerec.data.interactions import Interactions
from homerec.models import model_class
from homerec.models.als import ALS
from homerec.models.hybrid import Hybrid
from homerec.models.new_items import with_new_items
from homerec.models.one_user import OneHistory
from homerec.synth.generate import generate

SMALL = {
    "als": {"factors": 16, "iterations": 5},
    "item_knn": {"k_neighbors": 50},
    "user_knn": {"k_neighbors": 30},
    "ease": {"regularization": 50.0},
}
MODELS = ["popularity", "trending", "als", "item_knn", "user_knn", "content", "ease"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-user")
    generate(folder, scale=0.01, seed=5)
    frame = pl.read_csv(folder / "interactions.csv").rename(str.lower).rename({"timestamp": "ts"})
    items = pl.read_csv(folder / "items.csv", infer_schema=False).rename({"ITEM_ID": "item_id"})
    data = Interactions.from_frame(frame)
    return {"data": data, "features": build_item_features(items, data.items), "items": items}


def _users(data: Interactions, n: int = 150) -> list[tuple[int, OneHistory]]:
    """Known users with their history, and the same histories with three more items as unknown users."""
    X = data.to_csr()
    rng = np.random.default_rng(0)
    users = rng.choice(np.flatnonzero(np.diff(X.indptr) > 0), n, replace=False)
    out = []
    for u in users:
        row = X[u]
        out.append((int(u), OneHistory(row.indices.astype(np.int64), row.data.astype(np.float32))))
        extra = rng.choice(data.n_items, 3, replace=False)
        items, inverse = np.unique(np.concatenate([row.indices, extra]), return_inverse=True)
        weights = np.bincount(inverse, np.concatenate([row.data, np.ones(3)]), minlength=len(items))
        out.append((-1, OneHistory(items.astype(np.int64), weights.astype(np.float32))))
    return out


def _same_scores(model, users):
    n = len(model.items_)
    for uidx, hist in users:
        one = model.score_one(uidx, hist)
        batch = model.score(np.array([uidx]), hist.row(n))[0]
        assert np.array_equal(np.isneginf(one), np.isneginf(batch)), (model.name, uidx)
        finite = np.isfinite(batch)
        np.testing.assert_allclose(one[finite], batch[finite], rtol=2e-5, atol=2e-6, err_msg=model.name)


def _same_lists(model, data, users, k=10):
    """recommend() (one user) lists what recommend_batch lists, up to ties at float precision."""
    n = len(model.items_)
    for uidx, hist in users:
        user_id = data.users.ids[uidx] if uidx >= 0 else None
        history = {i: float(w) for i, w in zip(model.items_.to_ids(hist.items), hist.weights)}
        got = model.recommend(user_id, k, history=history)
        row = hist.row(n)
        idx, vals, _ = model.recommend_batch(np.array([uidx]), row, k, exclude=row)
        want = [i for i in model.items_.to_ids(idx[0][idx[0] >= 0])]
        assert len(got) == len(want), model.name
        for r, w, v in zip(got, want, vals[0]):
            assert r.item_id == w or abs(r.score - float(v)) <= 2e-5 * max(1.0, abs(float(v))), (model.name, got, want)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_scores_one_user_as_the_batch_does(world, name):
    model = model_class(name)(**SMALL.get(name, {})).fit(world["data"], world["features"])
    users = _users(world["data"])
    _same_scores(model, users)
    _same_lists(model, world["data"], users[:60])


def test_the_popularity_mix_and_folding_in_as_spark_trained(world):
    model = ALS(factors=16, iterations=5, popularity_mix=0.3).fit(world["data"])
    model.confidence_offset, model.weighted_regularization = 1.0, True  # the least-squares problem Spark solved
    _same_scores(model, _users(world["data"], 60))


def test_the_hybrid_with_prices_and_new_products(world):
    data = world["data"]
    hybrid = Hybrid(parts=MODELS, part_params=SMALL, weights={"als": [0.5, 1.0, 2.0], "ease": [1.0, 0.0, 1.0]},
                    max_item_share=0.2, cap_users=300).fit(data, world["features"])
    assert hybrid.item_offsets_.any()  # the prices are in play
    users = _users(data, 80)
    _same_scores(hybrid, users)
    _same_lists(hybrid, data, users[:40])
    catalog = world["items"]
    template = catalog.filter(pl.col("item_id") == catalog["item_id"][0])
    extended = with_new_items(hybrid, pl.concat([catalog, template.with_columns(pl.lit("P-NEW").alias("item_id"))]))
    assert "P-NEW" in extended.items_ and len(extended.items_) > len(hybrid.items_)
    _same_scores(extended, users[:40])
