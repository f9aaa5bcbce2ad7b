# SPDX-License-Identifier: Apache-2.0
"""The dashboard's page and JSON routes through the app, over a copy of the world with an experiment."""

import re

import polars as pl
import pytest
from starlette.testclient import TestClient

from homerec.data.schema import USER_RECS
from homerec.experiments.spec import Experiment, Variant
from homerec.serving import create_app
from homerec.storage import open_store
from tests.serving.conftest import API_KEY, make_settings
from tests.serving.dashboard_seed import EXPERIMENT, RECENT_EVENTS, seed


@pytest.fixture(scope="module")
def seeded(world, tmp_path_factory):
    return seed(world, tmp_path_factory.mktemp("dashboard") / "homerec.db")


@pytest.fixture(scope="module")
def dash(world, seeded):
    with TestClient(create_app(make_settings(world, store_url=seeded.store_url)), headers={"x-api-key": API_KEY}) as c:
        yield c


def test_the_page_is_self_contained(dash, world):
    r = dash.get("/dashboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "<script>" in page and "dashboard/api/" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "no external assets"
    assert "@import" not in page and "fetch(\"http" not in page


def test_overview_lists_the_models_and_marks_the_active_one(dash, world):
    o = dash.get("/dashboard/api/overview").json()
    assert o["active"] == world["version"] and o["server"]["model_version"] == world["version"]
    assert o["ready"] is True
    [model] = [m for m in o["models"] if m["version"] == world["version"]]
    assert model["active"] is True and model["model"] == "hybrid"
    assert 0 < model["validation_ndcg"] <= 1 and model["validation_ndcg"] == model["parts"]["hybrid"]
    assert model["n_interactions"] > 0 and model["created_at"] > 0
    assert o["server"]["uptime_s"] >= 0 and o["server"]["homerec_version"]


def test_overview_shows_cache_freshness_and_event_rate(dash, world, seeded):
    o = dash.get("/dashboard/api/overview").json()
    cache = {c["namespace"]: c for c in o["cache"]}
    assert cache[USER_RECS]["rows"] > 0 and cache[USER_RECS]["model_versions"] == [world["version"]]
    assert cache[USER_RECS]["current"] is True
    assert cache[USER_RECS]["oldest"] <= cache[USER_RECS]["newest"] <= o["now"]
    ev = o["events"]
    assert len(ev["per_minute"]) == 60 and sum(ev["per_minute"]) == ev["last_hour"]
    # the seeded exposures' clicks and purchases fall in the last hour too (all but the oldest few)
    assert ev["last_hour"] >= RECENT_EVENTS
    assert ev["last_5min"] == sum(1 for i in range(RECENT_EVENTS) if 40 * i < 300 - (o["now"] - seeded.now))
    assert ev["by_type"]["view"] == RECENT_EVENTS // 2
    assert o["counts"]["interactions"] > ev["last_hour"]


def test_served_lists_are_counted_by_source(dash, world):
    before = dash.get("/dashboard/api/overview").json()["server"]["served_by_source"]
    assert dash.get(f"/v1/users/{world['cached_users'][1]}/recommendations").status_code == 200
    after = dash.get("/dashboard/api/overview").json()["server"]["served_by_source"]
    assert sum(after.values()) == sum(before.values()) + 1


def test_experiments_carry_split_and_live_metrics(dash, world, seeded):
    body = dash.get("/dashboard/api/experiments").json()
    [e] = body["experiments"]
    assert e["name"] == EXPERIMENT and e["status"] == "running" and e["mode"] == "split"
    assert e["control"] == "control" and e["error"] is None
    assert [(v["name"], v["share"]) for v in e["variants"]] == [("control", 0.5), ("candidate", 0.5)]
    assert e["variants"][1]["model"] == f"model {world['version']}"
    r = e["report"]
    for name, v in r["variants"].items():
        assert v["users"] == seeded.users_per_variant.get(name, 0)
        assert v["exposures"] == seeded.exposures_per_variant.get(name, 0)
        ctr = v["metrics"]["ctr"]
        assert ctr["value"] == pytest.approx(seeded.clicked_per_variant.get(name, 0) / v["exposures"])
        assert ctr["ci_low"] <= ctr["value"] <= ctr["ci_high"]
    assert r["variants"]["control"]["lift"] is None and "ctr" in r["variants"]["candidate"]["lift"]
    assert r["summary"]


def test_a_broken_experiment_does_not_hide_the_others(world, tmp_path):
    s = seed(world, tmp_path / "homerec.db", users=4)
    store = open_store(s.store_url)
    try:
        store.put_experiment("broken", '{"name": "broken"}', "stopped")
    finally:
        store.close()
    with TestClient(create_app(make_settings(world, store_url=s.store_url)), headers={"x-api-key": API_KEY}) as c:
        exps = {e["name"]: e for e in c.get("/dashboard/api/experiments").json()["experiments"]}
    assert exps[EXPERIMENT]["report"] is not None and exps[EXPERIMENT]["error"] is None
    assert exps["broken"]["report"] is None and "not a valid experiment spec" in exps["broken"]["error"]


def test_a_breached_guardrail_is_reported(world, tmp_path):
    s = seed(world, tmp_path / "homerec.db", users=4)
    exp = Experiment(name="bad-candidate", salt="g", mode="split", control="a", guardrail="ctr",
                     created_at=s.now - 3600, variants=(Variant("a", "model:active", 0.5),
                                                        Variant("b", "model:active", 0.5)))
    exposures = [{"recommendation_id": f"g-{v}-{n}", "experiment": exp.name, "variant": v, "user_id": f"g-{v}-{n}",
                  "items": ["i1", "i2"], "ts": s.now - 600, "served": True} for v in "ab" for n in range(100)]
    clicks = pl.DataFrame({"user_id": [f"g-a-{n}" for n in range(60)], "item_id": ["i1"] * 60,
                           "ts": [s.now - 500] * 60, "event_type": ["click"] * 60,
                           "recommendation_id": [f"g-a-{n}" for n in range(60)]})
    store = open_store(s.store_url)
    try:
        store.put_experiment(EXPERIMENT, s.experiment.stopped().to_json(), "stopped")
        store.put_experiment(exp.name, exp.to_json(), exp.status)
        store.add_exposures(pl.DataFrame(exposures))
        store.add_interactions(clicks)
    finally:
        store.close()
    with TestClient(create_app(make_settings(world, store_url=s.store_url)), headers={"x-api-key": API_KEY}) as c:
        exps = {e["name"]: e for e in c.get("/dashboard/api/experiments").json()["experiments"]}
    assert exps[EXPERIMENT]["status"] == "stopped" and exps[EXPERIMENT]["guardrail_breach"] is None
    bad = exps["bad-candidate"]
    assert bad["guardrail"] == "ctr" and bad["report"]["variants"]["b"]["metrics"]["ctr"]["value"] == 0
    assert "b is significantly worse than a on CTR" in bad["guardrail_breach"]


def test_user_lookup_shows_history_and_recommendations(dash, world, seeded):
    user = seeded.recent_user
    u = dash.get(f"/dashboard/api/users/{user}", params={"k": 7}).json()
    assert u["user_id"] == user and u["known"] is True and u["model_version"] == world["version"]
    assert 0 < len(u["history"]) <= 50 and u["events_total"] >= len(u["history"])
    stamps = [e["ts"] for e in u["history"]]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] == seeded.now  # newest first
    recs = u["recommendations"]
    assert len(recs) == 7 and [r["rank"] for r in recs] == list(range(1, 8))
    assert all(0 <= r["score10"] <= 10 and r["reason"] for r in recs)
    assert u["source"] == "model"  # the seeded events are newer than the cached list
    assert not {r["item_id"] for r in recs} & {e["item_id"] for e in u["history"]}
    assert u["experiment"]["name"] == EXPERIMENT
    assert u["experiment"]["served"] in seeded.users_per_variant


def test_a_cached_user_gets_the_precomputed_list(dash, world, seeded):
    quiet = world["cached_users"][-1]  # not one of the seeded experiment users
    u = dash.get(f"/dashboard/api/users/{quiet}").json()
    assert u["source"] == "cache" and len(u["recommendations"]) == 10
    assert all("precomputed" in r["reason"] for r in u["recommendations"])


def test_an_unknown_user_gets_the_fallback_list(dash):
    u = dash.get("/dashboard/api/users/nobody-we-know").json()
    assert u["known"] is False and u["history"] == [] and u["events_total"] == 0
    assert u["source"] == "fallback" and len(u["recommendations"]) == 10


@pytest.mark.parametrize("path", [
    "/dashboard/api/users/" + "u" * 257,
    "/dashboard/api/users/bad%01id",
    "/dashboard/api/users/u1?k=0",
    "/dashboard/api/users/u1?k=101",
    "/dashboard/api/users/u1?k=many",
    "/dashboard/api/users/u1?k=3&k=4",
    "/dashboard/api/users/u1?limit=3",
])
def test_bad_lookups_are_422(dash, path):
    r = dash.get(path)
    assert r.status_code == 422 and r.json()["error"]


@pytest.mark.parametrize("read_requires_key", [True, False])
def test_the_json_routes_need_the_key_whenever_keys_are_set(world, seeded, read_requires_key):
    # Issue 13 #6: the lookup showed any user's last 50 events to callers without a key.
    settings = make_settings(world, store_url=seeded.store_url, read_requires_key=read_requires_key)
    with TestClient(create_app(settings)) as c:
        assert c.get("/dashboard").status_code == 200  # the page holds no data; it asks for the key
        for path in ("overview", "experiments", "users/u1"):
            assert c.get(f"/dashboard/api/{path}").status_code == 401
            assert c.get(f"/dashboard/api/{path}", headers={"x-api-key": "wrong"}).status_code == 403
            assert c.get(f"/dashboard/api/{path}", headers={"x-api-key": API_KEY}).status_code == 200


def test_without_keys_the_json_routes_are_open(world, seeded):
    with TestClient(create_app(make_settings(world, store_url=seeded.store_url, api_keys=[]))) as c:
        assert c.get("/dashboard/api/users/u1").status_code == 200


def test_without_a_model_the_overview_still_answers(world, seeded, tmp_path):
    settings = make_settings(world, store_url=seeded.store_url, artifact_dir=tmp_path / "empty-registry")
    with TestClient(create_app(settings), headers={"x-api-key": API_KEY}) as c:
        o = c.get("/dashboard/api/overview").json()
        assert o["ready"] is False and o["models"] == [] and o["active"] is None
        assert o["server"]["model_version"] is None
        assert c.get("/dashboard/api/experiments").status_code == 200
        r = c.get("/dashboard/api/users/u1")
        assert r.status_code == 503 and "homerec train" in r.json()["error"]
