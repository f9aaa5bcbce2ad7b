# SPDX-License-Identifier: Apache-2.0
"""One buy-again path: the native include_seen=true, a Personalize INCLUDE filter over the user's own
purchases and `homerec batch --include-seen` all answer with the version's re-order model."""

import json

import polars as pl
import pytest

from homerec.data.schema import Col
from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.serving.buy_again import reorder_list
from homerec.storage import open_store

BUY_AGAIN = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'


@pytest.fixture(scope="module")
def batch_lists(world) -> dict[str, dict]:
    """userId → output of `homerec batch --include-seen` (JSON lines, k=10)."""
    out = world["root"] / "buy-again-test.jsonl"
    with open_store(world["store_url"]) as store:
        run_batch(store, Registry(world["artifacts"]), out, "personalize", k=10, include_seen=True)
    return {d["input"]["userId"]: d["output"] for d in map(json.loads, out.read_text().splitlines())}


def _repeat_buyers(world, n: int = 5) -> list[str]:
    with open_store(world["store_url"]) as store:
        frame = store.interactions().filter(pl.col(Col.event_type) == "purchase")
    counts = frame.group_by(Col.user_id).agg(pl.col(Col.item_id).n_unique().alias("n"), pl.len().alias("lines"))
    return counts.filter((pl.col("lines") > pl.col("n")) & (pl.col("n") >= 3)).sort(Col.user_id)[Col.user_id][:n].to_list()


def test_the_version_has_a_reorder_model(world):
    assert "reorder" in Registry(world["artifacts"]).parts(world["version"])


def test_native_include_seen_is_the_batch_buy_again_list(client, world, batch_lists):
    users = _repeat_buyers(world)
    assert users
    for user in users:
        got = client.get(f"/v1/users/{user}/recommendations", params={"num_results": 10, "include_seen": "true"})
        items = got.json()["items"]
        assert [i["item_id"] for i in items] == batch_lists[user]["recommendedItems"]
        batch_reasons = batch_lists[user]["reasons"]  # discoveries: the batch names the model, live its parts
        assert [why for i in items if (why := i["reason"]).startswith("re-order")] == [
            why for why in batch_reasons if why.startswith("re-order")]
    assert any(r.startswith("re-order: ") for u in users for r in batch_lists[u]["reasons"])


def test_a_buy_again_filter_lists_only_own_items_ranked_by_the_reorder_model(client, world, batch_lists):
    for user in _repeat_buyers(world):
        with open_store(world["store_url"]) as store:
            history = store.history(user)
        bought = set(history.filter(pl.col(Col.event_type) == "purchase")[Col.item_id].to_list())
        got = client.get(f"/v1/users/{user}/recommendations",
                         params={"num_results": 50, "include_seen": "true", "filter": BUY_AGAIN}).json()["items"]
        assert {i["item_id"] for i in got} <= bought and got
        assert all(i["reason"].startswith("re-order: ") for i in got)
        listed = batch_lists[user]
        again = [i for i, why in zip(listed["recommendedItems"], listed["reasons"]) if why.startswith("re-order")]
        assert [i["item_id"] for i in got][: len(again)] == again  # the batch's re-orders, in its order


def test_reorder_list_keeps_exclusions_and_personalize_scale_scores(world):
    registry = Registry(world["artifacts"])
    model = registry.load(world["version"])
    reorder = registry.load_part("reorder", world["version"])
    user = _repeat_buyers(world)[0]
    with open_store(world["store_url"]) as store:
        events = store.history(user)
    first = reorder_list(reorder, model, user, events, 10)
    assert 0 < sum(r.relative for r in first) <= 1.0
    again = reorder_list(reorder, model, user, events, 10, exclude={first[0].item_id})
    assert first[0].item_id not in {r.item_id for r in again}
    shared = {r.item_id: r.relative for r in first}
    assert all(r.relative == shared[r.item_id] for r in again if r.item_id in shared)  # exclusion moves no score
