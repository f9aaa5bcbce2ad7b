# SPDX-License-Identifier: Apache-2.0
"""Bulk loading of events (`Store.load_interactions`): staged by the database's bulk path, merged by SQL.

1. Each batch is put in table layout (`prepare_events`: types, the id and number rules,
   derived event ids), sorted by time, numbered and written to a stage
   (`homerec.storage.staging`: ADBC on SQLite, COPY on PostgreSQL). One batch at a time
   is in memory, whatever the size of the load. A row is marked when it is the first of
   its user in its range of `chunk_rows` positions, so each merge transaction finds its
   users by reading the marked rows only (a GROUP BY over every row would cost as much as
   the insert).
2. The stage is merged into `interactions` with `INSERT … SELECT … ON CONFLICT (event_id)
   DO NOTHING`: the primary key decides identity, so a re-import adds nothing and an
   event given twice counts once (the first in load order stays). The same transaction
   writes the event links, lifts the tombstones of the load's users and appends one
   `events` change per user, as `add_interactions` does.
3. Into an empty or small table (at most `SMALL_TABLE_SHARE` of the rows the load brings,
   and a load of at least `REBUILD_MIN_ROWS`) the merge is one transaction that drops the
   secondary indexes the rows reach out of order (`(user_id, ts)`), inserts, and builds
   them again: one sort is far cheaper than millions of B-tree insertions at random
   places. An index led by `ts` is kept: rows arrive in time order, so it grows at its end
   like the primary key (derived ids begin with the time). A failure rolls the indexes
   back with the rows. Into a larger table (a re-import, whose rows are all known, costs
   only primary-key probes) ranges of `chunk_rows` staged rows are merged in one
   transaction each, so that live writers interleave (SQLite has one writer at a time).
"""

from collections.abc import Callable, Iterable

import polars as pl
import sqlalchemy as sa

from homerec.data.schema import EVENT_LINKS_TABLE, INTERACTIONS_TABLE, RECOMMENDATION_ID_MAX, Change, Col
from homerec.storage import tables, tombstones
from homerec.storage.base import AddResult
from homerec.storage.events import STORED_COLUMNS, prepare_events
from homerec.storage.feed import write_changes
from homerec.storage.staging import POSITION, USER_FIRST, Stage, stage_columns

REBUILD_MIN_ROWS = 100_000
"""Loads smaller than this never rebuild indexes: their B-tree insertions cost little."""
SMALL_TABLE_SHARE = 0.1
"""A table is small for a load when it holds at most this share of the load's rows."""

Progress = Callable[[int, int], None]

_WHERE = f"{POSITION} > :lo AND {POSITION} <= :hi"


def stage_rows(frame: pl.DataFrame, offset: int, chunk_rows: int) -> pl.DataFrame:
    """One batch in stage layout (`stage_columns()`), numbered from `offset + 1`, in time order.

    `USER_FIRST` marks the first row of each user among the batch's rows of each range
    `(k * chunk_rows, (k + 1) * chunk_rows]` of positions: every user with rows in a range
    has a marked row there (one per batch that reaches into the range).

    Raises:
        InputError: as `prepare_events`.
    """
    events = prepare_events(frame)
    if not events[Col.ts].is_sorted():  # time order: B-tree appends (ids begin with the time)
        events = events.sort(Col.ts, maintain_order=True)
    rid = pl.col(Col.recommendation_id) if Col.recommendation_id in events.columns else pl.lit(None, pl.String)
    link = pl.when(rid.str.len_chars() <= RECOMMENDATION_ID_MAX).then(rid)  # a longer one names no exposure
    position = pl.int_range(offset + 1, offset + 1 + pl.len(), dtype=pl.Int64)
    stored = (pl.col(c) if c in events.columns else pl.lit(None, pl.String).alias(c) for c in STORED_COLUMNS)
    return events.select(position.alias(POSITION), *stored, link.alias(Col.recommendation_id)).with_columns(
        pl.col(Col.user_id).is_first_distinct().over((pl.col(POSITION) - 1) // max(chunk_rows, 1)).alias(USER_FIRST)
    )


def load_events(
    conn: sa.Connection, stage: Stage, batches: Iterable[pl.DataFrame], progress: Progress | None,
    chunk_rows: int, begin: tuple[str, ...] = (),
) -> AddResult:
    """Stage every batch, then merge (see the module docstring); `stage` is closed at the end.

    Args:
        conn: the store's connection, which the stage belongs to; not in a transaction.
        begin: statements that open each merge transaction (the dialect's).
    """
    assert stage_columns() == [POSITION, *STORED_COLUMNS, Col.recommendation_id, USER_FIRST]
    try:
        staged, linked = _stage_all(stage, batches, progress, chunk_rows)
        stage.seal()
        inserted = _merge(conn, stage.source, staged, linked > 0, progress, chunk_rows, begin) if staged else 0
        return AddResult(inserted, staged - inserted)
    finally:
        stage.close()


def _stage_all(stage: Stage, batches: Iterable[pl.DataFrame], progress: Progress | None, chunk_rows: int
               ) -> tuple[int, int]:
    """Write every batch to the stage (no batch outlives this call); returns rows staged and rows linked."""
    staged = linked = 0
    for frame in batches:
        rows = stage_rows(frame, staged, chunk_rows)
        del frame  # the caller's batch, if it keeps none, goes now
        if rows.height:
            stage.add(rows)
            staged += rows.height
            linked += rows[Col.recommendation_id].is_not_null().sum()
        del rows
        if progress:
            progress(0, staged)
    return staged, linked


def _has_more_rows_than(conn: sa.Connection, n: int) -> bool:
    """Whether `interactions` holds more than `n` rows (reads at most n + 1 of them)."""
    first = sa.select(sa.literal(1)).select_from(tables.interactions).limit(n + 1).subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(first)).scalar_one() > n


def rebuilt_indexes() -> list[sa.Index]:
    """The secondary indexes of `interactions` that a time-ordered load reaches out of order."""
    return sorted((ix for ix in tables.interactions.indexes if next(iter(ix.columns)).name != Col.ts),
                  key=lambda ix: str(ix.name))


def drop_indexes(conn: sa.Connection) -> None:
    """Drop `rebuilt_indexes()` (inside the caller's transaction)."""
    for index in rebuilt_indexes():
        conn.execute(sa.schema.DropIndex(index))


def create_indexes(conn: sa.Connection) -> None:
    """Build `rebuilt_indexes()` again, as `homerec.storage.tables` defines them."""
    for index in rebuilt_indexes():
        conn.execute(sa.schema.CreateIndex(index))


def _merge(
    conn: sa.Connection, source: str, staged: int, links: bool, progress: Progress | None, chunk_rows: int,
    begin: tuple[str, ...],
) -> int:
    """Merge stage rows 1..staged into the store; returns events inserted."""
    rebuild = staged >= REBUILD_MIN_ROWS and not _has_more_rows_than(conn, int(staged * SMALL_TABLE_SHARE))
    step = staged if rebuild else max(chunk_rows, 1)  # whole ranges of chunk_rows: see stage_rows
    inserted = 0
    for lo in range(0, staged, step):
        hi = min(lo + step, staged)
        for statement in begin:
            conn.exec_driver_sql(statement)
        if rebuild:
            drop_indexes(conn)
        inserted += _merge_range(conn, source, lo, hi, links)
        if rebuild:
            create_indexes(conn)
        conn.commit()
        if progress:
            progress(hi, staged)
    return inserted


def _merge_range(conn: sa.Connection, source: str, lo: int, hi: int, links: bool) -> int:
    """Stage rows lo+1..hi into interactions (and event_links), with their users' feed rows."""
    bounds = {"lo": lo, "hi": hi}
    columns = ", ".join(STORED_COLUMNS)
    added = conn.execute(sa.text(
        f"INSERT INTO {INTERACTIONS_TABLE} ({columns}) SELECT {columns} FROM {source} WHERE {_WHERE} "
        f"ORDER BY {POSITION} ON CONFLICT ({Col.event_id}) DO NOTHING"
    ), bounds).rowcount
    if links:
        pair = f"{Col.event_id}, {Col.recommendation_id}"
        conn.execute(sa.text(
            f"INSERT INTO {EVENT_LINKS_TABLE} ({pair}) SELECT {pair} FROM {source} WHERE {_WHERE} "
            f"AND {Col.recommendation_id} IS NOT NULL ORDER BY {POSITION} ON CONFLICT ({Col.event_id}) DO NOTHING"
        ), bounds)
    marked = conn.execute(sa.text(
        f"SELECT {Col.user_id} FROM {source} WHERE {_WHERE} AND {USER_FIRST} ORDER BY {POSITION}"
    ), bounds).scalars()
    users = list(dict.fromkeys(marked))
    tombstones.lift(conn, users)
    if added:
        write_changes(conn.connection.dbapi_connection, conn.dialect.name, Change.events, users)
    return added
