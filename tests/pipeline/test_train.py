# SPDX-License-Identifier: Apache-2.0
"""homerec train: a registered, tuned hybrid whose artifact serves recommendations."""

import pytest

from homerec.errors import ConfigError, HomerecError, InputError
from homerec.models.base import FALLBACK_REASON
from homerec.models.registry import Registry
from homerec.pipeline.train import train
from homerec.storage import open_store


def test_train_registers_an_active_tuned_hybrid(trained):
    report, registry = trained["report"], trained["registry"]
    assert registry.active() == report.version
    meta = registry.info(report.version).meta
    assert meta["model"] == "hybrid" and len(meta["data_digest"]) == 24
    assert meta["n_interactions"] == report.n_interactions > 0
    breadth = meta["blend"]["breadth"]
    inside = breadth["parts_inside"]  # single parts whose validation lists meet the breadth constraint
    assert breadth["feasible"] or not inside
    if inside:
        assert report.validation_ndcg["hybrid"] >= max(report.validation_ndcg[p] for p in inside) - 1e-9
    assert breadth["max_item_share"] <= breadth["max_item_share_limit"] or not breadth["feasible"]
    assert meta["blend"]["decision"]["reason"] and report.decision == meta["blend"]["decision"]
    assert set(report.weights) == set(report.parts)


def test_the_distributor_models_are_parts_of_the_version(trained):
    report, registry = trained["report"], trained["registry"]
    assert registry.parts(report.version) == ["basket", "reorder", "segments"] == sorted(report.companions)
    model = registry.load(report.version)
    reorder = registry.load_part("reorder", report.version, discovery=model)
    store = open_store(trained["store_url"])
    try:
        user = store.interactions()["user_id"][0]
        history = store.history(user)
    finally:
        store.close()
    recs = reorder.recommend(user, history, now=int(history["ts"].max()) + 86400, k=5)
    assert len(recs) == 5 and any(r.reason.startswith("re-order: ") and r.quantity for r in recs)
    basket = registry.load_part("basket", report.version)
    cart = history["item_id"].to_list()[:1]
    assert cart[0] not in {r.item_id for r in basket.complete(cart, k=5, history=history)}
    segments = registry.load_part("segments", report.version)
    assert len(segments.likeliest_users(cart[0], k=3)) == 3


def test_a_version_without_parts_says_so(trained, tmp_path):
    registry = Registry(tmp_path)
    registry.register(trained["registry"].load(), {})
    assert registry.parts() == []
    with pytest.raises(HomerecError, match="no reorder model"):
        registry.load_part("reorder")


def test_the_registered_model_personalises_and_falls_back(trained):
    model = trained["registry"].load()
    store = open_store(trained["store_url"])
    frame = store.interactions()
    store.close()
    user = frame["user_id"][0]
    history = frame.filter(frame["user_id"] == user)["item_id"].to_list()
    recs = model.recommend(user, 5, history=history)
    assert len(recs) == 5 and not {r.item_id for r in recs} & set(history)
    assert all(r.reason.startswith("hybrid") for r in recs)
    cold = model.recommend("someone-new", 5)
    assert [r.reason for r in cold] == [FALLBACK_REASON] * 5


def test_a_single_model_trains_alone(trained, tmp_path):
    store = open_store(trained["store_url"])
    try:
        report = train(store, Registry(tmp_path), models=["item_knn"])
    finally:
        store.close()
    assert report.model == "item_knn" and report.parts == ["item_knn"]


def test_unknown_model_names_and_empty_stores_are_clear_errors(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(ConfigError, match="unknown model 'svd'"):
            train(store, Registry(tmp_path / "a"), models=["svd"])
        with pytest.raises(InputError, match="homerec import"):
            train(store, Registry(tmp_path / "a"))
    finally:
        store.close()

