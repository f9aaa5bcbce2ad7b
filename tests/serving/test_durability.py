# SPDX-License-Identifier: Apache-2.0
"""kill -9 of `homerec serve` while events are flowing: every acknowledged event survives the restart.

Why it holds: POST /v1/events answers 200 only after the store's transaction committed, and the
SQLite store runs in WAL mode with synchronous=NORMAL (homerec/storage/dialects.py). A commit has
been written (write(2)) into the -wal file before COMMIT returns, so it sits at least in the OS
page cache, which a killed process cannot take with it; the next open replays the WAL. Only an
OS crash or power cut could lose the last commits (synchronous=FULL would cover that too).
"""

import signal
import threading
import time

import httpx

from homerec.storage import open_store
from tests.live import HomerecServer
from tests.serving.conftest import API_KEY, copy_store

BATCH = 25


def _batch(n: int) -> list[dict]:
    """Events with unique ids; (user_id, item_id) is unique per event too, so the store can be checked."""
    return [{"user_id": f"kill9-u{n}", "item_id": f"kill9-i{n}-{j}", "event_type": "click",
             "timestamp": 1_700_000_000 + n, "event_id": f"kill9-{n}-{j}"} for j in range(BATCH)]


def test_acknowledged_events_survive_kill_9(world, tmp_path):
    store_url = copy_store(world, tmp_path / "homerec.db")
    acked: dict[str, tuple[str, str]] = {}  # event_id -> (user_id, item_id), only for 200 answers
    failures: list[str] = []
    stop = threading.Event()
    env = {"HOMEREC_API_KEYS": API_KEY, "HOMEREC_RELOAD_INTERVAL_S": "0"}
    server = HomerecServer(store_url, world["artifacts"], tmp_path, name="first", env=env)
    try:
        server.start()

        def send() -> None:
            n = 0
            with httpx.Client(base_url=server.base, headers={"x-api-key": API_KEY}, timeout=10) as client:
                while not stop.is_set():
                    events = _batch(n)
                    try:
                        r = client.post("/v1/events", json={"events": events})
                    except httpx.TransportError as err:  # the server is gone: what it answered counts
                        failures.append(f"transport: {err!r}")
                        return
                    if r.status_code == 200:
                        assert r.json() == {"accepted": BATCH, "duplicates": 0}, r.text
                        acked.update({e["event_id"]: (e["user_id"], e["item_id"]) for e in events})
                    else:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    n += 1

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        deadline = time.monotonic() + 60
        while len(acked) < 40 * BATCH:
            assert time.monotonic() < deadline and sender.is_alive(), f"events not acknowledged: {failures}"
            time.sleep(0.01)
        server.kill9()  # requests are still flowing
        assert server.proc.returncode == -signal.SIGKILL
        sender.join(timeout=20)
        stop.set()
        assert not sender.is_alive()
    finally:
        stop.set()
        server.stop()
    # The sender was cut off by the kill (a request was in flight or refused), never by an error answer.
    assert len(failures) == 1 and failures[0].startswith("transport"), failures
    snapshot = dict(acked)

    restarted = HomerecServer(store_url, world["artifacts"], tmp_path, name="second", env=env)
    try:
        restarted.start()
        store = open_store(store_url)
        try:
            with store._engine.connect() as conn:  # the durability settings really are in force
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            frame = store.interactions()
            stored = set(zip(frame["user_id"].to_list(), frame["item_id"].to_list(), strict=True))
            first_user = next(iter(snapshot.values()))[0]
            assert first_user in store.history(first_user)["user_id"].to_list()
        finally:
            store.close()
        lost = [eid for eid, pair in snapshot.items() if pair not in stored]
        assert lost == [], f"{len(lost)} of {len(snapshot)} acknowledged events lost, e.g. {lost[:5]}"
        # The ids made it too: the restarted server sees every acknowledged id as a duplicate.
        ids = list(snapshot)
        with httpx.Client(base_url=restarted.base, headers={"x-api-key": API_KEY}, timeout=30) as client:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                events = [{"user_id": snapshot[i][0], "item_id": snapshot[i][1], "event_id": i} for i in chunk]
                r = client.post("/v1/events", json={"events": events})
                assert r.status_code == 200 and r.json() == {"accepted": 0, "duplicates": len(chunk)}, r.text
    finally:
        restarted.stop()
