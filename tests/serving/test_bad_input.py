# SPDX-License-Identifier: Apache-2.0
"""Every malformed request is a 4xx with an {"error": message} body, never a 5xx."""

import pytest
from starlette.testclient import TestClient

from homerec.serving import create_app
from tests.serving.conftest import API_KEY, make_settings

U = "/v1/users/u1/recommendations"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", U, {"params": {"num_results": 0}}, 422),
        ("GET", U, {"params": {"num_results": 501}}, 422),
        ("GET", U, {"params": {"num_results": "abc"}}, 422),
        ("GET", U, {"params": {"num_results": "1.5"}}, 422),
        ("GET", U, {"params": {"min_score": "high"}}, 422),
        ("GET", U, {"params": {"min_score": 11}}, 422),
        ("GET", U, {"params": {"surprise": 1}}, 422),
        ("GET", U, {"params": [("num_results", 1), ("num_results", 2)]}, 422),
        ("GET", "/v1/items/i1/similar", {"params": {"num_results": 10_000}}, 422),
        ("GET", "/v1/items/no-such-item/similar", {}, 404),
        ("GET", "/v1/nothing-here", {}, 404),
        ("DELETE", "/v1/events", {}, 405),
        ("POST", "/v1/events", {"content": b"{not json"}, 400),
        ("POST", "/v1/events", {"content": b""}, 400),
        ("POST", "/v1/events", {"content": b"\xff\xfe"}, 400),
        ("POST", "/v1/events", {"json": []}, 422),
        ("POST", "/v1/events", {"json": {"events": []}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": "u1"}]}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": 5, "item_id": "i1"}]}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": "", "item_id": "i1"}]}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": "u", "item_id": "i", "timestamp": "now"}]}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": "u", "item_id": "i", "timestamp": -1}]}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": "u", "item_id": "i", "colour": "red"}]}}, 422),
        ("POST", "/v1/events", {"json": {"events": [{"user_id": "u", "item_id": "i"}] * 501}}, 422),
        ("POST", "/v1/events", {"content": b"x" * (2 << 20)}, 413),
        ("POST", "/v1/users/u1/ranking", {"json": {"item_ids": []}}, 422),
        ("POST", "/v1/users/u1/ranking", {"json": {"item_ids": ["i"] * 501}}, 422),
        ("POST", "/v1/users/u1/ranking", {"json": {"item_ids": "i1"}}, 422),
        ("POST", "/v1/users/u1/ranking", {"json": {"item_ids": [1, 2]}}, 422),
        ("POST", "/v1/users/u1/ranking", {"json": {}}, 422),
        ("PUT", "/v1/items/i1", {"json": ["not", "an", "object"]}, 422),
        ("PUT", "/v1/items/i1", {"json": {"nested": {"a": 1}}}, 422),
        ("PUT", "/v1/items/i1", {"json": {"item_id": "other"}}, 422),
        ("PUT", "/v1/users/u1", {"content": b"nope"}, 400),
    ],
)
def test_bad_input_is_4xx_with_message(client, method, path, kwargs, status):
    headers = {"x-api-key": API_KEY}
    if "content" in kwargs:
        headers["content-type"] = "application/json"
    r = client.request(method, path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert isinstance(r.json()["error"], str) and r.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/v1/events", {"events": [{"user_id": "u", "item_id": "i"}]}),
     ("PUT", "/v1/items/i1", {"a": "b"}), ("PUT", "/v1/users/u1", {"a": "b"}),
     ("DELETE", "/v1/users/u1", None), ("POST", "/v1/admin/reload", None)],
)
def test_write_routes_need_a_key(client, method, path, body):
    r = client.request(method, path, json=body)
    assert r.status_code == 401 and "x-api-key" in r.json()["error"]
    r = client.request(method, path, json=body, headers={"x-api-key": "wrong"})
    assert r.status_code == 403 and r.json()["error"] == "invalid API key"


def test_reads_need_a_key_only_when_configured(client, world):
    assert client.get("/v1/users/u1/recommendations").status_code == 200
    with TestClient(create_app(make_settings(world, read_requires_key=True))) as locked:
        assert locked.get("/v1/users/u1/recommendations").status_code == 401
        assert locked.get("/v1/users/u1/recommendations", headers={"x-api-key": API_KEY}).status_code == 200
        assert locked.get("/healthz").status_code == 200


def test_not_ready_without_a_model(world, tmp_path):
    with TestClient(create_app(make_settings(world, artifact_dir=tmp_path / "empty"))) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        r = c.get("/v1/users/u1/recommendations")
        assert r.status_code == 503 and "homerec train" in r.json()["error"]
