# SPDX-License-Identifier: Apache-2.0
"""The server answers from a Spark-trained version as from any other: live scores, fold-in, similar items."""

from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.storage import open_store
from tests.serving.conftest import API_KEY, copy_store, make_settings
from tests.spark.conftest import SPARK_GROUP

pytestmark = SPARK_GROUP


def test_a_spark_version_is_served_and_folds_in_new_users(spark_world, tmp_path):
    world = {**spark_world, "store_url": copy_store(spark_world, tmp_path / "homerec.db")}
    store = open_store(world["store_url"])
    try:
        user = store.interactions()["user_id"][0]
        history = set(store.history(user)["item_id"].to_list())
        items = store.items()["item_id"].to_list()
    finally:
        store.close()
    with TestClient(create_app(make_settings(world))) as client:
        ready = client.get("/readyz").json()
        assert ready["model_version"] == spark_world["version"]
        body = client.get(f"/v1/users/{user}/recommendations", params={"num_results": 10}).json()
        assert body["source"] == "model" and len(body["items"]) == 10
        assert all(i["reason"] == "als" for i in body["items"]) and not {i["item_id"] for i in body["items"]} & history
        similar = client.get(f"/v1/items/{items[0]}/similar", params={"num_results": 5}).json()
        assert len(similar["items"]) == 5 and items[0] not in {i["item_id"] for i in similar["items"]}
        cold = client.get("/v1/users/spark-newcomer/recommendations").json()
        assert cold["source"] == "fallback"
        events = [{"user_id": "spark-newcomer", "item_id": i} for i in items[:3]]
        r = client.post("/v1/events", json={"events": events}, headers={"x-api-key": API_KEY})
        assert r.status_code == 200
        warm = client.get("/v1/users/spark-newcomer/recommendations").json()
        assert warm["source"] == "model" and warm["items"][0]["reason"] == "als"
        assert not {i["item_id"] for i in warm["items"]} & set(items[:3])
