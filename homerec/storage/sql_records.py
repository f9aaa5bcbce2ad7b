# SPDX-License-Identifier: Apache-2.0
"""`SqlStore`'s methods for what events carry besides the interaction, and for control-plane records.

A mixin of `homerec.storage.sql.SqlStore` (which provides `_guard`, `_engine` and `_dialect`);
the SQL itself is in `event_details` and `resources`.
"""

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import polars as pl
import sqlalchemy as sa

from homerec.data.rules import bad_id, is_storable_id
from homerec.data.schema import CONTEXT_EVENTS_TABLE, Change, Col
from homerec.errors import InputError
from homerec.storage import event_details, resources, tombstones
from homerec.storage.base import AddResult
from homerec.storage.dialects import Dialect
from homerec.storage.feed import write_changes
from homerec.storage.resources import ResourceRow


class RecordsMixin:
    """Events without an item, sessions joined to users, impressions; control-plane records."""

    _engine: sa.Engine
    _dialect: Dialect

    def _guard(self, action: str) -> AbstractContextManager[Iterator[None]]:  # provided by SqlStore
        raise NotImplementedError

    def add_context_events(self, frame: pl.DataFrame) -> AddResult:
        """See `Store.add_context_events`."""
        rows = event_details.context_rows(frame)
        if rows.is_empty():
            return AddResult(0, 0)
        for name in (Col.event_id, Col.user_id, Col.ts, Col.event_type):
            if rows[name].null_count():
                raise InputError(f"context events: {rows[name].null_count()} rows have no {name}")
        rows = rows.filter(~bad_id(pl.col(Col.user_id)) & ~bad_id(pl.col(Col.event_id)))
        with self._guard("add events to"), self._engine.begin() as conn:
            added = self._dialect.merge(conn.connection.dbapi_connection, CONTEXT_EVENTS_TABLE, rows,
                                        f"ON CONFLICT ({Col.event_id}) DO NOTHING")
            tombstones.lift(conn, rows[Col.user_id].unique(maintain_order=True).to_list())
        return AddResult(added, frame.height - added)

    def join_session(self, session_id: str, user_id: str) -> int:
        """See `Store.join_session`."""
        if session_id == user_id or not (is_storable_id(session_id) and is_storable_id(user_id)):
            return 0
        with self._guard("join a session in"), self._engine.begin() as conn:
            moved = event_details.join_session(conn, session_id, user_id)
            if moved:
                tombstones.lift(conn, [user_id])
                write_changes(conn.connection.dbapi_connection, self._dialect.name, Change.events, [user_id, session_id])
        return moved

    def context_events(self, since: int | None = None, user_id: str | None = None) -> pl.DataFrame:
        """See `Store.context_events`."""
        with self._guard("read events from"), self._engine.connect() as conn:
            return event_details.read_context_events(conn, since, user_id)

    def impressions(self, since: int | None = None) -> pl.DataFrame:
        """See `Store.impressions`."""
        with self._guard("read impressions from"), self._engine.connect() as conn:
            return event_details.read_impressions(conn, since)

    # -- control-plane records ---------------------------------------------------------------
    def put_resource(self, arn: str, kind: str, group: str, status: str, doc: dict[str, Any]) -> None:
        """See `Store.put_resource`."""
        with self._guard("write a resource to"), self._engine.begin() as conn:
            resources.put(conn, arn, kind, group, status, doc, int(time.time()))

    def resource(self, arn: str) -> ResourceRow | None:
        """See `Store.resource`."""
        if not is_storable_id(arn):
            return None
        with self._guard("read a resource from"), self._engine.connect() as conn:
            return resources.get(conn, arn)

    def resources(self, kind: str, group: str | None = None) -> list[ResourceRow]:
        """See `Store.resources`."""
        with self._guard("read resources from"), self._engine.connect() as conn:
            return resources.listed(conn, kind, group)

    def delete_resource(self, arn: str) -> bool:
        """See `Store.delete_resource`."""
        with self._guard("delete a resource from"), self._engine.begin() as conn:
            return resources.delete(conn, arn)
