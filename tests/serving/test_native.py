# SPDX-License-Identifier: Apache-2.0
"""The native API end to end over a trained fixture: sources, real-time events, writes, metrics."""

from homerec.models.base import FALLBACK_REASON
from homerec.storage import open_store


def recs(client, user_id: str, **params) -> dict:
    r = client.get(f"/v1/users/{user_id}/recommendations", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_health_and_ready(client, world):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["model_version"] == world["version"]


def test_cached_answer_then_event_makes_it_live(client, world, auth):
    user = world["cached_users"][0]
    first = recs(client, user)
    assert first["source"] == "cache" and first["model_version"] == world["version"]
    assert len(first["items"]) == 10 and 0 < len(first["recommendation_id"]) <= 40
    assert set(first["items"][0]) == {"item_id", "score", "score10", "reason", "exploration"}
    bought = first["items"][0]["item_id"]
    r = client.post("/v1/events", json={"events": [{"user_id": user, "item_id": bought}]}, headers=auth)
    assert r.status_code == 200 and r.json() == {"accepted": 1, "duplicates": 0}
    after = recs(client, user)
    assert after["source"] == "model"
    assert bought not in {i["item_id"] for i in after["items"]}
    assert len(after["items"]) == 10


def test_new_user_is_personalised_from_first_events(client, world, auth):
    user = "brand-new-user"
    cold = recs(client, user, num_results=5)
    assert cold["source"] == "fallback" and len(cold["items"]) == 5
    assert all(i["reason"] == FALLBACK_REASON for i in cold["items"])
    bought = world["item_ids"][:3]
    events = [{"user_id": user, "item_id": i, "event_type": "purchase", "event_value": 9.5} for i in bought]
    assert client.post("/v1/events", json={"events": events}, headers=auth).json()["accepted"] == 3
    warm = recs(client, user, num_results=5)
    assert warm["source"] == "model"
    assert not set(bought) & {i["item_id"] for i in warm["items"]}
    assert [i["item_id"] for i in warm["items"]] != [i["item_id"] for i in cold["items"]]


def test_events_are_idempotent_on_event_id(client, world, auth):
    e = {"user_id": "dup-user", "item_id": world["item_ids"][5], "timestamp": 1_750_000_000, "event_id": "ev-1"}
    assert client.post("/v1/events", json={"events": [e]}, headers=auth).json() == {"accepted": 1, "duplicates": 0}
    assert client.post("/v1/events", json={"events": [e]}, headers=auth).json() == {"accepted": 0, "duplicates": 1}
    no_id = {k: v for k, v in e.items() if k != "event_id"} | {"timestamp": 1_750_000_001}
    assert client.post("/v1/events", json={"events": [no_id]}, headers=auth).json()["accepted"] == 1
    assert client.post("/v1/events", json={"events": [no_id]}, headers=auth).json()["duplicates"] == 1


def test_num_results_min_score_and_exclude(client, world):
    user = world["cached_users"][1]
    full = recs(client, user, num_results=50)
    assert len(full["items"]) == 50 and full["source"] == "model"  # the cache holds 20: too short
    scores = [i["score10"] for i in full["items"]]
    assert all(0 <= s <= 10 for s in scores)
    cut = recs(client, user, num_results=50, min_score=5)
    assert all(i["score10"] >= 5 for i in cut["items"])
    top = [i["item_id"] for i in full["items"][:2]]
    without = recs(client, user, exclude=",".join(top))
    assert not set(top) & {i["item_id"] for i in without["items"]}


def test_similar_items(client, world):
    item = world["item_ids"][0]
    r = client.get(f"/v1/items/{item}/similar", params={"num_results": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "cache" and len(body["items"]) == 5
    assert item not in {i["item_id"] for i in body["items"]}
    live = client.get(f"/v1/items/{item}/similar", params={"num_results": 40}).json()
    assert live["source"] == "model" and len(live["items"]) == 40
    r = client.get("/v1/items/no-such-item/similar")
    assert r.status_code == 404 and "no-such-item" in r.json()["error"]


def test_ranking(client, world):
    user = world["cached_users"][2]
    wanted = world["item_ids"][10:15] + ["not-an-item"]
    r = client.post(f"/v1/users/{user}/ranking", json={"item_ids": wanted, "context": {"device": "web"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "model"
    assert sorted(i["item_id"] for i in body["items"]) == sorted(wanted)
    assert body["items"][-1]["item_id"] == "not-an-item" and body["items"][-1]["score"] == 0
    scores = [i["score"] for i in body["items"][:-1]]
    assert scores == sorted(scores, reverse=True)
    cold = client.post("/v1/users/nobody-at-all/ranking", json={"item_ids": wanted}).json()
    assert cold["source"] == "fallback"


def test_put_item_and_user(client, world, auth):
    r = client.put("/v1/items/NEW-ITEM-1", json={"CATEGORY": ["Plumbing", "Tools"], "PRICE": 12.5, "BRAND": "Acme"},
                   headers=auth)
    assert r.status_code == 200 and r.json() == {"item_id": "NEW-ITEM-1", "changed": True}
    assert client.put("/v1/items/NEW-ITEM-1", json={"CATEGORY": ["Plumbing", "Tools"], "PRICE": 12.5, "BRAND": "Acme"},
                      headers=auth).json()["changed"] is False
    r = client.put("/v1/users/someone", json={"MEMBERSHIP": "gold", "AGE": 41}, headers=auth)
    assert r.status_code == 200 and r.json()["changed"] is True
    store = open_store(world["store_url"])
    try:
        items = store.items()
        row = items.filter(items["item_id"] == "NEW-ITEM-1").to_dicts()[0]
        assert row["CATEGORY"] == "Plumbing|Tools" and row["PRICE"] == "12.5"
        users = store.users()
        assert users.filter(users["user_id"] == "someone")["MEMBERSHIP"].to_list() == ["gold"]
    finally:
        store.close()


def test_delete_user(client, world, auth):
    user = "to-be-forgotten"
    events = [{"user_id": user, "item_id": i} for i in world["item_ids"][20:24]]
    client.post("/v1/events", json={"events": events}, headers=auth)
    client.put(f"/v1/users/{user}", json={"TIER": "x"}, headers=auth)
    assert recs(client, user)["source"] == "model"
    r = client.delete(f"/v1/users/{user}", headers=auth)
    assert r.status_code == 200
    assert r.json() == {"user_id": user, "removed": {"interactions": 4, "users": 1, "rec_cache": 0, "exposures": 0,
                                                     "event_links": 0}}
    assert recs(client, user)["source"] == "fallback"
    cached = world["cached_users"][3]
    removed = client.delete(f"/v1/users/{cached}", headers=auth).json()["removed"]
    assert removed["rec_cache"] == 1 and removed["interactions"] > 0


def test_metrics(client, world):
    source = recs(client, world["cached_users"][4])["source"]  # cache, or model once other tests added products
    text = client.get("/metrics").text
    assert f'homerec_answers_total{{endpoint="recommendations",source="{source}"}}' in text
    assert "homerec_events_ingested_total" in text
    assert f'homerec_model_info{{version="{world["version"]}"}} 1.0' in text
    assert 'route="/v1/users/{user_id}/recommendations"' in text
    assert "homerec_request_seconds_bucket" in text


def test_admin_reload(client, world, auth):
    assert client.post("/v1/admin/reload").status_code == 401
    r = client.post("/v1/admin/reload", headers=auth)
    assert r.status_code == 200
    assert r.json() == {"model_version": world["version"], "previous": world["version"], "changed": False}
