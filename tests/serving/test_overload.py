# SPDX-License-Identifier: Apache-2.0
"""Overload: past max_in_flight requests the answer is 503 + Retry-After (JSON), never a 500 or a crash."""

import asyncio
import threading
import time

import httpx
from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.serving.overload import OverloadMiddleware
from tests.serving.conftest import make_settings


def test_middleware_sheds_requests_past_the_limit():
    async def main() -> None:
        gate = asyncio.Event()

        async def slow(scope, receive, send):
            await gate.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        app = OverloadMiddleware(slow, max_in_flight=2, retry_after_s=3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            held = [asyncio.create_task(client.get("/v1/x")) for _ in range(2)]
            await asyncio.sleep(0.05)
            assert app.in_flight == 2
            refused = await client.get("/v1/x")
            assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
            assert "overloaded" in refused.json()["error"]
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
            assert app.in_flight == 0 and app.rejected == 1
            assert (await client.get("/v1/x")).status_code == 200  # answers again once the load is gone

    asyncio.run(main())


def test_app_with_max_in_flight_1_under_concurrent_load(world):
    app = create_app(make_settings(world, max_in_flight=1))
    statuses: list[int] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        router = app.state.router
        scored = router.scored

        def slow_scored(req):
            time.sleep(0.05)
            return scored(req)

        router.cached = lambda req: None  # every request goes to a worker thread, slowly
        router.scored = slow_scored
        user = world["cached_users"][0]

        def hammer() -> None:
            for _ in range(5):
                r = client.get(f"/v1/users/{user}/recommendations")
                statuses.append(r.status_code)
                if r.status_code == 503:
                    assert r.headers["retry-after"] and "error" in r.json()

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert client.get("/healthz").status_code == 200
        router.scored = scored
        del router.cached  # the class's own again
        after = client.get(f"/v1/users/{user}/recommendations")
        assert after.status_code == 200 and len(after.json()["items"]) == 10
        assert client.get("/readyz").status_code == 200
    assert len(statuses) == 40 and set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) > 0 and statuses.count(200) > 0


def test_max_in_flight_is_a_setting(world):
    assert make_settings(world).max_in_flight == 256
