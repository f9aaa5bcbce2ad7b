# SPDX-License-Identifier: Apache-2.0
"""Serving over PostgreSQL (issue 13 #3): readiness works, a NUL in an id is a 4xx, not a 503."""

import json

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.storage import import_folder, open_store
from tests.serving.conftest import API_KEY, make_settings
from tests.serving.signing import AK, CAMPAIGN, SECRET, signed_headers

DATABASE = "homerec_serving"


@pytest.fixture(scope="module")
def pg_client(world, postgres_url, tmp_path_factory):
    """The world's data imported into a database of its own on the test server, served with the world's model."""
    admin = sa.create_engine(sa.make_url(postgres_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    admin.dispose()
    url = sa.make_url(postgres_url).set(database=DATABASE).render_as_string(hide_password=False)
    with open_store(url) as store:
        import_folder(store, world["root"] / "data", tmp_path_factory.mktemp("pg-rejects"))
    settings = make_settings(world, store_url=url, sigv4_keys={AK: SECRET})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_readyz_is_200_on_postgresql(pg_client):
    r = pg_client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/v1/users/u%00/recommendations", None),
    ("GET", "/v1/items/i%00/similar", None),
    ("POST", "/v1/users/u%00/ranking", {"item_ids": ["i1"]}),
    ("POST", "/v1/users/u1/ranking", {"item_ids": ["i\u0000"]}),
    ("POST", "/v1/events", {"events": [{"user_id": "u\u0000", "item_id": "i1"}]}),
    ("POST", "/v1/events", {"events": [{"user_id": "u", "item_id": "i1", "event_type": "a\u0000"}]}),
    ("PUT", "/v1/items/i%00", {"A": "b"}),
    ("DELETE", "/v1/users/u%00", None),
    ("GET", "/dashboard/api/users/u%00", None),
])
def test_a_nul_in_an_id_is_a_4xx_without_the_store_url(pg_client, method, path, body):
    r = pg_client.request(method, path, json=body, headers={"x-api-key": API_KEY})
    assert r.status_code == 422, r.text
    assert "postgresql" not in r.text and "127.0.0.1" not in r.text


@pytest.mark.parametrize("payload", [
    {"campaignArn": CAMPAIGN, "userId": "u\u0000"},
    {"campaignArn": CAMPAIGN, "itemId": "\u0000"},
])
def test_a_nul_in_a_personalize_id_is_invalid_input(pg_client, payload):
    body = json.dumps(payload).encode()
    r = pg_client.post("/recommendations", content=body, headers=signed_headers("http://testserver/recommendations", body))
    assert r.status_code == 400 and r.json()["__type"] == "InvalidInputException", r.text


def test_recommendations_and_the_dashboard_answer_on_postgresql(pg_client, world):
    r = pg_client.get(f"/v1/users/{world['cached_users'][0]}/recommendations")
    assert r.status_code == 200 and len(r.json()["items"]) == 10
    assert pg_client.get("/dashboard/api/overview", headers={"x-api-key": API_KEY}).status_code == 200
