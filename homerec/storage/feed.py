# SPDX-License-Identifier: Apache-2.0
"""The change feed: what changed in the store, in commit order, for serving processes to follow.

Every write that can make a served answer wrong also appends a row to the `changes` table in
the same transaction: the users whose events were added or deleted, the items and users whose
metadata changed, the cache namespaces a batch wrote. A row's `seq` grows with commit order:

- SQLite has one writer at a time, so commits are serialised anyway.
- PostgreSQL assigns `seq` from a sequence when the row is inserted, which alone would let a
  later `seq` commit first. `write_changes` therefore takes a lock on the table that writers
  share with no one but each other (SHARE ROW EXCLUSIVE) right before the insert, held until
  commit: a reader that has seen `seq` N has seen every change up to N. Readers take no lock.

So a batch that reads `position()` before it reads the events knows its lists include every
change up to that position; a user with a change after it has a stale list.

A `Feed` waits for new rows without polling the table: on SQLite it watches
`PRAGMA data_version` (which moves when another connection commits; a few microseconds to
read) every `poll_s`; on PostgreSQL it LISTENs to the channel a statement trigger notifies on
every insert. Both then read `seq > after`. Replicas with a shared cache follow a Redis stream
instead (`homerec.cache.stream`): every process relays the rows it committed (`write_changes`
returns them with their `seq`, and the store hands them to its change listeners after the
commit), and the table stays the record the stream is checked against.

`token()` says, cheaply, where the database stands now, and `wait()` records the token its
rows reach (`last_token`): a reader that applied everything up to `last_token` and finds
`token()` unchanged knows nothing was committed since, without waiting for the next poll.
SQLite's token is its `data_version`; where there is no cheap token (PostgreSQL), `token()`
is None and readers rely on the notification (milliseconds).
"""

import threading
import time
from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa

from homerec.data.schema import CHANGES_TABLE, Col
from homerec.storage import tables

BATCH_ROWS = 10_000
"""Changes returned by one `wait` at most (the caller asks again from the last seq)."""
INSERT_ROWS = 500
"""Changes appended by one INSERT statement (its RETURNING gives their seqs back)."""


class ChangeRow(NamedTuple):
    """One committed change: its position in the feed, kind (`homerec.data.schema.Change`), key, wall time."""

    seq: int
    kind: str
    key: str
    ts: int


class FeedClosed(RuntimeError):
    """A closed feed was read (a follower that outlived `close`, at shutdown)."""


class Feed(Protocol):
    """Follows the store's changes from some position on."""

    def wait(self, after: int, timeout_s: float) -> list[ChangeRow]:
        """Changes not returned before; waits up to `timeout_s` when there are none yet.

        `after` is the newest seq the caller has applied. The store's own feeds return the
        changes with `seq > after`, oldest first. A feed that keeps its own cursor (the Redis
        stream) starts from `after` on its first call and then returns each change once, in
        the order processes relayed them: a lower seq may come after a higher one.
        """
        ...

    last_token: int | None
    """The commit token the rows of the last `wait` reach (None: no cheap token)."""

    def token(self) -> int | None:
        """The database's commit token now (None: no cheap token), from any thread."""
        ...

    def close(self) -> None:
        """Release the feed's connection."""
        ...


def write_changes(conn: Any, dialect: str, kind: str, keys: Iterable[str], now: int | None = None) -> list[ChangeRow]:
    """Append one change per distinct key, inside the caller's transaction (driver connection); the rows written."""
    distinct = list(dict.fromkeys(keys))
    if not distinct:
        return []
    ts = int(time.time()) if now is None else now
    mark = "%s" if dialect == "postgresql" else "?"
    columns = f"{Col.kind}, {Col.key}, {Col.ts}"
    seqs: dict[str, int] = {}
    cursor = conn.cursor()
    try:
        if dialect == "postgresql":
            cursor.execute(f"LOCK TABLE {CHANGES_TABLE} IN SHARE ROW EXCLUSIVE MODE")
        for lo in range(0, len(distinct), INSERT_ROWS):
            part = distinct[lo : lo + INSERT_ROWS]
            values = ", ".join([f"({mark}, {mark}, {mark})"] * len(part))
            # RETURNING gives rows in no promised order: each seq is matched to its (distinct) key.
            cursor.execute(f"INSERT INTO {CHANGES_TABLE} ({columns}) VALUES {values} RETURNING {Col.seq}, {Col.key}",
                           [v for key in part for v in (kind, key, ts)])
            seqs.update((key, int(seq)) for seq, key in cursor.fetchall())
    finally:
        cursor.close()
    return sorted((ChangeRow(seqs[key], kind, key, ts) for key in distinct), key=lambda row: row.seq)


def _select_after(mark: str) -> str:
    """The changes after a position; `mark` is the driver's parameter marker."""
    return (f"SELECT {Col.seq}, {Col.kind}, {Col.key}, {Col.ts} FROM {CHANGES_TABLE} "
            f"WHERE {Col.seq} > {mark} ORDER BY {Col.seq} LIMIT {BATCH_ROWS}")


class _FeedBase:
    """A feed on its own driver connection, read in autocommit mode."""

    def __init__(self, engine: sa.Engine) -> None:
        self._raw = engine.raw_connection()
        self.conn = self._raw.driver_connection
        if engine.dialect.name == "postgresql":
            # Never back into the pool: the feed changes the connection's settings (autocommit, LISTEN), and a
            # writer that got it afterwards could not take the lock `write_changes` needs inside a transaction.
            # (SQLite's feed changes nothing; an in-memory store's only connection must stay in its pool.)
            self._raw.detach()
        self._sql = _select_after("%s" if engine.dialect.name == "postgresql" else "?")
        self._lock = threading.Lock()
        """Held while the connection is used: a feed is read from the event loop and from threads."""
        self._closed = False
        self.last_token: int | None = None

    def token(self) -> int | None:
        """See `Feed.token`: no cheap token by default."""
        return None

    def read(self, after: int) -> list[ChangeRow]:
        """Changes with `seq > after`, at most `BATCH_ROWS`."""
        with self._lock:
            self._check_open()
            cursor = self.conn.cursor()
            try:
                cursor.execute(self._sql, (after,))
                return [ChangeRow(int(s), k, key, int(ts)) for s, k, key, ts in cursor.fetchall()]
            finally:
                cursor.close()

    def _check_open(self) -> None:
        if self._closed:
            raise FeedClosed("the change feed is closed")

    def _release(self) -> None:
        """Let go of what the connection holds for this feed (under the lock, before it is closed)."""

    def close(self) -> None:
        """See `Feed.close`: waits for a read in progress; any later read raises `FeedClosed`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._release()
                self._raw.close()
            except Exception:  # closing on shutdown: best effort
                pass


class SqliteFeed(_FeedBase):
    """Wakes when `PRAGMA data_version` moves: another connection (any process) committed.

    An in-memory database has one shared connection, whose own commits never move its
    `data_version`: there the table itself is read every `poll_s`.
    """

    def __init__(self, engine: sa.Engine, poll_s: float = 0.001) -> None:
        super().__init__(engine)
        self.poll_s = poll_s
        self._version: int | None = None
        self._shared = engine.url.database in (None, "", ":memory:")
        self._pragma = self.conn.cursor()  # kept: ~3 µs a look instead of ~5 with a new cursor

    def _data_version(self) -> int:
        if self._shared:
            return -1 if self._version != -1 else -2  # always "moved"
        with self._lock:
            self._check_open()
            return int(self._pragma.execute("PRAGMA data_version").fetchone()[0])

    def _release(self) -> None:
        self._pragma.close()

    def token(self) -> int | None:
        """See `Feed.token`: `data_version` of this feed's connection (comparable only with its own values)."""
        return None if self._shared else self._data_version()

    def poll(self, after: int) -> list[ChangeRow] | None:
        """Without waiting: the changes after `after` when something was committed since the last
        look (possibly none for this feed), else None."""
        version = self._data_version()
        if version == self._version:
            return None
        self._version = version
        rows = self.read(after)
        # Every commit up to `version` is in `rows`, unless the read hit its limit.
        self.last_token = None if self._shared or len(rows) >= BATCH_ROWS else version
        return rows

    def wait(self, after: int, timeout_s: float) -> list[ChangeRow]:
        """See `Feed.wait`."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self.poll(after)
            if rows is not None and (rows or not self._shared):
                return rows  # even none: the caller learns the token moved without a change for it
            if time.monotonic() >= deadline:
                return []
            time.sleep(self.poll_s)


class PostgresFeed(_FeedBase):
    """LISTENs to the channel the `changes` trigger notifies on each committed insert."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.conn.autocommit = True
        self.conn.execute(f"LISTEN {tables.NOTIFY_CHANNEL}")

    def wait(self, after: int, timeout_s: float) -> list[ChangeRow]:
        """See `Feed.wait`: read first (LISTEN is already on, so nothing committed later is missed)."""
        rows = self.read(after)
        if rows:
            return rows
        for _ in self.conn.notifies(timeout=timeout_s, stop_after=1):
            break
        return self.read(after)


def open_feed(engine: sa.Engine) -> Feed:
    """The feed for the engine's backend."""
    if engine.dialect.name == "postgresql":
        return PostgresFeed(engine)
    return SqliteFeed(engine)
