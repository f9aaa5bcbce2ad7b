# SPDX-License-Identifier: Apache-2.0
"""Tombstones of deleted users: what keeps a deleted user deleted.

`Store.delete_user` removes a user's rows and leaves a tombstone. While it stands, writes
that would bring the user's data back are refused: a cached list computed by a batch that
started before the deletion, an exposure a serving process still held in its buffer. A
new event of the same id lifts it (the customer came back: from then on the id is an
ordinary user again). Every function here runs inside the caller's transaction.
"""

from collections.abc import Iterable

import polars as pl
import sqlalchemy as sa

from homerec.data.schema import Col
from homerec.storage.tables import deleted_users

IN_CHUNK = 5_000
"""Ids bound in one `IN (...)` list (SQLite allows 32,766 parameters a statement, PostgreSQL 65,535)."""


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    distinct = list(dict.fromkeys(ids))
    for start in range(0, len(distinct), IN_CHUNK):
        yield distinct[start : start + IN_CHUNK]


def _any(conn: sa.Connection) -> bool:
    """Whether any tombstone stands (the usual answer, no, costs one index probe)."""
    return conn.execute(sa.select(deleted_users.c[Col.user_id]).limit(1)).first() is not None


def bury(conn: sa.Connection, user_id: str, now: int) -> None:
    """Leave (or renew) the tombstone of a deleted user."""
    conn.execute(sa.delete(deleted_users).where(deleted_users.c[Col.user_id] == user_id))
    conn.execute(sa.insert(deleted_users).values({Col.user_id: user_id, Col.deleted_at: now}))


def lift(conn: sa.Connection, user_ids: Iterable[str]) -> int:
    """Remove the tombstones of users who have new events; returns how many were lifted."""
    if not _any(conn):
        return 0
    column = deleted_users.c[Col.user_id]
    return sum(conn.execute(sa.delete(deleted_users).where(column.in_(chunk))).rowcount
               for chunk in _chunks(user_ids))


def without_deleted(conn: sa.Connection, frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """`frame` without the rows whose `column` names a deleted user."""
    if frame.is_empty() or not _any(conn):
        return frame
    c = deleted_users.c[Col.user_id]
    dead = [row[0] for chunk in _chunks(frame[column].to_list())
            for row in conn.execute(sa.select(c).where(c.in_(chunk)))]
    return frame.filter(~pl.col(column).is_in(dead)) if dead else frame
