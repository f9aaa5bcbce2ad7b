# SPDX-License-Identifier: Apache-2.0
"""Two server processes over one store: an event one accepts is reflected in the other's very next answer.

The reading process answers from the batch's lists in its memory; the store's change feed tells
it which lists went stale, and a read checks the feed's commit token first, so no answer after
the event's acknowledgement is the stale list.
"""

import httpx

from tests.live import HomerecServer
from tests.serving.conftest import API_KEY, copy_store


def test_an_event_on_one_process_changes_the_next_answer_of_the_other(world, tmp_path):
    url = copy_store(world, tmp_path / "homerec.db")
    env = {"HOMEREC_API_KEYS": API_KEY, "HOMEREC_RELOAD_INTERVAL_S": "0"}
    users = world["cached_users"][:40]
    with (HomerecServer(url, world["artifacts"], tmp_path, name="writer", env=env) as writer,
          HomerecServer(url, world["artifacts"], tmp_path, name="reader", env=env) as reader,
          httpx.Client(base_url=writer.base, headers={"x-api-key": API_KEY}, timeout=10) as w,
          httpx.Client(base_url=reader.base, timeout=10) as r):
        stale = []
        for user in users:
            before = r.get(f"/v1/users/{user}/recommendations").json()
            assert before["source"] == "cache", before
            top = before["items"][0]["item_id"]
            ack = w.post("/v1/events", json={"events": [{"user_id": user, "item_id": top}]})
            assert ack.status_code == 200 and ack.json()["accepted"] == 1
            after = r.get(f"/v1/users/{user}/recommendations").json()  # the very next read, other process
            if top in {i["item_id"] for i in after["items"]} or after["source"] == "cache":
                stale.append((user, after["source"]))
        assert stale == [], f"{len(stale)} of {len(users)} answers were the stale cached list: {stale[:5]}"
        untouched = world["cached_users"][60]
        assert r.get(f"/v1/users/{untouched}/recommendations").json()["source"] == "cache"  # others stay cached
