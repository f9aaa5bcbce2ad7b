# SPDX-License-Identifier: Apache-2.0
"""The change stream: the store's committed change rows relayed through one Redis stream.

A process that commits changes to the store relays the rows (`relay`, called by the store's
change listener right after the commit, before the request is answered): XADD of the row's
seq, kind, key and time, the stream capped at about `MAX_LEN` entries. Positions stay the
store's `seq`; the stream's own entry ids only order the reading, and are never compared
with a list's `feed_seq`. Two processes may relay in the other order than they committed, so
a lower seq can arrive after a higher one: harmless, since a worker records per user the
highest seq it has seen, and a batch's `feed_seq` is read from the store, where every change
up to a position is committed once that position is visible (`homerec.storage.feed`).

`StreamFeed` is the `Feed` a serving worker follows. It reads the stream (a blocking XREAD),
and every `SWEEP_S` it also reads the store's `changes` table after the position up to which it
has seen everything: a change whose relay was lost (its process died between the commit and
the XADD, or Redis was down) arrives that way, late by at most a sweep. Each change is returned
once, whichever way it came first. While Redis does not answer, the worker follows the store's
own feed (PostgreSQL LISTEN/NOTIFY, SQLite's data_version) from that position; when Redis is
back, the feed takes the stream's newest entry as its cursor and sweeps the store before
returning anything, so nothing committed in between is missed.
"""

import time
from typing import Any

from homerec.cache.outage import Outage
from homerec.storage.base import Store
from homerec.storage.feed import BATCH_ROWS, ChangeRow, Feed

STREAM = "homerec:changes"
MAX_LEN = 100_000
"""Entries the stream keeps (approximately): what a worker can fall behind by before a sweep must fill in."""
SWEEP_S = 1.0
"""How often a worker checks the stream against the store's `changes` table."""
WAIT_MAX_S = 1.0
"""The longest blocking read: the blocking connection's timeout allows for it."""


def relay(client: Any, rows: list[ChangeRow]) -> None:
    """XADD each row, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for row in rows:
        pipe.xadd(STREAM, {"s": row.seq, "k": row.kind, "i": row.key, "t": row.ts}, maxlen=MAX_LEN, approximate=True)
    pipe.execute()


def _row(fields: dict[bytes, bytes]) -> ChangeRow:
    return ChangeRow(int(fields[b"s"]), fields[b"k"].decode(), fields[b"i"].decode(), int(fields[b"t"]))


def newest_entry(client: Any) -> str:
    """The id of the stream's newest entry ("0-0": none): where to read on from."""
    found = client.xrevrange(STREAM, count=1)
    return found[0][0].decode() if found else "0-0"


class StreamFeed:
    """A `Feed` over the stream, swept against the store; the store's own feed while Redis is away."""

    def __init__(self, cache: Any, store: Store, sweep_s: float = SWEEP_S) -> None:
        self.cache, self.store, self.sweep_s = cache, store, sweep_s
        self.outage = Outage(cache.url, "this worker follows the store's change feed")
        self._client: Any = None
        self._cursor: str | None = None
        """The stream entry read last; None: not reading the stream (Redis away, or not yet reached)."""
        self._swept: int | None = None
        """Every change up to this seq has been returned (a sweep, or the store's feed, read them)."""
        self._seen: set[int] = set()
        """Seqs above `_swept` returned from the stream (a sweep skips them)."""
        self._next_sweep = time.monotonic() + sweep_s
        self._fallback: Feed | None = None
        self.last_token: int | None = None
        """Always None: replicas share no cheap commit token; readers rely on the stream (milliseconds)."""
        self._connect()  # the cursor first: what is relayed from now on comes through the stream

    def token(self) -> int | None:
        """See `Feed.token`: none across machines."""
        return None

    def _connect(self) -> bool:
        try:
            self._client = self._client or self.cache.blocking_client(WAIT_MAX_S)
            self._cursor = newest_entry(self._client)
        except self.cache.error as err:
            self.outage.failed(err)
            self._cursor = None
            return False
        self.outage.ok()
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None
        return True

    def wait(self, after: int, timeout_s: float) -> list[ChangeRow]:
        """See `homerec.storage.feed.Feed.wait`."""
        if self._swept is None:
            self._swept = after
        if self._cursor is None and self.outage.usable() and self._connect():
            self._next_sweep = 0.0  # changes relayed while the stream was not read: the store has them
        if self._cursor is not None:
            try:
                return self._from_stream(timeout_s)
            except self.cache.error as err:
                self.outage.failed(err)
                self._cursor = None
        return self._from_store(timeout_s)

    def _from_stream(self, timeout_s: float) -> list[ChangeRow]:
        if time.monotonic() >= self._next_sweep:
            swept = self._sweep()
            if swept:
                return swept
        block_s = max(0.001, min(timeout_s, WAIT_MAX_S, self._next_sweep - time.monotonic()))
        found = self._client.xread({STREAM: self._cursor}, count=BATCH_ROWS, block=int(block_s * 1000) or 1)
        out = []
        for _stream, entries in found or ():
            for entry_id, fields in entries:
                self._cursor = entry_id.decode()
                row = _row(fields)
                if row.seq > self._swept and row.seq not in self._seen:  # type: ignore[operator]
                    self._seen.add(row.seq)
                    out.append(row)
        return out

    def _sweep(self) -> list[ChangeRow]:
        """The store's changes after `_swept` that the stream has not brought."""
        assert self._swept is not None
        rows = self.store.changes(self._swept)
        self._next_sweep = 0.0 if len(rows) == BATCH_ROWS else time.monotonic() + self.sweep_s
        return self._advance(rows)

    def _from_store(self, timeout_s: float) -> list[ChangeRow]:
        if self._fallback is None:
            self._fallback = self.store.feed()
        assert self._swept is not None
        return self._advance(self._fallback.wait(self._swept, min(timeout_s, self.outage.retry_s)))

    def _advance(self, rows: list[ChangeRow]) -> list[ChangeRow]:
        """Rows read from the store in seq order: move `_swept` past them, keep those not returned yet."""
        if not rows:
            return []
        new = [row for row in rows if row.seq not in self._seen]
        self._swept = rows[-1].seq
        self._seen = {seq for seq in self._seen if seq > self._swept}
        return new

    def close(self) -> None:
        """Release the blocking connection (and the store's feed, if it was in use)."""
        if self._fallback is not None:
            self._fallback.close()
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing on shutdown: best effort
                pass
