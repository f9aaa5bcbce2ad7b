# SPDX-License-Identifier: Apache-2.0
"""What a write does, free of HTTP: events, item and user metadata, deletion.

Each write commits to the store before it returns (an acknowledged event survives kill -9),
and the store's change feed tells every other worker and replica. This worker does not wait
for its own feed: it marks the users it wrote for at once (`Freshness.touch`), so its next
answer to them is scored from their new history.
"""

import time
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from homerec.data.rules import DEFAULT_FUTURE_SKEW_S
from homerec.data.schema import EVENT_DETAIL_COLUMNS, Col
from homerec.errors import InputError
from homerec.serving.catalog import Catalog
from homerec.serving.exposures import ExposureLog
from homerec.serving.freshness import Freshness
from homerec.storage.base import AddResult, Store

EVENT_SCHEMA = {Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64, Col.event_type: pl.String,
                Col.event_value: pl.Float64, Col.event_id: pl.String, Col.recommendation_id: pl.String}


class Writes:
    """The API's writes over a store, keeping this worker's view (freshness, catalogue, exposures) in step."""

    def __init__(self, store: Store, catalog: Catalog, freshness: Freshness, exposures: ExposureLog,
                 max_future_s: int = DEFAULT_FUTURE_SKEW_S) -> None:
        self.store, self.catalog, self.freshness, self.exposures = store, catalog, freshness, exposures
        self.max_future_s = max_future_s
        """Events dated later than now plus this many seconds are refused (setting max_future_skew_s)."""

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> AddResult:
        """Commit events (dicts with user_id, item_id, event_type, timestamp, event_value, event_id,
        recommendation_id).

        A missing `timestamp` means now; a missing `event_id` is derived from the event's
        fields by the store, so a retried request does not count twice.
        """
        now = int(time.time())
        self._check_dates(events, now)
        frame = event_frame(events, now)
        result = self.store.add_interactions(frame)
        if result.inserted:
            self.freshness.touch(frame[Col.user_id].unique().to_list())
        return result

    def add_context_events(self, events: Sequence[Mapping[str, Any]]) -> AddResult:
        """Commit events without an item (dicts as `add_events` takes them, `event_id` given); they change
        no list, so no user is marked."""
        self._check_dates(events, int(time.time()))
        frame = event_frame(events, int(time.time())).drop(Col.item_id)
        return self.store.add_context_events(frame)

    def join_session(self, session_id: str, user_id: str) -> int:
        """Move a session's anonymous events to its user (both answers change at once); events moved."""
        moved = self.store.join_session(session_id, user_id)
        if moved:
            self.freshness.touch([user_id, session_id])
        return moved

    def _check_dates(self, events: Sequence[Mapping[str, Any]], now: int) -> None:
        late = [e["timestamp"] for e in events
                if e.get("timestamp") is not None and e["timestamp"] > now + self.max_future_s]
        if late:
            raise InputError(f"{len(late)} events are dated more than {self.max_future_s} s in the future "
                             f"(e.g. {late[0]}; the server's clock says {now})")

    def upsert_item(self, item_id: str, metadata: Mapping[str, Any]) -> int:
        """Insert or replace one item's metadata (recommendable at once); returns 1 when something changed."""
        changed = self.store.upsert_items(entity_frame(Col.item_id, item_id, metadata))
        if changed:
            self.catalog.reload_items()
        return changed

    def upsert_user(self, user_id: str, metadata: Mapping[str, Any]) -> int:
        """Insert or replace one user's metadata; returns 1 when something changed."""
        changed = self.store.upsert_users(entity_frame(Col.user_id, user_id, metadata))
        if changed:
            self.catalog.forget_users()
        return changed

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Remove the user's events, user row and cached lists; rows removed per table.

        Exposures of the user this process still holds are dropped first; the store's
        tombstone refuses those another process writes later.
        """
        self.exposures.forget_user(user_id)
        removed = self.store.delete_user(user_id)
        self.freshness.touch([user_id])
        return removed


def event_frame(events: Sequence[Mapping[str, Any]], now: int) -> pl.DataFrame:
    """Events as the store takes them; the optional `EVENT_DETAIL_COLUMNS` only when some event has them."""
    frame = pl.DataFrame({
        Col.user_id: [e["user_id"] for e in events],
        Col.item_id: [e.get("item_id") for e in events],
        Col.ts: [int(e["timestamp"]) if e.get("timestamp") is not None else now for e in events],
        Col.event_type: [e.get("event_type") for e in events],
        Col.event_value: [e.get("event_value") for e in events],
        Col.event_id: [e.get("event_id") for e in events],
        Col.recommendation_id: [e.get("recommendation_id") for e in events],
    }, schema=EVENT_SCHEMA)
    details = [c for c in EVENT_DETAIL_COLUMNS if any(e.get(c) is not None for e in events)]
    return frame.with_columns(pl.Series(c, [e.get(c) for e in events], pl.String) for c in details)


def entity_frame(id_column: str, entity_id: str, metadata: Mapping[str, Any]) -> pl.DataFrame:
    """A one-row frame of string metadata; lists become `|`-joined values (multi-valued fields)."""
    row: dict[str, str | None] = {id_column: entity_id}
    for key, value in metadata.items():
        if key == id_column:
            raise InputError(f"{id_column} goes in the path, not in the metadata")
        if isinstance(value, list):
            value = "|".join(str(v) for v in value)
        row[key] = None if value is None else str(value)
    return pl.DataFrame([row], schema={c: pl.String for c in row})
