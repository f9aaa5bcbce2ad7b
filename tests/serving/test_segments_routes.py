# SPDX-License-Identifier: Apache-2.0
"""Segments over HTTP: the customers likeliest to buy an item or any item matching an attribute,
as JSON or a CSV download, the same lists as `homerec segments`, behind the API key when keys are set."""

import csv
import io

import pytest

from homerec.models.registry import Registry
from homerec.pipeline.segments import current_model
from homerec.storage import open_store
from tests.serving.conftest import API_KEY

KEY = {"x-api-key": API_KEY}


@pytest.fixture(scope="module")
def segment(world) -> dict:
    """A much-bought item, its buyers, a category and what `homerec segments` lists for both."""
    with open_store(world["store_url"]) as store:
        frame = store.interactions()
        item = frame.group_by("item_id").len().sort(["len", "item_id"])["item_id"][-1]
        buyers = set(frame.filter(frame["item_id"] == item)["user_id"].to_list())
        items = store.items()
        category = items.filter(items["item_id"] == item)["CATEGORY"][0]
        model = current_model(store, Registry(world["artifacts"]))
        by_attribute = model.likeliest_users(f'Items.CATEGORY IN ("{category}")', 30, items)
    return {"item": item, "buyers": buyers, "category": category, "by_item": model.for_items([item], 40),
            "by_attribute": by_attribute}


def test_an_items_segment_is_the_cli_segment(client, world, segment):
    got = client.get(f"/v1/segments/items/{segment['item']}", params={"k": 40}, headers=KEY)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["model_version"] == world["version"]
    assert [(u["user_id"], u["score"]) for u in body["users"]] == segment["by_item"]
    assert len(body["users"]) == 40 and not {u["user_id"] for u in body["users"]} & segment["buyers"]
    scores = [u["score"] for u in body["users"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    everyone = client.get(f"/v1/segments/items/{segment['item']}", params={"k": 5000, "include_buyers": "true"},
                          headers=KEY).json()["users"]
    assert segment["buyers"] <= {u["user_id"] for u in everyone}


def test_an_attribute_segment(client, segment):
    body = {"attribute": f'Items.CATEGORY IN ("{segment["category"]}")', "k": 30}
    got = client.post("/v1/segments", json=body, headers=KEY)
    assert got.status_code == 200, got.text
    assert [(u["user_id"], u["score"]) for u in got.json()["users"]] == segment["by_attribute"]


def test_csv_downloads(client, segment):
    for params, headers in (({"k": 40, "format": "csv"}, KEY), ({"k": 40}, {**KEY, "accept": "text/csv"})):
        got = client.get(f"/v1/segments/items/{segment['item']}", params=params, headers=headers)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(got.text)))
        assert rows[0] == ["user_id", "score"]
        assert [(u, float(s)) for u, s in rows[1:]] == segment["by_item"]
    body = {"attribute": f'Items.CATEGORY IN ("{segment["category"]}")', "k": 30}
    got = client.post("/v1/segments?format=csv", json=body, headers=KEY)
    assert [r[0] for r in csv.reader(io.StringIO(got.text))][1:] == [u for u, _ in segment["by_attribute"]]


@pytest.mark.parametrize("method, path, kwargs, status, message", [
    ("GET", "/v1/segments/items/no-such-item", {}, 404, "no-such-item"),
    ("GET", "/v1/segments/items/x", {"params": {"k": 0}}, 422, "k"),
    ("GET", "/v1/segments/items/x", {"params": {"k": 10001}}, 422, "k"),
    ("GET", "/v1/segments/items/x", {"params": {"format": "xml"}}, 422, "format"),
    ("POST", "/v1/segments", {"json": {"attribute": 'Items.CATEGORY IN ("no such")'}}, 422, "no known item"),
    ("POST", "/v1/segments", {"json": {"attribute": "Items.CATEGORY ~ 1"}}, 422, "cannot read"),
    ("POST", "/v1/segments", {"json": {"attribute": "P00017"}}, 422, "Items."),
    ("POST", "/v1/segments", {"json": {"attribute": ""}}, 422, "attribute"),
    ("POST", "/v1/segments", {"json": {"k": 5}}, 422, "attribute"),
])
def test_bad_segment_requests_get_a_clear_4xx(client, method, path, kwargs, status, message):
    got = client.request(method, path, headers=KEY, **kwargs)
    assert got.status_code == status, got.text
    assert message in got.json()["error"]


def test_segments_need_the_api_key_when_keys_are_set(client, segment):
    path = f"/v1/segments/items/{segment['item']}"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"x-api-key": "wrong"}).status_code == 403
    assert client.post("/v1/segments", json={"attribute": "Items.CATEGORY IN (\"x\")"}).status_code == 401
    assert client.get(f"/v1/users/{next(iter(segment['buyers']))}/recommendations").status_code == 200  # reads stay open


def test_the_openapi_document_lists_the_new_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/segments/items/{item_id}"]["get"]["security"] == [{"apiKey": []}]
    assert paths["/v1/segments"]["post"]["security"] == [{"apiKey": []}]
    basket = paths["/v1/baskets/recommendations"]["post"]
    assert "409" in basket["responses"] and basket["requestBody"]["required"]
