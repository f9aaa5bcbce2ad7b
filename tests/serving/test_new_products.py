# SPDX-License-Identifier: Apache-2.0
"""A product PUT after training is recommended through its metadata at once, before any retrain."""

import json
import time

import pytest
from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.storage import open_store
from tests.serving.conftest import copy_store, make_settings

NEW = "P-NEW-0001"
# The tests build on each other (the batch refresh in the last lists the product the first one PUT):
# under `pytest -n 2 --dist loadgroup` they must run in order on one worker.
pytestmark = pytest.mark.xdist_group("new-products")


@pytest.fixture(scope="module")
def own_world(world, tmp_path_factory):
    """A private copy of the world's store: new products must not leak into other tests."""
    root = tmp_path_factory.mktemp("new-products")
    return {**world, "store_url": copy_store(world, root / "homerec.db")}


@pytest.fixture(scope="module")
def app_client(own_world):
    with TestClient(create_app(make_settings(own_world, personalize_unsigned=True))) as c:
        yield c


def metadata_of(store_url: str, item_id: str) -> dict:
    store = open_store(store_url)
    try:
        row = store.items().filter(store.items()["item_id"] == item_id).to_dicts()[0]
    finally:
        store.close()
    return {k: v for k, v in row.items() if k != "item_id" and v is not None}


def test_a_new_product_is_recommended_next_to_its_look_alike(app_client, own_world, auth):
    user = own_world["cached_users"][0]
    before = app_client.get(f"/v1/users/{user}/recommendations?num_results=5").json()
    assert before["source"] == "cache" and NEW not in [i["item_id"] for i in before["items"]]
    top = before["items"][0]["item_id"]
    r = app_client.put(f"/v1/items/{NEW}", json=metadata_of(own_world["store_url"], top), headers=auth)
    assert r.status_code == 200
    after = app_client.get(f"/v1/users/{user}/recommendations?num_results=5").json()
    assert after["source"] == "model"  # the cached list predates the product
    ids = [i["item_id"] for i in after["items"]]
    assert NEW in ids, ids
    rec = after["items"][ids.index(NEW)]
    assert "new item" in rec["reason"] and top in rec["reason"] and 0 <= rec["score10"] <= 10
    similar = app_client.get(f"/v1/items/{NEW}/similar?num_results=5")
    assert similar.status_code == 200 and similar.json()["items"]
    ranked = app_client.post(f"/v1/users/{user}/ranking", json={"item_ids": [NEW, top]}, headers=auth).json()
    assert {i["item_id"] for i in ranked["items"]} == {NEW, top}
    assert all(i["reason"] != "not scored: unknown to the model" for i in ranked["items"])


def test_a_product_put_through_personalize_is_recommendable_too(app_client, own_world, auth):
    user = own_world["cached_users"][1]
    top = app_client.get(f"/v1/users/{user}/recommendations?num_results=3").json()["items"][0]["item_id"]
    props = json.dumps(metadata_of(own_world["store_url"], top))
    r = app_client.post("/items", headers=auth, content=json.dumps(
        {"datasetArn": "arn:aws:personalize:us-east-1:1:dataset/items", "items": [{"itemId": "P-NEW-0002", "properties": props}]}))
    assert r.status_code == 200, r.text
    ids = [i["item_id"] for i in app_client.get(f"/v1/users/{user}/recommendations?num_results=10").json()["items"]]
    assert "P-NEW-0002" in ids


def test_the_batch_refresh_lists_new_products_and_the_cache_serves_them(app_client, own_world, auth):
    from homerec.models.registry import Registry
    from homerec.pipeline.batch import run_batch

    user = own_world["cached_users"][0]
    top = app_client.get(f"/v1/users/{user}/recommendations?num_results=1").json()["items"][0]["item_id"]
    # The product as the first test adds it (xdist may run this test on another worker, with its own store).
    app_client.put(f"/v1/items/{NEW}", json=metadata_of(own_world["store_url"], top), headers=auth)
    time.sleep(1.1)  # cache times are whole seconds: the refresh must come after the products' second
    store = open_store(own_world["store_url"])
    try:
        run_batch(store, Registry(own_world["artifacts"]), own_world["root"] / "refresh.jsonl", k=20,
                  users_file=None)
    finally:
        store.close()
    # Workers load the new lists once the batch has written them (the change feed says so).
    deadline = time.monotonic() + 15
    while True:
        answer = app_client.get(f"/v1/users/{user}/recommendations?num_results=5").json()
        if answer["source"] == "cache" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer["source"] == "cache" and NEW in [i["item_id"] for i in answer["items"]]

