# SPDX-License-Identifier: Apache-2.0
"""Issue 13's reproducers through the app: hostile ids, values and nesting, deleted users, unsigned writes.

Each test names the reproducer it covers; each failed on the code before the fix (a 500, a 503,
an id collision, a stored infinity, a deleted user's exposures written back, an open write).
"""

import json
import sqlite3
import time

import pytest
from starlette.testclient import TestClient

from homerec.errors import StoreError
from homerec.experiments.spec import Experiment, Variant
from homerec.models.registry import Registry
from homerec.pipeline.train import train
from homerec.serving import create_app
from homerec.storage import open_store
from tests.serving.conftest import API_KEY, copy_store, make_settings
from tests.serving.signing import AK, CAMPAIGN, DATASET_ITEMS, SECRET, signed_headers

KEY = {"x-api-key": API_KEY}
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture(scope="module")
def signed(world, tmp_path_factory):
    """An app over a private store with API keys and SigV4 keys (signed Personalize requests)."""
    url = copy_store(world, tmp_path_factory.mktemp("hostile") / "homerec.db")
    with TestClient(create_app(make_settings(world, store_url=url, sigv4_keys={AK: SECRET})),
                    raise_server_exceptions=False) as c:
        yield c


def post_signed(client: TestClient, path: str, payload: object) -> object:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(path, content=body, headers=signed_headers(f"http://testserver{path}", body))


# -- 1. one item id ending in NUL broke every recommendation ----------------------------------------
@pytest.mark.parametrize("path", ["/v1/items/P00001%00", "/v1/items/%00", "/v1/items/%20%00", "/v1/items/%09",
                                  "/v1/items/" + "x" * 257])
def test_item_ids_breaking_the_id_rule_are_refused(signed, world, path):
    r = signed.put(path, json={"CATEGORY": "x"}, headers=KEY)
    assert r.status_code == 422 and "item_id" in r.json()["error"], r.text
    user = world["cached_users"][0]
    r = signed.get(f"/v1/users/{user}/recommendations")
    assert r.status_code == 200 and len(r.json()["items"]) == 10


def test_signed_put_items_with_a_nul_id_is_invalid_input(signed, world):
    r = post_signed(signed, "/items", {"datasetArn": DATASET_ITEMS, "items": [{"itemId": "P00001\u0000"}]})
    assert r.status_code == 400 and r.json()["__type"] == "InvalidInputException", r.text
    assert signed.get(f"/v1/users/{world['cached_users'][0]}/recommendations").status_code == 200


def test_ids_are_trimmed_on_every_route(signed, world):
    user = world["cached_users"][1]
    padded = signed.get(f"/v1/users/%20{user}%20/recommendations").json()
    assert [i["item_id"] for i in padded["items"]] == [
        i["item_id"] for i in signed.get(f"/v1/users/{user}/recommendations").json()["items"]]
    r = signed.post("/v1/events", headers=KEY, json={"events": [{"user_id": " trim-me ", "item_id": world["item_ids"][0]}]})
    assert r.status_code == 200
    store = open_store(signed.app.state.settings.store_url)
    try:
        assert store.history("trim-me").height == 1 and store.history(" trim-me ").height == 0
    finally:
        store.close()


def test_an_id_with_a_nul_already_in_the_store_breaks_nothing_after_a_restart(world, tmp_path):
    url = copy_store(world, tmp_path / "homerec.db")
    item = world["item_ids"][0]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:  # as an older homerec left them
        metadata = db.execute("SELECT metadata FROM items WHERE item_id = ?", (item,)).fetchone()[0]
        db.executemany("INSERT INTO items VALUES (?, ?, 0)", [(item + "\x00", metadata), ("\x00", metadata)])
    db.close()
    with TestClient(create_app(make_settings(world, store_url=url))) as c:
        for user in (world["cached_users"][0], "someone-new"):
            r = c.get(f"/v1/users/{user}/recommendations")
            assert r.status_code == 200 and len(r.json()["items"]) == 10, r.text
        assert c.get(f"/v1/items/{item}/similar").status_code == 200


# -- 2. one event value made the store untrainable ---------------------------------------------------
@pytest.mark.parametrize(("raw", "status"), [(b"1e400", 400), (b"-1e400", 400), (b"Infinity", 400), (b"NaN", 400),
                                             (b"1.7976931348623157e308", 422), (b"1" + b"0" * 400, 422)])
def test_native_event_values_must_be_finite(signed, raw, status):
    body = b'{"events": [{"user_id": "v-user", "item_id": "v-item", "event_value": ' + raw + b"}]}"
    r = signed.post("/v1/events", content=body, headers={**KEY, "content-type": "application/json"})
    assert r.status_code == status, r.text


@pytest.mark.parametrize("raw", [b"Infinity", b"1e400", b"NaN", b"-Infinity"])
def test_put_events_values_must_be_finite(signed, raw):
    body = (b'{"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "click", "itemId": "i", '
            b'"sentAt": 1700000000, "eventValue": ' + raw + b"}]}")
    r = post_signed(signed, "/events", body)
    assert r.status_code == 400 and r.json()["__type"] == "SerializationException", r.text


def test_a_non_finite_value_already_stored_neither_stops_training_nor_the_dashboard(world, tmp_path):
    url = copy_store(world, tmp_path / "homerec.db")
    now = int(time.time())
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.executemany("INSERT INTO interactions (event_id, user_id, item_id, ts, event_type, event_value) "
                       "VALUES (?, 'u-inf', ?, ?, 'purchase', ?)",
                       [("inf1", world["item_ids"][0], now - 60, float("inf")),
                        ("inf2", world["item_ids"][1], now - 30, 1.7976931348623157e308)])
    db.close()
    store = open_store(url)
    try:
        version = train(store, Registry(tmp_path / "artifacts"), models=["popularity"]).version
    finally:
        store.close()
    assert version == "v1"
    with TestClient(create_app(make_settings(world, store_url=url, artifact_dir=tmp_path / "artifacts")),
                    headers=KEY) as c:
        r = c.get("/dashboard/api/overview")
        assert r.status_code == 200 and r.json()["ready"] is True, r.text


def test_events_dated_far_in_the_future_are_refused_on_both_apis(signed, world):
    # Issue 13 #8 through the APIs: a 2099 event would move the next model's trained_until past every real one.
    item = world["item_ids"][0]
    r = signed.post("/v1/events", headers=KEY, json={"events": [{"user_id": "future", "item_id": item,
                                                                "timestamp": 4_070_908_800}]})
    assert r.status_code == 422 and "future" in r.json()["error"], r.text
    r = post_signed(signed, "/events", {"trackingId": "t", "userId": "future", "sessionId": "s",
                                        "eventList": [{"eventType": "click", "itemId": item, "sentAt": 4_070_908_800}]})
    assert r.status_code == 400 and r.json()["__type"] == "InvalidInputException", r.text
    r = signed.post("/v1/events", headers=KEY, json={"events": [{"user_id": "future", "item_id": item,
                                                                "timestamp": int(time.time()) + 600}]})
    assert r.status_code == 200  # clock skew within max_future_skew_s


# -- 5. 1,000-level nesting answered 500 -------------------------------------------------------------
@pytest.mark.parametrize("path", ["/recommendations", "/personalize-ranking", "/events", "/items", "/users"])
def test_deep_nesting_on_the_personalize_routes_is_a_400(signed, path):
    r = post_signed(signed, path, ('{"a": ' + DEEP + "}").encode())
    assert r.status_code == 400 and r.json()["__type"] == "SerializationException", r.text


@pytest.mark.parametrize(("path", "payload"), [
    ("/events", {"trackingId": "t", "sessionId": "s", "eventList": [
        {"eventType": "click", "itemId": "i", "sentAt": 1700000000, "properties": '{"a": ' + DEEP + "}"}]}),
    ("/items", {"datasetArn": DATASET_ITEMS, "items": [{"itemId": "i", "properties": '{"a": ' + DEEP + "}"}]}),
])
def test_deep_nesting_in_properties_is_a_400(signed, path, payload):
    r = post_signed(signed, path, payload)
    assert r.status_code == 400 and r.json()["__type"] == "InvalidInputException", r.text


def test_deep_nesting_in_filter_values_is_a_422(signed, world):
    user = world["cached_users"][0]
    r = signed.get(f"/v1/users/{user}/recommendations", params={
        "filter": 'EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ($C)', "filter_values": '{"C": ' + DEEP + "}"})
    assert r.status_code == 422 and "nested" in r.json()["error"], r.text
    r = signed.get(f"/v1/users/{user}/recommendations", params={"filter_values": DEEP})
    assert r.status_code == 422


# -- 3. answers showed the store URL -----------------------------------------------------------------
def test_store_errors_answer_without_the_store_url(signed, world, monkeypatch):
    url = "postgresql://homerec:secret@db.internal:5432/recs"
    def broken(*_args, **_kwargs):
        raise StoreError(f"cannot read history from the store at {url}: connection refused")
    svc = signed.app.state.service
    monkeypatch.setattr(svc.store, "user_items", broken)
    monkeypatch.setattr(svc.store, "get_recs", broken)
    for r in (signed.get("/v1/users/someone/recommendations"), signed.get("/readyz"),
              post_signed(signed, "/recommendations", {"campaignArn": CAMPAIGN, "userId": "someone"})):
        assert r.status_code == 503 and "db.internal" not in r.text and "secret" not in r.text, r.text


def test_not_ready_answers_name_no_path(world, tmp_path):
    registry = tmp_path / "secret-artifacts"
    Registry(registry)
    (registry / "ACTIVE").write_text("v9")  # an active version that cannot be loaded
    with TestClient(create_app(make_settings(world, artifact_dir=registry))) as c:
        for r in (c.get("/readyz"), c.get("/v1/users/u1/recommendations"),
                  c.post("/recommendations", json={"campaignArn": CAMPAIGN, "userId": "u1"})):
            assert r.status_code in (403, 503) and "secret-artifacts" not in r.text, r.text


# -- 6. a deleted user came back ---------------------------------------------------------------------
@pytest.fixture
def experiment_client(world, tmp_path):
    url = copy_store(world, tmp_path / "homerec.db")
    exp = Experiment("exp1", "salt1", "split", "control", (Variant("control", "model:active", 0.5),
                     Variant("candidate", "model:active", 0.5)), created_at=int(time.time()) - 5)
    store = open_store(url)
    try:
        store.put_experiment(exp.name, exp.to_json(), exp.status)
    finally:
        store.close()
    with TestClient(create_app(make_settings(world, store_url=url)), headers=KEY) as c:
        yield c


def test_exposures_still_buffered_when_a_user_is_deleted_are_never_written(experiment_client, world):
    c, user = experiment_client, world["cached_users"][2]
    for _ in range(6):
        assert c.get(f"/v1/users/{user}/recommendations").json()["experiment"] == "exp1"
    assert c.delete(f"/v1/users/{user}").status_code == 200
    c.app.state.router.exposures.flush()
    store = c.app.state.service.store
    assert store.exposures("exp1").filter(store.exposures("exp1")["user_id"] == user).height == 0


def test_dashboard_lookups_are_not_logged_as_served_lists(experiment_client, world):
    c, user = experiment_client, world["cached_users"][3]
    for _ in range(3):
        assert c.get(f"/dashboard/api/users/{user}").status_code == 200
    c.app.state.router.exposures.flush()
    assert c.app.state.service.store.exposures("exp1").height == 0


# -- 7. unsigned mode switched off every key check ---------------------------------------------------
def test_unsigned_personalize_writes_need_the_api_key(world, tmp_path):
    url = copy_store(world, tmp_path / "homerec.db")
    event = {"trackingId": "t", "userId": "unsigned-user", "sessionId": "s",
             "eventList": [{"eventType": "click", "itemId": world["item_ids"][0], "sentAt": int(time.time())}]}
    with TestClient(create_app(make_settings(world, store_url=url, personalize_unsigned=True))) as c:
        r = c.post("/events", json=event)
        assert r.status_code == 401 and r.json()["__type"] == "MissingAuthenticationTokenException"
        assert c.post("/events", json=event, headers={"x-api-key": "wrong"}).status_code == 403
        r = c.post("/items", json={"datasetArn": DATASET_ITEMS, "items": [{"itemId": "unsigned-item"}]})
        assert r.status_code == 401
        store = c.app.state.service.store
        assert store.history("unsigned-user").height == 0 and "unsigned-item" not in store.items()["item_id"]
        assert c.post("/events", json=event, headers=KEY).status_code == 200
        assert store.history("unsigned-user").height == 1
        r = c.post("/recommendations", json={"campaignArn": CAMPAIGN, "userId": "unsigned-user"})
        assert r.status_code == 200  # reads follow read_requires_key (off)


def test_an_unsigned_boto3_client_sends_the_key_as_the_readme_says(world, tmp_path):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    from tests.live import serve_app

    url = copy_store(world, tmp_path / "homerec.db")
    with serve_app(make_settings(world, store_url=url, personalize_unsigned=True)) as base:
        events = boto3.client("personalize-events", endpoint_url=base, region_name="eu-west-1",
                              config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
        event = {"eventType": "click", "itemId": world["item_ids"][0], "sentAt": int(time.time())}
        with pytest.raises(events.exceptions.ClientError, match="API key"):
            events.put_events(trackingId="t", userId="boto-user", sessionId="s", eventList=[event])
        events.meta.events.register("before-send.*", lambda request, **_: request.headers.__setitem__("x-api-key", API_KEY))
        events.put_events(trackingId="t", userId="boto-user", sessionId="s", eventList=[event])
    store = open_store(url)
    try:
        assert store.history("boto-user").height == 1
    finally:
        store.close()
