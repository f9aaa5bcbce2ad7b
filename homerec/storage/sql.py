# SPDX-License-Identifier: Apache-2.0
"""`SqlStore`: the one `Store` implementation, for SQLite and PostgreSQL alike (SQLAlchemy Core)."""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL

from homerec.data.rules import MAX_ABS_VALUE, bad_id, is_storable_id
from homerec.data.schema import (
    ATTRIBUTABLE_EVENT_COLUMNS,
    CONTEXT_EVENTS_TABLE,
    EVENT_LINKS_TABLE,
    EXPOSURES_TABLE,
    INTERACTIONS_TABLE,
    REC_CACHE_TABLE,
    USERS_TABLE,
    Change,
    Col,
)
from homerec.errors import InputError, StoreError
from homerec.storage import bulk, cache, experiment_log, tables, tombstones
from homerec.storage import feed as change_feed
from homerec.storage.base import AddResult, CachedList, ExperimentRow
from homerec.storage.dialects import Dialect
from homerec.storage.events import INTERACTION_SCHEMA, prepare_events, stored_columns
from homerec.storage.feed import ChangeRow, write_changes
from homerec.storage.point import PointQuery, PointReader
from homerec.storage.sql_records import RecordsMixin
from homerec.types import Scored

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000
"""Events written per transaction by `add_interactions` and `load_interactions` (unless it rebuilds
the indexes): short enough for live writers to interleave."""
BULK_ROWS = 100_000
"""`add_interactions` hands frames of this many rows on to the bulk path (`load_interactions`)."""


def _reason(exc: BaseException) -> str:
    """The driver's message on one line, without SQLAlchemy's statement dump and help links."""
    inner = getattr(exc, "orig", None) or exc
    return " ".join(line.strip() for line in str(inner).splitlines() if line.strip())


class SqlStore(RecordsMixin):
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
        self._listeners: list[Callable[[list[ChangeRow]], None]] = []
        self._driver_error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        self._data_error: type[Exception] = self._engine.dialect.loaded_dbapi.DataError
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
        """Turn database errors into StoreError with a one-line message naming the store.

        A value the database refuses (a data exception: PostgreSQL's text type holds no NUL)
        is the caller's input, not an outage: InputError, without the store's URL.
        """
        try:
            yield
        except (sa.exc.DataError, self._data_error) as exc:
            raise InputError(f"the store refused a value: {_reason(exc)}") from None
        except (sa.exc.SQLAlchemyError, self._driver_error) as exc:
            raise StoreError(f"cannot {action} the store at {self.url}: {_reason(exc)}") from None

    def _relay(self, rows: list[ChangeRow]) -> None:
        """Hand committed changes to the listeners (`on_changes`); a listener's failure is logged, never raised."""
        for listener in self._listeners if rows else ():
            try:
                listener(rows)
            except Exception:  # the write is committed: a listener must not turn it into an error
                log.exception("change listener %r failed", listener)

    def _merge(self, action: str, table: sa.Table, frame: pl.DataFrame, conflict: str,
               user_column: str | None = None, change: tuple[str, str] | None = None) -> int:
        """Insert `frame` into `table`; rows whose `user_column` names a deleted user are left out.

        With `change` = (kind, key column), the keys of a write that changed rows go to the
        change feed in the same transaction.
        """
        if frame.is_empty():
            return 0
        rows: list[ChangeRow] = []
        with self._guard(action), self._engine.begin() as conn:
            if user_column is not None:
                frame = tombstones.without_deleted(conn, frame, user_column)
                if frame.is_empty():
                    return 0
            raw = conn.connection.dbapi_connection
            changed = self._dialect.merge(raw, table.name, frame, conflict)
            if change is not None and changed:
                rows = write_changes(raw, self._dialect.name, change[0], frame[change[1]].to_list())
        self._relay(rows)
        return changed

    # -- events --------------------------------------------------------------------------------
    def add_interactions(
        self, frame: pl.DataFrame, progress: Callable[[int, int], None] | None = None
    ) -> AddResult:
        """See `Store.add_interactions`."""
        if frame.height >= BULK_ROWS:
            return self.load_interactions([frame], progress)
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
            # Events, their links, the lifting of their users' tombstones and the change feed commit together.
            with self._guard("add interactions to"), self._engine.begin() as conn:
                raw = conn.connection.dbapi_connection
                added = self._dialect.merge(raw, INTERACTIONS_TABLE, chunk.select(stored_columns(chunk)), conflict)
                if links is not None and links.height:
                    self._dialect.merge(raw, EVENT_LINKS_TABLE, links, conflict)
                users = chunk[Col.user_id].unique(maintain_order=True).to_list()
                tombstones.lift(conn, users)
                rows = write_changes(raw, self._dialect.name, Change.events, users) if added else []
            self._relay(rows)
            inserted += added
            if progress:
                progress(min(offset + CHUNK_ROWS, total), total)
        return AddResult(inserted, frame.height - inserted)

    def load_interactions(
        self, batches: Iterable[pl.DataFrame], progress: Callable[[int, int], None] | None = None
    ) -> AddResult:
        """See `Store.load_interactions` (`homerec.storage.bulk`)."""
        with self._guard("load interactions into"), self._engine.connect() as conn:
            stage = self._dialect.stage(conn)
            return bulk.load_events(conn, stage, batches, progress, CHUNK_ROWS, self._dialect.bulk_begin, self._relay)

    def _read(self, action: str, query: sa.Select[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
        with self._guard(action), self._engine.connect() as conn:
            return self._dialect.read(conn, query, schema)

    def interactions(self, since: int | None = None) -> pl.DataFrame:
        """See `Store.interactions`: rows that break the id or number rules are skipped and logged.

        Such rows can only come from an older homerec or from writes that bypassed it; one of
        them must not stop training (SQLite would serialise an infinite value as text that no
        JSON reader takes) nor collide ids in a model's id map.
        """
        t = tables.interactions
        value = t.c[Col.event_value]
        finite = value.is_(None) | value.between(-MAX_ABS_VALUE, MAX_ABS_VALUE)
        window = [t.c[Col.ts] >= int(since)] if since is not None else []
        query = sa.select(*(t.c[c] for c in INTERACTION_SCHEMA)).where(finite, *window)
        frame = self._read("read interactions from", query, INTERACTION_SCHEMA)
        bad_ids = bad_id(pl.col(Col.user_id)) | bad_id(pl.col(Col.item_id))
        if n_ids := frame.select(bad_ids.sum()).item():
            frame = frame.filter(~bad_ids)
        with self._guard("read interactions from"), self._engine.connect() as conn:
            n_values = conn.execute(sa.select(sa.func.count()).select_from(t).where(~finite, *window)).scalar_one()
        if n_ids or n_values:
            log.warning("skipped %d stored events whose ids break the id rule and %d whose event_value is not "
                        "a finite number within ±%g (written by an older homerec?)", n_ids, n_values, MAX_ABS_VALUE)
        # Sorting two million rows in polars is cheaper than asking the database to.
        return frame.sort(Col.ts, maintain_order=True)

    def history(self, user_id: str) -> pl.DataFrame:
        """See `Store.history` (a point read: one user's rows through the index)."""
        if not is_storable_id(user_id):  # no such id can be stored (and PostgreSQL refuses a NUL)
            return pl.DataFrame(schema=INTERACTION_SCHEMA)
        with self._guard("read history from"):
            rows = self._history.rows(user_id=user_id)
        return pl.DataFrame(rows, schema=INTERACTION_SCHEMA, orient="row")

    def last_event_ts(self, user_id: str) -> int | None:
        """See `Store.last_event_ts`."""
        if not is_storable_id(user_id):
            return None
        with self._guard("read history from"):
            rows = self._last_ts.rows(user_id=user_id)
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def user_items(self, user_id: str) -> tuple[list[str], int | None]:
        """See `Store.user_items`."""
        if not is_storable_id(user_id):
            return [], None
        with self._guard("read history from"):
            rows = self._user_items.rows(user_id=user_id)
        return [r[0] for r in rows], (int(rows[-1][1]) if rows else None)

    # -- catalog and users ---------------------------------------------------------------------
    def _upsert(self, table: sa.Table, id_column: str, frame: pl.DataFrame, kind: str) -> int:
        rows = cache.entity_rows(frame, id_column, int(time.time()))
        conflict = (
            f"ON CONFLICT ({id_column}) DO UPDATE SET {Col.metadata} = excluded.{Col.metadata}, "
            f"{Col.updated_at} = excluded.{Col.updated_at} "
            f"WHERE {table.name}.{Col.metadata} <> excluded.{Col.metadata}"
        )
        return self._merge(f"write {table.name} to", table, rows, conflict, change=(kind, id_column))

    def upsert_items(self, frame: pl.DataFrame) -> int:
        """See `Store.upsert_items`."""
        return self._upsert(tables.items, Col.item_id, frame, Change.items)

    def upsert_users(self, frame: pl.DataFrame) -> int:
        """See `Store.upsert_users`."""
        return self._upsert(tables.users, Col.user_id, frame, Change.users)

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
                 computed_at: int | None = None, feed_seq: int = 0) -> int:
        """See `Store.put_recs`; rows are written in chunks, each its own transaction, then one change."""
        written = 0
        conflict = (
            f"ON CONFLICT ({Col.namespace}, {Col.key}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in (Col.ranked, Col.model_version, Col.computed_at, Col.feed_seq))
        )
        when = int(time.time()) if computed_at is None else int(computed_at)
        keyed_by_user = cache.is_user_namespace(namespace)
        for chunk in cache.list_chunks(namespace, rows, model_version, when, feed_seq):
            chunk = chunk.filter(~bad_id(pl.col(Col.key)))  # such a key cannot be asked for
            written += self._merge("write recommendations to", tables.rec_cache, chunk, conflict,
                                   Col.key if keyed_by_user else None)
        if written:
            self.announce(Change.recs, [namespace])
        return written

    def cached_lists(self, namespace: str) -> pl.DataFrame:
        """See `Store.cached_lists`."""
        r = tables.rec_cache
        schema = {Col.key: pl.String(), Col.ranked: pl.String(), Col.model_version: pl.String(),
                  Col.computed_at: pl.Int64(), Col.feed_seq: pl.Int64()}
        query = sa.select(*(r.c[c] for c in schema)).where(r.c[Col.namespace] == namespace)
        return self._read("read recommendations from", query, schema)

    def get_recs(self, namespace: str, key: str) -> CachedList | None:
        """See `Store.get_recs`."""
        if not (is_storable_id(namespace) and is_storable_id(key)):
            return None
        with self._guard("read recommendations from"):
            rows = self._cached.rows(namespace=namespace, key=key)
        if not rows:
            return None
        ranked, version, computed_at = rows[0]
        return CachedList(cache.decode_ranked(ranked), version, int(computed_at))

    # -- the change feed (homerec.storage.feed) ------------------------------------------------
    def change_position(self) -> int:
        """See `Store.change_position`."""
        with self._guard("read the change feed of"), self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(tables.changes.c[Col.seq]), 0))).scalar())

    def changes(self, after: int) -> list[ChangeRow]:
        """See `Store.changes`."""
        t = tables.changes
        query = (sa.select(t.c[Col.seq], t.c[Col.kind], t.c[Col.key], t.c[Col.ts])
                 .where(t.c[Col.seq] > int(after)).order_by(t.c[Col.seq]).limit(change_feed.BATCH_ROWS))
        with self._guard("read the change feed of"), self._engine.connect() as conn:
            return [ChangeRow(int(q), k, key, int(ts)) for q, k, key, ts in conn.execute(query)]

    def announce(self, kind: str, keys: Iterable[str]) -> list[ChangeRow]:
        """See `Store.announce`."""
        with self._guard("write the change feed of"), self._engine.begin() as conn:
            rows = write_changes(conn.connection.dbapi_connection, self._dialect.name, kind, keys)
        self._relay(rows)
        return rows

    def on_changes(self, listener: Callable[[list[ChangeRow]], None]) -> None:
        """See `Store.on_changes`."""
        self._listeners.append(listener)

    def feed(self) -> change_feed.Feed:
        """See `Store.feed`."""
        with self._guard("follow the change feed of"):
            return change_feed.open_feed(self._engine)

    def prune_changes(self, older_than_s: int = 86_400) -> int:
        """See `Store.prune_changes`."""
        t, r = tables.changes, tables.rec_cache
        newest = sa.select(sa.func.max(t.c[Col.seq])).scalar_subquery()
        needed = sa.select(sa.func.coalesce(sa.func.min(r.c[Col.feed_seq]), newest)).scalar_subquery()
        query = sa.delete(t).where(t.c[Col.seq] <= needed, t.c[Col.ts] < int(time.time()) - older_than_s)
        with self._guard("prune the change feed of"), self._engine.begin() as conn:
            return conn.execute(query).rowcount

    # -- housekeeping --------------------------------------------------------------------------
    def delete_user(self, user_id: str) -> dict[str, int]:
        """See `Store.delete_user`: cached lists in `cache.user_namespaces` keyed by the user go too."""
        order = (INTERACTIONS_TABLE, USERS_TABLE, REC_CACHE_TABLE, EXPOSURES_TABLE, EVENT_LINKS_TABLE)
        if not is_storable_id(user_id):  # nothing can be stored under it
            return dict.fromkeys(order, 0)
        i, u, r = tables.interactions, tables.users, tables.rec_cache
        x, links = tables.exposures, tables.event_links
        own_events = sa.select(i.c[Col.event_id]).where(i.c[Col.user_id] == user_id)
        own_exposures = sa.select(x.c[Col.recommendation_id]).where(x.c[Col.user_id] == user_id)
        statements = {  # links first: they are found through the events and exposures
            EVENT_LINKS_TABLE: sa.delete(links).where(
                links.c[Col.event_id].in_(own_events) | links.c[Col.recommendation_id].in_(own_exposures)
            ),
            INTERACTIONS_TABLE: sa.delete(i).where(i.c[Col.user_id] == user_id),
            CONTEXT_EVENTS_TABLE: sa.delete(tables.context_events).where(tables.context_events.c[Col.user_id] == user_id),
            USERS_TABLE: sa.delete(u).where(u.c[Col.user_id] == user_id),
            REC_CACHE_TABLE: sa.delete(r).where(r.c[Col.key] == user_id, cache.user_namespaces(r.c[Col.namespace])),
            EXPOSURES_TABLE: sa.delete(x).where(x.c[Col.user_id] == user_id),
        }
        with self._guard("delete a user from"), self._engine.begin() as conn:
            removed = {name: conn.execute(statement).rowcount for name, statement in statements.items()}
            tombstones.bury(conn, user_id, int(time.time()))
            rows = write_changes(conn.connection.dbapi_connection, self._dialect.name, Change.deleted, [user_id])
        removed[INTERACTIONS_TABLE] += removed.pop(CONTEXT_EVENTS_TABLE)  # events with or without an item
        self._relay(rows)
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
        return self._merge("log exposures to", tables.exposures, rows, f"ON CONFLICT ({Col.recommendation_id}) DO NOTHING",
                           Col.user_id)

    def exposures(self, experiment: str, since: int | None = None) -> pl.DataFrame:
        """See `Store.exposures`."""
        return self._exposures(tables.exposures.c[Col.experiment] == experiment, since)

    def placement_exposures(self, since: int | None = None) -> pl.DataFrame:
        """See `Store.placement_exposures`."""
        return self._exposures(tables.exposures.c[Col.placement].is_not(None), since)

    def _exposures(self, where: Any, since: int | None) -> pl.DataFrame:
        t = tables.exposures
        schema = experiment_log.STORED_EXPOSURE_SCHEMA
        columns = [sa.cast(t.c[c], sa.Integer).label(c) if c == Col.served else t.c[c] for c in schema]
        query = sa.select(*columns).where(where)
        if since is not None:
            query = query.where(t.c[Col.ts] >= int(since))
        stored = self._read("read exposures from", query, schema)
        return experiment_log.decode_exposures(stored.sort(Col.ts, Col.recommendation_id))

    def shown_counts(self, user_id: str, since: int) -> dict[str, int]:
        """See `Store.shown_counts`."""
        t = tables.exposures
        query = (sa.select(t.c[Col.ranked]).where(t.c[Col.user_id] == user_id)
                 .where(t.c[Col.ts] >= int(since)).where(t.c[Col.served].is_(True)))
        with self._guard("read exposures from"), self._engine.connect() as conn:
            lists = conn.execute(query).scalars().all()
        return experiment_log.count_shown(lists)

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
