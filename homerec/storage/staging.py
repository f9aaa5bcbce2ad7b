# SPDX-License-Identifier: Apache-2.0
"""Where bulk-loaded events wait before they are merged: a table fed by the database's own bulk path.

A stage holds events in table layout plus `n`, their position in the load (1, 2, …), the
`recommendation_id` each may link to, and `user_first` (see `homerec.storage.bulk.stage_rows`). `homerec.storage.bulk` fills it batch by batch,
then merges ranges of `n` into the store with plain SQL.

- SQLite: the ADBC driver writes Arrow batches into a database file of its own, in a
  temporary folder next to the store, without journal or fsync (a stage is thrown away
  after the load); the store's connection then ATTACHes that file. The ADBC driver links
  its own copy of SQLite: two copies of SQLite in one process must never open the same
  file (their POSIX locks would undo each other), so the ADBC connection is closed before
  the store's connection opens the stage, and it never opens the store.
- PostgreSQL: COPY (CSV, written by polars) into a temporary table of the store's own
  connection, indexed by `n` with a BRIN index (a few pages for millions of rows, since
  rows arrive in `n` order).
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from homerec.data.schema import Col
from homerec.errors import StoreError
from homerec.storage import tables

POSITION = "n"
"""The stage column that numbers rows in load order, from 1."""
USER_FIRST = "user_first"
"""The stage column that marks a user's first row in a range of positions."""
STAGE_TABLE = "homerec_bulk"
SQLITE_SCHEMA = "homerec_bulk"
"""The name the stage file is attached under, on SQLite."""


def stage_columns() -> list[str]:
    """The stage's columns, in the order batches are written."""
    return [POSITION, *(c.name for c in tables.interactions.columns), Col.recommendation_id, USER_FIRST]


def _stage_table(position: sa.Column[int], prefixes: tuple[str, ...] = ()) -> sa.Table:
    """The stage's definition: `position` first, then the interactions columns without their keys."""
    copies = [sa.Column(c.name, c.type, nullable=c.nullable) for c in tables.interactions.columns]
    return sa.Table(STAGE_TABLE, sa.MetaData(), position, *copies,
                    sa.Column(Col.recommendation_id, sa.String, nullable=True),
                    sa.Column(USER_FIRST, sa.Boolean, nullable=False), prefixes=list(prefixes))


class Stage(Protocol):
    """Events of one bulk load, numbered by `n`, readable by the store's connection once sealed."""

    source: str
    """The stage's table name as the store's connection reads it."""

    def add(self, rows: pl.DataFrame) -> None:
        """Append rows in `stage_columns()` order."""
        ...

    def seal(self) -> None:
        """Make everything added readable by the store's connection (no `add` afterwards)."""
        ...

    def close(self) -> None:
        """Drop the stage; safe to call more than once and after a failure."""
        ...


class SqliteStage:
    """A stage file written through ADBC, then ATTACHed to the store's connection (see the module docstring)."""

    source = f"{SQLITE_SCHEMA}.{STAGE_TABLE}"

    def __init__(self, conn: sa.Connection) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        self._conn, self._error, self._writer, self._attached = conn, adbc.Error, None, False
        database = conn.engine.url.database
        on_disk = database not in (None, "", ":memory:")
        try:
            self._folder = tempfile.mkdtemp(prefix=".homerec-bulk-", dir=Path(database).parent if on_disk else None)
        except OSError as exc:
            raise StoreError(f"cannot create a folder to stage events next to {database}: {exc.strerror}") from None
        self.path = Path(self._folder) / "stage.db"
        # INTEGER PRIMARY KEY: `n` is the rowid, so a range of `n` is a range of the table's B-tree.
        table = _stage_table(sa.Column(POSITION, sa.Integer, primary_key=True, autoincrement=False))
        ddl = str(sa.schema.CreateTable(table).compile(dialect=sqlite.dialect())).strip()
        with self._staging():
            self._writer = adbc.connect(str(self.path), autocommit=True)
            with self._writer.cursor() as cursor:
                for statement in ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", ddl):
                    cursor.execute(statement)

    @contextmanager
    def _staging(self) -> Iterator[None]:
        """ADBC's errors (a full disk, a folder not writable) as StoreError; the stage goes on any failure."""
        try:
            yield
        except BaseException as exc:
            self.close()
            if isinstance(exc, self._error):
                raise StoreError(f"cannot stage events in {self.path}: {str(exc).splitlines()[0]}") from None
            raise

    def add(self, rows: pl.DataFrame) -> None:
        """See `Stage.add`."""
        assert self._writer is not None
        with self._staging(), self._writer.cursor() as cursor:  # polars' own buffers, through the Arrow C stream
            cursor.adbc_ingest(STAGE_TABLE, rows, mode="append")

    def seal(self) -> None:
        """See `Stage.seal`: close the ADBC connection, then attach the file."""
        if self._writer is not None:
            self._writer.close()
        self._conn.exec_driver_sql(f"ATTACH DATABASE ? AS {SQLITE_SCHEMA}", (str(self.path),))
        self._attached = True

    def close(self) -> None:
        """See `Stage.close`."""
        if self._writer is not None:
            self._writer.close()
        if self._attached:
            self._conn.rollback()
            self._conn.exec_driver_sql(f"DETACH DATABASE {SQLITE_SCHEMA}")
            self._conn.commit()
            self._attached = False
        shutil.rmtree(self._folder, ignore_errors=True)


class PostgresStage:
    """A temporary table of the store's connection, filled by COPY (see the module docstring)."""

    source = STAGE_TABLE

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        _stage_table(sa.Column(POSITION, sa.BigInteger, nullable=False), prefixes=("TEMPORARY",)).create(conn)
        self._columns = ", ".join(stage_columns())

    def add(self, rows: pl.DataFrame) -> None:
        """See `Stage.add`: CSV, where an unquoted empty field is NULL and polars quotes empty strings."""
        raw = self._conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {STAGE_TABLE} ({self._columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(rows.write_csv(include_header=False))

    def seal(self) -> None:
        """See `Stage.seal`: index `n`, gather statistics for the planner, commit."""
        self._conn.exec_driver_sql(f"CREATE INDEX ON {STAGE_TABLE} USING brin ({POSITION})")
        self._conn.exec_driver_sql(f"ANALYZE {STAGE_TABLE}")
        self._conn.commit()

    def close(self) -> None:
        """See `Stage.close`."""
        self._conn.rollback()
        self._conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        self._conn.commit()
