# SPDX-License-Identifier: Apache-2.0
"""The batch's lists in a worker's memory, and the change feed that says which are still right."""

import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS
from homerec.serving.freshness import Freshness
from homerec.serving.served_lists import ListTable, ServedLists
from homerec.storage import open_store


def events(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"user_id": pl.String, "item_id": pl.String, "ts": pl.Int64}, orient="row")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lists.db'}"


def test_a_table_holds_every_list_as_written(url):
    store = open_store(url)
    try:
        store.put_recs(USER_RECS, [("u1", [("i1", 0.5), ("i2", 0.25)]), ("u2", [("i3", 1.5)]), ("u3", [])], "v1",
                       computed_at=100, feed_seq=7)
        store.put_recs(USER_RECS, [("u4", [("i2", 2.0), ("i1", 1.0), ("i4", 0.5)])], "v2", computed_at=200, feed_seq=9)
        table = ListTable.from_frame(store.cached_lists(USER_RECS))
    finally:
        store.close()
    assert len(table) == 4 and table.get("nobody") is None
    row = table.get("u1")
    assert row.item_ids == ["i1", "i2"] and np.allclose(row.scores, [0.5, 0.25])
    assert (row.model_version, row.computed_at, row.feed_seq) == ("v1", 100, 7)
    assert table.get("u3").item_ids == [] and table.get("u2").item_ids == ["i3"]
    u4 = table.get("u4")
    assert u4.item_ids == ["i2", "i1", "i4"] and u4.model_version == "v2" and u4.feed_seq == 9
    assert table.oldest_feed_seq() == 7 and table.scores.dtype == np.float32 and table.items.dtype == np.int32


def test_reload_swaps_every_namespace(url):
    store = open_store(url)
    try:
        lists = ServedLists(store)
        assert lists.reload() == {USER_RECS: 0, SIMILAR_ITEMS: 0}
        store.put_recs(SIMILAR_ITEMS, [("i1", [("i2", 0.9)])], "v1", feed_seq=3)
        store.put_recs(USER_RECS, [("u1", [("i2", 0.9)])], "v1", feed_seq=5)
        old = lists.table(USER_RECS)
        assert lists.reload() == {USER_RECS: 1, SIMILAR_ITEMS: 1}
        assert lists.table(USER_RECS) is not old and lists.table(SIMILAR_ITEMS).get("i1").item_ids == ["i2"]
        assert lists.oldest_feed_seq() == 3
    finally:
        store.close()


def test_a_change_committed_by_another_process_reaches_the_worker_within_milliseconds(url):
    worker_store, other = open_store(url), open_store(url)  # two connections, as two processes have
    items_seen, recs_seen = threading.Event(), threading.Event()
    fresh = Freshness(worker_store, on_items=items_seen.set, on_recs=recs_seen.set, settle_s=0.2, wait_s=0.2)
    try:
        other.add_interactions(events(("u1", "i1", 100)))
        position = other.change_position()
        other.put_recs(USER_RECS, [("u1", [("i2", 1.0)]), ("u2", [("i1", 1.0)])], "v1", feed_seq=position)
        assert not fresh.is_fresh("u1", position)  # not following the feed yet: trusts nothing
        fresh.catch_up(0)
        fresh.start()
        assert fresh.is_fresh("u1", position) and fresh.is_fresh("u2", position)
        assert not fresh.is_fresh("u2", 0)  # a list from before the feed existed
        started = time.monotonic()
        other.add_interactions(events(("u2", "i3", 200)))
        while fresh.is_fresh("u2", position):
            assert time.monotonic() - started < 1.0, "the change did not arrive"
            time.sleep(0.001)
        assert fresh.is_fresh("u1", position)
        other.delete_user("u1")
        other.upsert_items(pl.DataFrame({"item_id": ["i9"], "CATEGORY": ["x"]}))
        assert items_seen.wait(2.0)
        deadline = time.monotonic() + 1.0
        while fresh.is_fresh("u1", position) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert not fresh.is_fresh("u1", position)
        other.put_recs(USER_RECS, [("u3", [("i1", 1.0)])], "v1", feed_seq=other.change_position())
        assert recs_seen.wait(3.0)  # once the batch has been quiet for settle_s
        fresh.touch(["u3"])  # this worker's own events: stale at once
        assert not fresh.is_fresh("u3", other.change_position())
        fresh.forget_before(other.change_position())
        assert "u2" not in fresh.changed and "u3" in fresh.changed
    finally:
        fresh.stop()
        worker_store.close()
        other.close()


def test_a_silent_feed_makes_every_list_untrusted(url, monkeypatch):
    store = open_store(url)
    fresh = Freshness(store)
    try:
        store.add_interactions(events(("u1", "i1", 100)))
        fresh.catch_up(0)
        fresh.start()
        assert fresh.is_fresh("u2", store.change_position())
        fresh.stop()  # the thread no longer moves last_ok
        fresh.last_ok = time.monotonic() - 60  # as if the feed had stopped answering a minute ago
        assert not fresh.is_fresh("u2", store.change_position())
        fresh.last_ok = None  # not following at all
        assert not fresh.is_fresh("u2", store.change_position())
    finally:
        store.close()
