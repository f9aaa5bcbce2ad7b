# SPDX-License-Identifier: Apache-2.0
"""`SqlStore`: the one `Store` implementation, for SQLite and PostgreSQL alike (SQLAlchemy Core)."""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL

from homerec.data.schema import (
    ATTRIBUTABLE_EVENT_COLUMNS,
    DEFAULT_EVENT_TYPE,
    EVENT_LINKS_TABLE,
    EXPOSURES_TABLE,
    INTERACTIONS_TABLE,
    REC_CACHE_TABLE,
    USERS_TABLE,
    Col,
)
from homerec.errors import InputError, StoreError
from homerec.storage import cache, experiment_log, tables
from homerec.storage.base import AddResult, CachedList, ExperimentRow, event_ids
from homerec.storage.dialects import DBAPIConnection, Dialect
from homerec.storage.point import PointQuery, PointReader
from homerec.types import Scored

INTERACTION_SCHEMA: dict[str, pl.DataType] = {
    Col.user_id: pl.String(),
    Col.item_id: pl.String(),
    Col.ts: pl.Int64(),
    Col.event_type: pl.String(),
    Col.event_value: pl.Float64(),
    Col.order_id: pl.String(),
    Col.quantity: pl.Float64(),
}
"""Columns and types of the frames `interactions()` and `history()` return."""

_EVENT_COLUMNS = [Col.event_id, *INTERACTION_SCHEMA]
CHUNK_ROWS = 200_000
"""Events written per transaction by `add_interactions`: short enough for live writers to interleave."""


def _reason(exc: BaseException) -> str:
    """The driver's message on one line, without SQLAlchemy's statement dump and help links."""
    inner = getattr(exc, "orig", None) or exc
    return " ".join(line.strip() for line in str(inner).splitlines() if line.strip())


def prepare_events(frame: pl.DataFrame) -> pl.DataFrame:
    """Events in table layout: types cast, event type defaulted, missing `event_id`s derived.

    A `recommendation_id` column, when `frame` has one, is kept (last) for the event links.

    Raises:
        InputError: a required column is missing, holds nulls or has values of the wrong type.
    """
    missing = [c for c in (Col.user_id, Col.item_id, Col.ts) if c not in frame.columns]
    if missing:
        raise InputError(f"interactions need the columns {', '.join(missing)} (got {', '.join(frame.columns)})")
    try:
        events = _typed_events(frame)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"interactions: {str(exc).splitlines()[0]}") from None
    for name in (Col.user_id, Col.item_id, Col.ts):
        if nulls := events[name].null_count():
            raise InputError(f"interactions: {nulls} rows have no {name}")
    if events[Col.event_id].null_count():
        derived = event_ids(events[Col.user_id], events[Col.item_id], events[Col.ts], events[Col.event_type])
        events = events.with_columns(pl.col(Col.event_id).fill_null(derived))
    linked = [Col.recommendation_id] if Col.recommendation_id in frame.columns else []
    return events.select(*_EVENT_COLUMNS, *linked)


def _typed_events(frame: pl.DataFrame) -> pl.DataFrame:
    linked = [pl.col(Col.recommendation_id).cast(pl.String)] if Col.recommendation_id in frame.columns else []
    return frame.select(
        pl.col(Col.user_id).cast(pl.String),
        pl.col(Col.item_id).cast(pl.String),
        pl.col(Col.ts).cast(pl.Int64),
        (pl.col(Col.event_type).cast(pl.String) if Col.event_type in frame.columns else pl.lit(None, pl.String))
        .fill_null(DEFAULT_EVENT_TYPE)
        .alias(Col.event_type),
        (pl.col(Col.event_value) if Col.event_value in frame.columns else pl.lit(None))
        .cast(pl.Float64)
        .alias(Col.event_value),
        (pl.col(Col.order_id) if Col.order_id in frame.columns else pl.lit(None)).cast(pl.String).alias(Col.order_id),
        (pl.col(Col.quantity) if Col.quantity in frame.columns else pl.lit(None)).cast(pl.Float64).alias(Col.quantity),
        (pl.col(Col.event_id) if Col.event_id in frame.columns else pl.lit(None)).cast(pl.String).alias(Col.event_id),
        *linked,
    )


class SqlStore:
    """A `Store` over one SQLAlchemy engine; open it with `homerec.storage.open_store(url)`."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        self.url = url.render_as_string(hide_password=True)
        self._dialect = dialect
        url, options = dialect.engine_options(url.set(drivername=f"{dialect.name}+{dialect.driver}"))
        try:
            self._engine = sa.create_engine(url, **options)
        except ModuleNotFoundError as exc:
            raise StoreError(f"the {dialect.name} driver is missing ({exc.name}): install homerec[postgres]") from None
        if dialect.on_connect is not None:
            sa.event.listen(self._engine, "connect", dialect.on_connect)
        self._driver_error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        with self._guard("open"):
            tables.create_all(self._engine)
        i, r = tables.interactions, tables.rec_cache
        self._points = PointReader(self._engine)
        self._history = PointQuery(self._points, sa.select(*(i.c[c] for c in INTERACTION_SCHEMA)).where(
            i.c[Col.user_id] == sa.bindparam("user_id")).order_by(i.c[Col.ts], i.c[Col.event_id]))
        self._user_items = PointQuery(self._points, sa.select(i.c[Col.item_id], i.c[Col.ts]).where(
            i.c[Col.user_id] == sa.bindparam("user_id")).order_by(i.c[Col.ts], i.c[Col.event_id]))
        self._last_ts = PointQuery(self._points, sa.select(sa.func.max(i.c[Col.ts])).where(
            i.c[Col.user_id] == sa.bindparam("user_id")))
        self._cached = PointQuery(self._points, sa.select(r.c[Col.ranked], r.c[Col.model_version], r.c[Col.computed_at]).where(
            r.c[Col.namespace] == sa.bindparam("namespace"), r.c[Col.key] == sa.bindparam("key")))

    # -- plumbing ------------------------------------------------------------------------------
    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn database errors into StoreError with a one-line message naming the store."""
        try:
            yield
        except (sa.exc.SQLAlchemyError, self._driver_error) as exc:
            raise StoreError(f"cannot {action} the store at {self.url}: {_reason(exc)}") from None

    @contextmanager
    def _raw(self, action: str) -> Iterator[DBAPIConnection]:
        """The driver connection inside one transaction (committed on success)."""
        with self._guard(action), self._engine.begin() as conn:
            yield conn.connection.dbapi_connection

    def _merge(self, action: str, table: sa.Table, frame: pl.DataFrame, conflict: str) -> int:
        if frame.is_empty():
            return 0
        with self._raw(action) as conn:
            return self._dialect.merge(conn, table.name, frame, conflict)

    # -- events --------------------------------------------------------------------------------
    def add_interactions(
        self, frame: pl.DataFrame, progress: Callable[[int, int], None] | None = None
    ) -> AddResult:
        """See `Store.add_interactions`."""
        events = prepare_events(frame)
        if events[Col.event_id].n_unique() < events.height:
            events = events.unique(Col.event_id, keep="first", maintain_order=True)
        # In time order, derived ids (which start with the timestamp), the ts index and the
        # (user_id, ts) index all grow at their ends: B-tree appends instead of random writes.
        events = events.sort(Col.ts, maintain_order=True)
        conflict = f"ON CONFLICT ({Col.event_id}) DO NOTHING"
        inserted, total = 0, events.height
        if progress:
            progress(0, total)
        for offset in range(0, total, CHUNK_ROWS):
            chunk = events.slice(offset, CHUNK_ROWS)
            links = experiment_log.link_rows(chunk) if Col.recommendation_id in chunk.columns else None
            with self._raw("add interactions to") as conn:  # events and their links commit together
                inserted += self._dialect.merge(conn, INTERACTIONS_TABLE, chunk.select(_EVENT_COLUMNS), conflict)
                if links is not None and links.height:
                    self._dialect.merge(conn, EVENT_LINKS_TABLE, links, conflict)
            if progress:
                progress(min(offset + CHUNK_ROWS, total), total)
        return AddResult(inserted, frame.height - inserted)

    def _read(self, action: str, query: sa.Select[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
        with self._guard(action), self._engine.connect() as conn:
            return self._dialect.read(conn, query, schema)

    def interactions(self, since: int | None = None) -> pl.DataFrame:
        """See `Store.interactions`."""
        t = tables.interactions
        query = sa.select(*(t.c[c] for c in INTERACTION_SCHEMA))
        if since is not None:
            query = query.where(t.c[Col.ts] >= int(since))
        # Sorting two million rows in polars is cheaper than asking the database to.
        return self._read("read interactions from", query, INTERACTION_SCHEMA).sort(Col.ts, maintain_order=True)

    def history(self, user_id: str) -> pl.DataFrame:
        """See `Store.history` (a point read: one user's rows through the index)."""
        with self._guard("read history from"):
            rows = self._history.rows(user_id=user_id)
        return pl.DataFrame(rows, schema=INTERACTION_SCHEMA, orient="row")

    def last_event_ts(self, user_id: str) -> int | None:
        """See `Store.last_event_ts`."""
        with self._guard("read history from"):
            rows = self._last_ts.rows(user_id=user_id)
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def user_items(self, user_id: str) -> tuple[list[str], int | None]:
        """See `Store.user_items`."""
        with self._guard("read history from"):
            rows = self._user_items.rows(user_id=user_id)
        return [r[0] for r in rows], (int(rows[-1][1]) if rows else None)

    # -- catalog and users ---------------------------------------------------------------------
    def _upsert(self, table: sa.Table, id_column: str, frame: pl.DataFrame) -> int:
        rows = cache.entity_rows(frame, id_column, int(time.time()))
        conflict = (
            f"ON CONFLICT ({id_column}) DO UPDATE SET {Col.metadata} = excluded.{Col.metadata}, "
            f"{Col.updated_at} = excluded.{Col.updated_at} "
            f"WHERE {table.name}.{Col.metadata} <> excluded.{Col.metadata}"
        )
        return self._merge(f"write {table.name} to", table, rows, conflict)

    def upsert_items(self, frame: pl.DataFrame) -> int:
        """See `Store.upsert_items`."""
        return self._upsert(tables.items, Col.item_id, frame)

    def upsert_users(self, frame: pl.DataFrame) -> int:
        """See `Store.upsert_users`."""
        return self._upsert(tables.users, Col.user_id, frame)

    def _entities(self, table: sa.Table, id_column: str) -> pl.DataFrame:
        query = sa.select(table.c[id_column], table.c[Col.metadata]).order_by(table.c[id_column])
        with self._guard(f"read {table.name} from"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return cache.expand_metadata(rows, id_column)

    def items(self) -> pl.DataFrame:
        """See `Store.items`."""
        return self._entities(tables.items, Col.item_id)

    def users(self) -> pl.DataFrame:
        """See `Store.users`."""
        return self._entities(tables.users, Col.user_id)

    # -- recommendation cache ------------------------------------------------------------------
    def put_recs(self, namespace: str, rows: Iterable[tuple[str, list[Scored]]], model_version: str,
                 computed_at: int | None = None) -> int:
        """See `Store.put_recs`; rows are written in chunks, each its own transaction."""
        written = 0
        conflict = (
            f"ON CONFLICT ({Col.namespace}, {Col.key}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in (Col.ranked, Col.model_version, Col.computed_at))
        )
        when = int(time.time()) if computed_at is None else int(computed_at)
        for chunk in cache.list_chunks(namespace, rows, model_version, when):
            written += self._merge("write recommendations to", tables.rec_cache, chunk, conflict)
        return written

    def get_recs(self, namespace: str, key: str) -> CachedList | None:
        """See `Store.get_recs`."""
        with self._guard("read recommendations from"):
            rows = self._cached.rows(namespace=namespace, key=key)
        if not rows:
            return None
        ranked, version, computed_at = rows[0]
        return CachedList(cache.decode_ranked(ranked), version, int(computed_at))

    # -- housekeeping --------------------------------------------------------------------------
    def delete_user(self, user_id: str) -> dict[str, int]:
        """See `Store.delete_user`: cached lists in `cache.user_namespaces` keyed by the user go too."""
        i, u, r = tables.interactions, tables.users, tables.rec_cache
        x, links = tables.exposures, tables.event_links
        own_events = sa.select(i.c[Col.event_id]).where(i.c[Col.user_id] == user_id)
        own_exposures = sa.select(x.c[Col.recommendation_id]).where(x.c[Col.user_id] == user_id)
        statements = {  # links first: they are found through the events and exposures
            EVENT_LINKS_TABLE: sa.delete(links).where(
                links.c[Col.event_id].in_(own_events) | links.c[Col.recommendation_id].in_(own_exposures)
            ),
            INTERACTIONS_TABLE: sa.delete(i).where(i.c[Col.user_id] == user_id),
            USERS_TABLE: sa.delete(u).where(u.c[Col.user_id] == user_id),
            REC_CACHE_TABLE: sa.delete(r).where(r.c[Col.key] == user_id, cache.user_namespaces(r.c[Col.namespace])),
            EXPOSURES_TABLE: sa.delete(x).where(x.c[Col.user_id] == user_id),
        }
        with self._guard("delete a user from"), self._engine.begin() as conn:
            removed = {name: conn.execute(statement).rowcount for name, statement in statements.items()}
        order = (INTERACTIONS_TABLE, USERS_TABLE, REC_CACHE_TABLE, EXPOSURES_TABLE, EVENT_LINKS_TABLE)
        return {name: removed[name] for name in order}

    # -- A/B experiments -----------------------------------------------------------------------
    def put_experiment(self, name: str, spec: str, status: str) -> None:
        """See `Store.put_experiment`."""
        now = int(time.time())
        row = pl.DataFrame(
            {Col.name: [name], Col.spec: [spec], Col.status: [status], Col.created_at: [now], Col.updated_at: [now]},
            schema={Col.name: pl.String, Col.spec: pl.String, Col.status: pl.String,
                    Col.created_at: pl.Int64, Col.updated_at: pl.Int64},
        )  # fmt: skip
        conflict = f"ON CONFLICT ({Col.name}) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in (Col.spec, Col.status, Col.updated_at)
        )
        self._merge("write an experiment to", tables.experiments, row, conflict)

    def experiments(self) -> list[ExperimentRow]:
        """See `Store.experiments`."""
        t = tables.experiments
        query = sa.select(*(t.c[f] for f in ExperimentRow._fields)).order_by(t.c[Col.created_at], t.c[Col.name])
        with self._guard("read experiments from"), self._engine.connect() as conn:
            return [ExperimentRow(n, sp, st, int(c), int(u)) for n, sp, st, c, u in conn.execute(query)]

    def add_exposures(self, frame: pl.DataFrame) -> int:
        """See `Store.add_exposures`."""
        rows = experiment_log.exposure_rows(frame)
        return self._merge("log exposures to", tables.exposures, rows, f"ON CONFLICT ({Col.recommendation_id}) DO NOTHING")

    def exposures(self, experiment: str, since: int | None = None) -> pl.DataFrame:
        """See `Store.exposures`."""
        t = tables.exposures
        schema = experiment_log.STORED_EXPOSURE_SCHEMA
        columns = [sa.cast(t.c[c], sa.Integer).label(c) if c == Col.served else t.c[c] for c in schema]
        query = sa.select(*columns).where(t.c[Col.experiment] == experiment)
        if since is not None:
            query = query.where(t.c[Col.ts] >= int(since))
        stored = self._read("read exposures from", query, schema)
        return experiment_log.decode_exposures(stored.sort(Col.ts, Col.recommendation_id))

    def attributable_events(self, since: int) -> pl.DataFrame:
        """See `Store.attributable_events`: one LEFT JOIN of interactions and event_links."""
        i, links = tables.interactions, tables.event_links
        schema = {**INTERACTION_SCHEMA, Col.event_id: pl.String(), Col.recommendation_id: pl.String()}
        assert tuple(schema) == ATTRIBUTABLE_EVENT_COLUMNS
        query = (
            sa.select(*(i.c[c] for c in (*INTERACTION_SCHEMA, Col.event_id)), links.c[Col.recommendation_id])
            .select_from(i.outerjoin(links, i.c[Col.event_id] == links.c[Col.event_id]))
            .where(i.c[Col.ts] >= int(since))
        )
        return self._read("read events from", query, schema).sort(Col.ts, Col.event_id)

    def cache_freshness(self) -> list[dict[str, Any]]:
        """See `Store.cache_freshness`."""
        r = tables.rec_cache
        namespace, version, computed = r.c[Col.namespace], r.c[Col.model_version], r.c[Col.computed_at]
        query = sa.select(namespace, version, sa.func.count(), sa.func.min(computed), sa.func.max(computed)).group_by(
            namespace, version
        )
        with self._guard("read the cache of"), self._engine.connect() as conn:
            rows = [tuple(row) for row in conn.execute(query)]
        return experiment_log.freshness(rows)

    def counts(self) -> dict[str, int]:
        """See `Store.counts`."""
        query = sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery() for t in tables.DATA_TABLES))
        with self._guard("count rows in"), self._engine.connect() as conn:
            row = conn.execute(query).one()
        return {t.name: int(n) for t, n in zip(tables.DATA_TABLES, row, strict=True)}

    def close(self) -> None:
        """See `Store.close`."""
        self._points.close()
        self._engine.dispose()

    def __enter__(self) -> "SqlStore":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"
