# SPDX-License-Identifier: Apache-2.0
"""`SharedCache`: one Redis database, reached through redis-py with short timeouts and no retry storms.

    cache = open_cache("redis://127.0.0.1:6379/0")
    attach(store, "redis://127.0.0.1:6379/0")      # the store's committed changes go to the stream

Every call that can meet a dead Redis goes through an `Outage`: a failure is logged once and
the caller falls back to the store; the connection is tried again a second later.
"""

import logging
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from homerec.cache import lists
from homerec.cache.outage import Outage
from homerec.data.schema import USER_RECS, Change
from homerec.errors import ConfigError, StoreError
from homerec.settings import check_cache_url, hide_password
from homerec.storage.base import Store
from homerec.storage.feed import ChangeRow, Feed

log = logging.getLogger("homerec.cache")

CONNECT_TIMEOUT_S = 0.5
"""A Redis that does not accept a connection in this long counts as down."""
COMMAND_TIMEOUT_S = 2.0
"""A command (other than the stream's blocking read) that takes longer counts as a failure."""


def check_url(url: str) -> str:
    """The URL, stripped; ConfigError unless it is a redis://, rediss:// or unix:// URL."""
    try:
        return check_cache_url(url)
    except ValueError as err:
        raise ConfigError(str(err)) from None


class SharedCache:
    """A Redis database shared by replicas: the change stream and the batch's lists."""

    def __init__(self, url: str, connect: Callable[[float | None], Any], error: type[Exception]) -> None:
        self.url = hide_password(url)
        self._connect = connect
        self.error = error
        """redis-py's base exception: what a call to Redis raises when Redis fails."""
        self.client = connect(COMMAND_TIMEOUT_S)
        self.relay = Outage(self.url, "changes reach other replicas through the store only")
        self.reads = Outage(self.url, "lists are read from the store")

    def blocking_client(self, block_s: float) -> Any:
        """A client of its own for blocking reads of `block_s` seconds (its timeout allows for them)."""
        return self._connect(block_s + COMMAND_TIMEOUT_S)

    def publish(self, rows: list[ChangeRow]) -> None:
        """Relay committed changes to the stream, drop deleted users' lists (a store change listener); never raises."""
        from homerec.cache.stream import relay

        if not rows or not self.relay.usable():
            return
        try:
            relay(self.client, rows)
            lists.forget(self.client, [r.key for r in rows if r.kind == Change.deleted], [USER_RECS])
            self.relay.ok()
        except self.error as err:
            self.relay.failed(err)

    def read_lists(self, namespace: str, newest_recs: int = 0) -> tuple[pl.DataFrame, int] | None:
        """The current generation's lists of `namespace` and its `as_of`, or None: read the store instead.

        None when Redis does not answer (logged once), holds no generation, or holds one older
        than `newest_recs` (the seq of the newest `recs` change seen: lists the store got later).
        """
        if not self.reads.usable():
            return None
        try:
            found = lists.load(self.client, namespace)
            self.reads.ok()
        except self.error as err:
            self.reads.failed(err)
            return None
        if found is None:
            return None
        current, frame = found
        if current.as_of < newest_recs:
            log.info("shared cache: %s lists of %s are older than the store's; reading the store", namespace,
                     current.generation)
            return None
        return frame, current.as_of

    def publish_lists(self, store: Store, namespaces: Sequence[str]) -> list[lists.Pointer]:
        """Switch each namespace to a new generation copied from the store, then announce it (`lists`
        changes); a Redis failure is logged and leaves the replicas on the store's lists."""
        try:
            pointers = [lists.publish(self.client, store, ns) for ns in namespaces]
        except self.error as err:
            log.warning("shared cache %s unavailable (%s: %s): lists stay in the store only", self.url,
                        type(err).__name__, err)
            return []
        store.announce(Change.lists, [p.namespace for p in pointers])
        return pointers

    def feed(self, store: Store) -> Feed:
        """A `Feed` over the stream, checked against the store (`homerec.cache.stream.StreamFeed`)."""
        from homerec.cache.stream import StreamFeed

        return StreamFeed(self, store)

    def close(self) -> None:
        """Release the connections."""
        self.client.close()

    def __repr__(self) -> str:
        return f"SharedCache({self.url!r})"


def open_cache(url: str) -> SharedCache:
    """A `SharedCache` on `url` (no connection is made yet: Redis may come up later).

    Raises:
        ConfigError: the URL is not a Redis URL.
        StoreError: redis-py is not installed.
    """
    url = check_url(url)
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ModuleNotFoundError:
        raise StoreError("the shared cache needs redis-py: install homerec[redis]") from None

    def connect(timeout_s: float | None) -> Any:
        # One immediate retry: a pooled connection that Redis closed (a restart) is replaced transparently.
        return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=timeout_s,
                                    retry=Retry(NoBackoff(), 1), client_name="homerec")

    try:
        return SharedCache(url, connect, redis.RedisError)
    except ValueError as err:  # redis-py's own URL checks (a bad db number, port, option)
        raise ConfigError(f"malformed cache URL {hide_password(url)!r}: {err}") from None


def attach(store: Store, url: str | None) -> SharedCache | None:
    """Open the shared cache at `url` (None: none) and relay the store's committed changes to its stream."""
    if not url:
        return None
    cache = open_cache(url)
    store.on_changes(cache.publish)
    return cache
