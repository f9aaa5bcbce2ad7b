# SPDX-License-Identifier: Apache-2.0
"""Everything that differs between SQLite and PostgreSQL, in one small mapping.

The SQL itself is shared (both speak `INSERT ... ON CONFLICT`); what differs is how an
engine is configured and how many rows travel in bulk: SQLite binds rows with one
`executemany` through the raw driver, PostgreSQL uses `COPY` into a temporary table
followed by one `INSERT ... SELECT ... ON CONFLICT`, and `COPY ... TO STDOUT` to read.
Bulk loads of events (`homerec.storage.bulk`) stage their rows through each database's
own bulk path (`homerec.storage.staging`: ADBC for SQLite, COPY for PostgreSQL).
"""

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL

from homerec.errors import StoreError
from homerec.storage.staging import PostgresStage, SqliteStage, Stage

DBAPIConnection = Any
"""A driver connection (sqlite3.Connection or psycopg.Connection)."""


@dataclass(frozen=True)
class Dialect:
    """How one database backend is reached and fed in bulk."""

    name: str
    driver: str
    engine_options: Callable[[URL], tuple[URL, dict[str, Any]]]
    merge: Callable[[DBAPIConnection, str, pl.DataFrame, str], int]
    """merge(conn, table, frame, conflict_clause) -> rows inserted or updated."""
    read: Callable[[sa.Connection, sa.Select[Any], dict[str, pl.DataType]], pl.DataFrame]
    """read(conn, query, schema) -> frame of the query's rows, columns named and typed by schema."""
    stage: Callable[[sa.Connection], Stage]
    """stage(conn) -> where a bulk load's rows wait before the merge, read through `conn`."""
    bulk_begin: tuple[str, ...]
    """Statements that open each bulk merge transaction."""
    on_connect: Callable[[DBAPIConnection, Any], None] | None = None


def _column_list(frame: pl.DataFrame) -> str:
    return ", ".join(frame.columns)


# -- SQLite ------------------------------------------------------------------------------------
# Durability: WAL with synchronous=NORMAL. A committed transaction is in the WAL file (in the
# OS page cache at least) before commit returns, so it survives kill -9 of the process; only
# an OS crash or power loss can lose the last few commits, which FULL would prevent at the
# price of an fsync per commit. Readers never block the writer and vice versa.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",  # 64 MiB of page cache per connection (bulk writes raise it)
    "PRAGMA journal_size_limit=67108864",  # truncate the WAL back to 64 MiB after a big import
)


def _sqlite_options(url: URL) -> tuple[URL, dict[str, Any]]:
    database = url.database or ""
    if database in ("", ":memory:"):
        # One shared connection, or every pooled connection would see its own empty database.
        return url, {"poolclass": sa.pool.StaticPool, "connect_args": {"check_same_thread": False}}
    folder = Path(database).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder {folder} for the SQLite store: {exc.strerror}") from None
    return url, {}


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: Any) -> None:
    """Set the pragmas above on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _python_columns(frame: pl.DataFrame) -> list[Sequence[Any]]:
    """Columns as Python sequences for executemany, cheaply.

    A low-cardinality string column (user, item, event type) becomes a numpy object array
    that references one Python string per distinct value, instead of one per row.
    """
    out: list[Sequence[Any]] = []
    for s in frame.iter_columns():
        if s.dtype == pl.String and s.null_count() == 0 and len(s) > 1000:
            distinct = s.unique()
            if len(distinct) * 4 < len(s):
                codes = s.cast(pl.Enum(distinct)).to_physical().to_numpy()
                out.append(np.array(distinct.to_list(), dtype=object)[codes])
                continue
        out.append(s.to_list())
    return out


BULK_CACHE_KIB = 1 << 20
"""Page cache for bulk writes (1 GiB, used only as pages are touched): every index of a
million-row table stays in memory while rows go in."""


def _sqlite_merge(conn: DBAPIConnection, table: str, frame: pl.DataFrame, conflict: str) -> int:
    marks = ", ".join("?" * frame.width)
    sql = f"INSERT INTO {table} ({_column_list(frame)}) VALUES ({marks}) {conflict}"
    before = conn.total_changes
    cursor = conn.cursor()
    if frame.height > 10_000:
        cursor.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    cursor.executemany(sql, zip(*_python_columns(frame), strict=True))
    cursor.close()
    return conn.total_changes - before


READ_CHUNK_ROWS = 1_000_000
"""Rows per SQLite bulk-read query; keeps each JSON text far below SQLite's 1 GB string limit."""


def _sqlite_read(conn: sa.Connection, query: sa.Select[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Let SQLite serialise each column as one JSON array (C code) and polars parse it (Rust).

    Twice as fast as fetching 2M row tuples into Python. JSON keeps 15 significant digits
    of a REAL (event values); integers and strings come back exactly. Chunks are read with
    LIMIT/OFFSET inside one transaction, so they see one snapshot.
    """
    frames = []
    conn.exec_driver_sql("BEGIN")  # pysqlite starts no transaction for SELECT on its own
    for offset in range(0, 1 << 62, READ_CHUNK_ROWS):
        chunk = query.limit(READ_CHUNK_ROWS).offset(offset).subquery()
        arrays = [sa.cast(sa.func.json_group_array(chunk.c[name]), sa.LargeBinary) for name in schema]
        count, *texts = conn.execute(sa.select(sa.func.count(), *arrays)).one()
        if count:  # {"user_id": [...], "item_id": [...], ...} as bytes, never decoded in Python
            body = b",".join(b'"%s":%s' % (name.encode(), text) for name, text in zip(schema, texts, strict=True))
            lists = pl.read_json(io.BytesIO(b"{" + body + b"}"), schema={k: pl.List(v) for k, v in schema.items()})
            frames.append(lists.explode(pl.all()))
        if count < READ_CHUNK_ROWS:
            break
    conn.rollback()
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


# -- PostgreSQL --------------------------------------------------------------------------------
def _postgres_options(url: URL) -> tuple[URL, dict[str, Any]]:
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
    return url, {"pool_pre_ping": True, "connect_args": connect_args}


POSTGRES_COPY_ROWS = 1000
"""From this many rows on, PostgreSQL merges go through COPY; fewer (live events) are plain INSERTs."""


def _postgres_merge(conn: DBAPIConnection, table: str, frame: pl.DataFrame, conflict: str) -> int:
    stage, columns = f"_stage_{table}", _column_list(frame)
    if frame.height < POSTGRES_COPY_ROWS:
        marks = ", ".join(["%s"] * frame.width)
        with conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks}) {conflict}", frame.rows())
            return cursor.rowcount
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        # CSV: an unquoted empty field is NULL, polars writes "" for an empty string.
        with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False))
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {conflict}")
        changed = cursor.rowcount
        cursor.execute(f"DROP TABLE {stage}")
    return changed


def _postgres_read(conn: sa.Connection, query: sa.Select[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """COPY the query's rows out as CSV (psycopg binds the parameters client-side) for polars."""
    compiled = query.compile(dialect=conn.dialect)
    buffer = io.BytesIO()
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor, cursor.copy(f"COPY ({compiled}) TO STDOUT (FORMAT csv)", compiled.params) as copy:
        for block in copy:
            buffer.write(block)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(buffer.getvalue(), has_header=False, schema=schema)


# SQLite: pysqlite opens no transaction before DDL, so the merge opens its own (an index
# dropped and rebuilt commits with the rows); IMMEDIATE takes the write lock at once.
SQLITE_BULK_BEGIN = (f"PRAGMA cache_size=-{BULK_CACHE_KIB}", "BEGIN IMMEDIATE")
# PostgreSQL: psycopg opens the transaction itself; more sort memory for the index builds.
POSTGRES_BULK_BEGIN = ("SET LOCAL maintenance_work_mem = '256MB'",)

SQLITE = Dialect("sqlite", "pysqlite", _sqlite_options, _sqlite_merge, _sqlite_read, SqliteStage, SQLITE_BULK_BEGIN,
                 _sqlite_on_connect)
POSTGRESQL = Dialect("postgresql", "psycopg", _postgres_options, _postgres_merge, _postgres_read, PostgresStage,
                     POSTGRES_BULK_BEGIN)
