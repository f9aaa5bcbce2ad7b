# SPDX-License-Identifier: Apache-2.0
"""The batch's lists in Redis: a new generation written whole, one pointer switched, the old one expiring."""

import logging
from pathlib import Path

import polars as pl
import pytest
import redis

from homerec.cache import attach, lists, open_cache
from homerec.data.schema import SIMILAR_ITEMS, USER_RECS, Col
from homerec.storage import open_store
from tests.live import RedisServer


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'lists.db'}")
    yield s
    s.close()


def put(store, version: str, n: int = 3) -> None:
    rows = [(f"u{i}", [(f"i{i}", 1.5), ("i0", 0.25)]) for i in range(n)]
    store.put_recs(USER_RECS, rows, version, computed_at=100, feed_seq=store.change_position())


def same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.sort(Col.key).equals(b.sort(Col.key).select(a.columns))


def test_a_generation_holds_exactly_the_stores_lists(store, redis_url):
    put(store, "v1", n=25)
    cache = open_cache(redis_url)
    try:
        [pointer] = cache.publish_lists(store, [USER_RECS])
        frame, as_of = cache.read_lists(USER_RECS)
        assert pointer.rows == 25 and as_of == pointer.as_of <= store.change_position()
        assert same(frame, store.cached_lists(USER_RECS))
        assert cache.read_lists(SIMILAR_ITEMS) is None  # never published: the store is read instead
        # The switch is announced through the store's change feed.
        assert store.changes(pointer.as_of)[-1][1:3] == ("lists", USER_RECS)
    finally:
        cache.close()


def test_replicas_see_the_old_generation_until_the_switch_and_the_old_one_expires(store, redis_url, monkeypatch):
    put(store, "v1")
    cache = open_cache(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        [first] = cache.publish_lists(store, [USER_RECS])
        put(store, "v2")
        seen_before_switch = []
        switch = lists._switch

        def watched(c, new, keep_s):
            seen_before_switch.append(lists.load(c, USER_RECS))  # every list of v2 is written, the pointer not moved
            assert client.ttl(new.key) > 0  # a batch that died here would leave nothing behind
            return switch(c, new, keep_s)

        monkeypatch.setattr(lists, "_switch", watched)
        [second] = cache.publish_lists(store, [USER_RECS])
        old_pointer, old_frame = seen_before_switch[0]
        assert old_pointer == first and set(old_frame[Col.model_version]) == {"v1"}
        now_pointer, now_frame = lists.load(client, USER_RECS)
        assert now_pointer == second and set(now_frame[Col.model_version]) == {"v2"}
        assert client.ttl(second.key) == -1  # the current generation does not expire
        assert 0 < client.ttl(first.key) <= lists.KEEP_S  # the replaced one does, after a grace period
    finally:
        cache.close()
        client.close()


def test_an_older_snapshot_never_replaces_a_newer_one(store, redis_url):
    put(store, "v1")
    cache = open_cache(redis_url)
    try:
        [current] = cache.publish_lists(store, [USER_RECS])
        stale = lists.Pointer(USER_RECS, "stale", current.as_of - 1, 0, 0)
        assert lists._switch(cache.client, stale, 60) == current
        assert lists.read_pointer(cache.client, USER_RECS) == current
    finally:
        cache.close()


def test_deleted_users_leave_the_shared_cache(store, redis_url, monkeypatch):
    put(store, "v1", n=4)
    attach(store, redis_url)  # deletions through this store drop the user from the current generation
    cache = open_cache(redis_url)
    try:
        cached_lists = store.cached_lists

        def read_then_delete(namespace):  # u1 is deleted after the batch read the lists, before the switch
            frame = cached_lists(namespace)
            store.delete_user("u1")
            return frame

        monkeypatch.setattr(store, "cached_lists", read_then_delete)
        cache.publish_lists(store, [USER_RECS])
        monkeypatch.undo()
        frame, _ = cache.read_lists(USER_RECS)
        assert "u1" not in frame[Col.key].to_list() and "u2" in frame[Col.key].to_list()
        store.delete_user("u2")  # after the switch
        frame, _ = cache.read_lists(USER_RECS)
        assert set(frame[Col.key]) == {"u0", "u3"}
    finally:
        cache.close()


def test_lists_newer_in_the_store_are_read_from_the_store(store, redis_url):
    put(store, "v1")
    cache = open_cache(redis_url)
    try:
        [pointer] = cache.publish_lists(store, [USER_RECS])
        assert cache.read_lists(USER_RECS, newest_recs=pointer.as_of) is not None
        assert cache.read_lists(USER_RECS, newest_recs=pointer.as_of + 1) is None
    finally:
        cache.close()


def test_without_redis_lists_stay_in_the_store_with_a_warning(store, tmp_path, caplog):
    put(store, "v1")
    with RedisServer(tmp_path) as server:
        cache = open_cache(server.url())
    try:
        with caplog.at_level(logging.WARNING, logger="homerec.cache"):
            assert cache.publish_lists(store, [USER_RECS]) == []
            assert cache.read_lists(USER_RECS) is None
        assert caplog.text.count("unavailable") == 2
    finally:
        cache.close()
