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
every insert. Both then read `seq > after`. A Redis stream can stand behind the same
`Feed.wait` for replicas on several machines.

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


class ChangeRow(NamedTuple):
    """One committed change: its position in the feed, kind (`homerec.data.schema.Change`), key, wall time."""

    seq: int
    kind: str
    key: str
    ts: int


class Feed(Protocol):
    """Follows the store's changes from some position on."""

    def wait(self, after: int, timeout_s: float) -> list[ChangeRow]:
        """Changes with `seq > after` (oldest first); waits up to `timeout_s` when there are none yet."""
        ...

    last_token: int | None
    """The commit token the rows of the last `wait` reach (None: no cheap token)."""

    def token(self) -> int | None:
        """The database's commit token now (None: no cheap token), from any thread."""
        ...

    def close(self) -> None:
        """Release the feed's connection."""
        ...


def write_changes(conn: Any, dialect: str, kind: str, keys: Iterable[str], now: int | None = None) -> None:
    """Append one change per distinct key, inside the caller's transaction (driver connection)."""
    distinct = list(dict.fromkeys(keys))
    if not distinct:
        return
    ts = int(time.time()) if now is None else now
    columns = f"{Col.kind}, {Col.key}, {Col.ts}"
    cursor = conn.cursor()
    try:
        if dialect == "postgresql":
            cursor.execute(f"LOCK TABLE {CHANGES_TABLE} IN SHARE ROW EXCLUSIVE MODE")
            cursor.executemany(f"INSERT INTO {CHANGES_TABLE} ({columns}) VALUES (%s, %s, %s)",
                               [(kind, key, ts) for key in distinct])
        else:
            cursor.executemany(f"INSERT INTO {CHANGES_TABLE} ({columns}) VALUES (?, ?, ?)",
                               [(kind, key, ts) for key in distinct])
    finally:
        cursor.close()


def _select_after(mark: str) -> str:
    """The changes after a position; `mark` is the driver's parameter marker."""
    return (f"SELECT {Col.seq}, {Col.kind}, {Col.key}, {Col.ts} FROM {CHANGES_TABLE} "
            f"WHERE {Col.seq} > {mark} ORDER BY {Col.seq} LIMIT {BATCH_ROWS}")


class _FeedBase:
    """A feed on its own driver connection, read in autocommit mode."""

    def __init__(self, engine: sa.Engine) -> None:
        self._raw = engine.raw_connection()
        self.conn = self._raw.driver_connection
        self._sql = _select_after("%s" if engine.dialect.name == "postgresql" else "?")
        self._lock = threading.Lock()
        self.last_token: int | None = None

    def token(self) -> int | None:
        """See `Feed.token`: no cheap token by default."""
        return None

    def read(self, after: int) -> list[ChangeRow]:
        """Changes with `seq > after`, at most `BATCH_ROWS`."""
        with self._lock:
            cursor = self.conn.cursor()
            try:
                cursor.execute(self._sql, (after,))
                return [ChangeRow(int(s), k, key, int(ts)) for s, k, key, ts in cursor.fetchall()]
            finally:
                cursor.close()

    def close(self) -> None:
        """See `Feed.close`."""
        try:
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
            return int(self._pragma.execute("PRAGMA data_version").fetchone()[0])

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
