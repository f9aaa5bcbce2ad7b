# SPDX-License-Identifier: Apache-2.0
"""Model versions swapped under load with zero failures, and the real `homerec serve` process."""

import shutil
import threading
import time

import httpx
from starlette.testclient import TestClient

from homerec.models.registry import Registry
from homerec.serving import create_app
from tests.serving.conftest import make_settings
from tests.live import HomerecServer


def test_promote_and_rollback_under_load_without_failures(world, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(world["artifacts"], artifacts)
    registry = Registry(artifacts)
    v1 = registry.active()
    v2 = registry.register(registry.load(v1), registry.info(v1).meta, activate=False)
    users = world["cached_users"][:20] + ["cold-a", "cold-b"]
    seen: set[str] = set()
    failures: list[str] = []
    stop = threading.Event()
    with TestClient(create_app(make_settings(world, artifact_dir=artifacts, reload_interval_s=0.05))) as client:

        def hammer(n: int) -> None:
            i = n
            while not stop.is_set():
                r = client.get(f"/v1/users/{users[i % len(users)]}/recommendations", params={"num_results": 5})
                i += 1
                if r.status_code != 200 or len(r.json()["items"]) != 5:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                else:
                    seen.add(r.json()["model_version"])

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        try:
            for target, change in ((v2, lambda: registry.promote(v2)), (v1, registry.rollback)):
                change()
                deadline = time.monotonic() + 20
                while client.get("/readyz").json()["model_version"] != target:
                    assert time.monotonic() < deadline, f"the server never swapped to {target}"
                    time.sleep(0.05)
                time.sleep(0.3)  # keep the load on the new version for a moment
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert failures == []
    assert seen == {v1, v2}


def test_homerec_serve_with_two_workers(world, tmp_path):
    with HomerecServer(world["store_url"], world["artifacts"], tmp_path, args=["--workers", "2"]) as server:
        base = server.base
        r = httpx.get(f"{base}/v1/users/{world['cached_users'][5]}/recommendations", timeout=10)
        assert r.status_code == 200 and r.json()["source"] == "cache" and len(r.json()["items"]) == 10
        assert r.json()["model_version"] == world["version"]
        # /metrics adds up both workers: new connections land on either, every scrape counts all
        for user in world["cached_users"][:30]:
            with httpx.Client(base_url=base, timeout=10) as fresh:  # a new connection each time
                assert fresh.get(f"/v1/users/{user}/recommendations").status_code == 200
        for _ in range(4):
            with httpx.Client(base_url=base, timeout=10) as fresh:
                text = fresh.get("/metrics").text
            served = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                         if line.startswith("homerec_answers_total{") and 'endpoint="recommendations"' in line)
            assert served == 31, text[:2000]
            assert 'homerec_model_info{version="' + world["version"] + '"} 1.0' in text
