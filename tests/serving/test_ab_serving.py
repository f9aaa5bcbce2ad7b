# SPDX-License-Identifier: Apache-2.0
"""Serving under an experiment: split and shadow routing, exposure logging, endpoint fallback, live traffic moves."""

import shutil
import threading
import time
from collections import Counter

import pytest
from starlette.testclient import TestClient

from homerec.experiments.assign import assign
from homerec.experiments.spec import Experiment, Variant
from homerec.models.registry import Registry
from homerec.serving import create_app
from homerec.storage import open_store
from tests.serving.conftest import copy_store, make_settings


@pytest.fixture
def ab_world(world, tmp_path):
    """A private store and registry with v1 active and a copy v2 to test as the candidate."""
    url = copy_store(world, tmp_path / "h.db")
    shutil.copytree(world["artifacts"], tmp_path / "artifacts")
    registry = Registry(tmp_path / "artifacts")
    v1 = registry.active()
    v2 = registry.register(registry.load(v1), registry.info(v1).meta, activate=False)
    return {**world, "store_url": url, "artifacts": tmp_path / "artifacts",
            "v1": v1, "v2": v2}


def experiment(candidate: str, share: float, mode: str = "split", timeout_ms: int = 300) -> Experiment:
    return Experiment("exp1", "salt1", mode, "control", (
        Variant("control", "model:active", 1 - share), Variant("candidate", candidate, share, timeout_ms)),
        created_at=int(time.time()) - 5)


def put(store_url: str, exp: Experiment) -> None:
    store = open_store(store_url)
    try:
        store.put_experiment(exp.name, exp.to_json(), exp.status)
    finally:
        store.close()


def users(world: dict, n: int) -> list[str]:
    return (world["cached_users"] + [f"new-user-{i}" for i in range(n)])[:n]


def test_split_serves_each_user_their_variant_and_logs_every_list(ab_world, auth):
    exp = experiment(f"model:{ab_world['v2']}", 0.5)
    put(ab_world["store_url"], exp)
    with TestClient(create_app(make_settings(ab_world))) as client:
        router = client.app.state.router
        answers = {}
        for u in users(ab_world, 120):
            body = client.get(f"/v1/users/{u}/recommendations", params={"num_results": 5}).json()
            answers[u] = body
            assert body["experiment"] == "exp1" and body["variant"] == assign(exp, u)
            assert body["model_version"] == (ab_world["v2"] if body["variant"] == "candidate" else ab_world["v1"])
        assert set(Counter(b["variant"] for b in answers.values())) == {"control", "candidate"}
        router.exposures.flush()
        store = client.app.state.service.store
        logged = store.exposures("exp1")
        assert logged.height == len(answers) and logged["served"].all()
        by_id = {r["recommendation_id"]: r for r in logged.to_dicts()}
        for u, b in answers.items():
            row = by_id[b["recommendation_id"]]
            assert (row["user_id"], row["variant"], row["items"]) == (u, b["variant"], [i["item_id"] for i in b["items"]])
        # a click echoing the recommendation_id is linked to that list
        u, b = next(iter(answers.items()))
        r = client.post("/v1/events", json={"events": [{"user_id": u, "item_id": b["items"][0]["item_id"],
                        "event_type": "click", "recommendation_id": b["recommendation_id"]}]}, headers=auth)
        assert r.status_code == 200
        linked = store.attributable_events(0).filter(store.attributable_events(0)["recommendation_id"].is_not_null())
        assert linked["recommendation_id"].to_list() == [b["recommendation_id"]]


def test_shadow_serves_the_control_and_logs_the_candidate_unserved(ab_world):
    exp = experiment(f"model:{ab_world['v2']}", 0.5, mode="shadow")
    put(ab_world["store_url"], exp)
    with TestClient(create_app(make_settings(ab_world))) as client:
        router = client.app.state.router
        names = users(ab_world, 60)
        for u in names:
            body = client.get(f"/v1/users/{u}/recommendations").json()
            assert body["variant"] == "control" and body["model_version"] == ab_world["v1"]
        router._shadow.submit(lambda: None).result()  # the shadow thread has caught up
        router.exposures.flush()
        logged = client.app.state.service.store.exposures("exp1")
    served, shadow = logged.filter(logged["served"]), logged.filter(~logged["served"])
    assert served.height == len(names)
    assert sorted(shadow["user_id"].to_list()) == sorted(u for u in names if assign(exp, u) == "candidate")
    assert set(shadow["variant"]) == {"candidate"}


def test_a_failing_endpoint_variant_falls_back_to_the_control(ab_world):
    exp = experiment("endpoint:http://127.0.0.1:9#arn:aws:personalize:us-east-1:1:campaign/old", 1.0, timeout_ms=200)
    put(ab_world["store_url"], exp)
    with TestClient(create_app(make_settings(ab_world))) as client:
        u = ab_world["cached_users"][0]
        r = client.get(f"/v1/users/{u}/recommendations", params={"num_results": 5})
        assert r.status_code == 200 and len(r.json()["items"]) == 5
        assert r.json()["variant"] == "candidate" and r.json()["model_version"] == ab_world["v1"]
        assert client.app.state.router.endpoint_failures == 1


def test_traffic_moves_and_rollback_reach_a_running_server_without_a_failed_request(ab_world):
    exp = experiment(f"model:{ab_world['v2']}", 0.0)
    put(ab_world["store_url"], exp)
    names = users(ab_world, 40)
    failures: list[str] = []
    seen: list[tuple[float, str, str | None]] = []
    stop = threading.Event()
    settings = make_settings(ab_world, reload_interval_s=0.05)
    with TestClient(create_app(settings)) as client:

        def hammer(n: int) -> None:
            i = n
            while not stop.is_set():
                user = names[i % len(names)]
                r = client.get(f"/v1/users/{user}/recommendations", params={"num_results": 5})
                i += 1
                if r.status_code != 200 or len(r.json()["items"]) != 5:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                else:
                    seen.append((time.monotonic(), user, r.json()["variant"]))

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        try:
            for spec in (exp.with_traffic(10), exp.with_traffic(50), exp.with_traffic(100), exp.rolled_back()):
                put(ab_world["store_url"], spec)
                time.sleep(0.5)  # past the reload interval
                mark = time.monotonic()
                time.sleep(0.5)
                recent = [(u, v) for t, u, v in seen if t >= mark]
                assert recent
                # every answer now follows the new split exactly; after the rollback no experiment runs
                expected = {u: assign(spec, u) if spec.status == "running" else None for u, _ in recent}
                assert [v for _, v in recent] == [expected[u] for u, _ in recent], spec.shares
            assert {v for _, _, v in seen} == {"control", "candidate", None}
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert failures == []


def test_a_rollback_keeps_routing_everyone_to_a_pinned_control_until_stopped(ab_world):
    exp = Experiment("exp1", "salt1", "split", "control", (
        Variant("control", f"model:{ab_world['v1']}", 0.0), Variant("candidate", f"model:{ab_world['v2']}", 1.0)),
        created_at=int(time.time()) - 5)
    put(ab_world["store_url"], exp)
    with TestClient(create_app(make_settings(ab_world))) as client:
        state = client.app.state.router.experiments

        def versions() -> set[tuple[str | None, str]]:
            return {(b["variant"], b["model_version"]) for b in
                    (client.get(f"/v1/users/{u}/recommendations").json() for u in users(ab_world, 20))}

        assert versions() == {("candidate", ab_world["v2"])}
        put(ab_world["store_url"], exp.rolled_back())
        state.reload()
        assert versions() == {("control", ab_world["v1"])}
        put(ab_world["store_url"], exp.rolled_back().stopped())
        state.reload()
        assert versions() == {(None, ab_world["v1"])}  # stopped: the active version, no experiment
