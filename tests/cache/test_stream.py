# SPDX-License-Identifier: Apache-2.0
"""The change stream on a real redis-server: relayed rows arrive with the store's seqs, each once, and
nothing is missed when a relay is lost or Redis goes away (the store is the record)."""

import logging
import time
from pathlib import Path

import polars as pl
import pytest

from homerec.cache import attach, open_cache
from homerec.cache.stream import StreamFeed
from homerec.data.schema import Change
from homerec.storage import open_store
from homerec.storage.feed import ChangeRow
from tests.live import RedisServer


def events(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"user_id": pl.String, "item_id": pl.String, "ts": pl.Int64}, orient="row")


def collect(feed, after: int, want: int, timeout_s: float = 5.0) -> list[ChangeRow]:
    """Wait on `feed` until `want` rows came (or time runs out)."""
    got: list[ChangeRow] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got += feed.wait(after, 0.2)
    return got


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stream.db'}"


def test_relayed_changes_arrive_with_the_stores_seqs_each_once(url, redis_url):
    writer, follower = open_store(url), open_store(url)
    attach(writer, redis_url)
    cache = open_cache(redis_url)
    feed = StreamFeed(cache, follower, sweep_s=0.2)
    try:
        assert feed.wait(follower.change_position(), 0.05) == []
        writer.add_interactions(events(("u1", "i1", 100), ("u2", "i1", 100)))
        writer.upsert_items(pl.DataFrame({"item_id": ["i9"], "CATEGORY": ["x"]}))
        written = writer.changes(0)
        got = collect(feed, 0, len(written))
        assert sorted(got) == sorted(written)
        assert {(r.kind, r.key) for r in got} == {(Change.events, "u1"), (Change.events, "u2"), (Change.items, "i9")}
        time.sleep(0.5)  # several sweeps read the same rows from the store: none comes twice
        assert collect(feed, 0, 1, timeout_s=0.5) == []
    finally:
        feed.close()
        cache.close()
        writer.close()
        follower.close()


def test_a_change_whose_relay_was_lost_arrives_through_the_sweep(url, redis_url):
    silent, follower = open_store(url), open_store(url)  # `silent` relays nothing: as if it died after the commit
    cache = open_cache(redis_url)
    feed = StreamFeed(cache, follower, sweep_s=0.2)
    try:
        feed.wait(0, 0.01)
        silent.delete_user("u7")
        got = collect(feed, 0, 1)
        assert [(r.kind, r.key) for r in got] == [(Change.deleted, "u7")]
    finally:
        feed.close()
        cache.close()
        silent.close()
        follower.close()


def test_rows_relayed_out_of_seq_order_are_all_returned(url, redis_url):
    store = open_store(url)
    cache = open_cache(redis_url)
    feed = StreamFeed(cache, store, sweep_s=60)
    try:
        feed.wait(0, 0.01)
        # Two replicas committed 5 then 6, and relayed 6 first.
        cache.publish([ChangeRow(6, Change.events, "u6", 1)])
        cache.publish([ChangeRow(5, Change.events, "u5", 1)])
        assert [r.seq for r in collect(feed, 0, 2)] == [6, 5]
    finally:
        feed.close()
        cache.close()
        store.close()


def test_without_redis_the_feed_follows_the_store_and_takes_the_stream_back(url, tmp_path, caplog):
    writer, follower = open_store(url), open_store(url)
    with RedisServer(tmp_path, "outage") as server:
        attach(writer, server.url())
        cache = open_cache(server.url())
        feed = StreamFeed(cache, follower, sweep_s=60)  # no sweep: what arrives, arrives by the stream or the store's feed
        try:
            feed.wait(0, 0.01)
            writer.add_interactions(events(("u1", "i1", 100)))
            assert [r.key for r in collect(feed, 0, 1)] == ["u1"]
            server.kill()
            with caplog.at_level(logging.WARNING, logger="homerec.cache"):
                writer.add_interactions(events(("u2", "i1", 100)))  # committed; the relay fails quietly
                assert [r.key for r in collect(feed, 0, 1)] == ["u2"]  # through the store's own feed
            assert "unavailable" in caplog.text
            server.start()  # empty: a restart without persistence
            time.sleep(1.2)  # the publisher's retry pause
            writer.add_interactions(events(("u3", "i1", 100)))
            assert [r.key for r in collect(feed, 0, 1)] == ["u3"]
            deadline = time.monotonic() + 5
            while feed._cursor is None and time.monotonic() < deadline:  # back on the stream
                feed.wait(0, 0.1)
            assert feed._cursor is not None
            writer.add_interactions(events(("u4", "i1", 100)))
            assert [r.key for r in collect(feed, 0, 1)] == ["u4"]
        finally:
            feed.close()
            cache.close()
            writer.close()
            follower.close()


def test_a_failing_relay_never_fails_the_write(url, tmp_path):
    store = open_store(url)
    with RedisServer(tmp_path, "gone") as server:
        attach(store, server.url())
    try:  # the server is stopped: every relay fails
        t0 = time.monotonic()
        result = store.add_interactions(events(("u1", "i1", 100)))
        assert result.inserted == 1 and store.history("u1").height == 1
        assert time.monotonic() - t0 < 5
    finally:
        store.close()


def test_a_closed_store_feed_leaves_the_pool_fit_for_writes(postgres_url):
    """The fallback feed is opened and closed as Redis goes and comes: its autocommit connection must not be reused."""
    from tests.storage.test_postgres_store import _reset

    _reset(postgres_url)
    store = open_store(postgres_url)
    try:
        for _ in range(3):
            store.feed().close()
        assert store.add_interactions(events(("u1", "i1", 100))).inserted == 1
    finally:
        store.close()
