# SPDX-License-Identifier: Apache-2.0
"""What events carry besides the interaction: events without an item, sessions joined to users, impressions.

PutEvents sends more than (user, item, time, type, value): the session, a JSON `properties`
object, the items shown with the event (`impression`), the attribution source, and events
without any item at all (a page view, a search). The interactions table keeps the extra
fields of events on an item (`EVENT_DETAIL_COLUMNS`); events without an item go to
`context_events` with everything they carry. Every function here runs inside the caller's
transaction (`SqlStore` opens it, with the change-feed row when answers change).

- `join_session`: an anonymous session's events are stored under the session id as their user;
  once a request names both the session and the user, they are moved to the user (Personalize
  merges them at the next retrain; here the user's next answer already sees them).
- `impressions`: one row per item shown with an event, and whether the event was on that item:
  the shown-but-not-chosen signal for models and the experiment reports.
"""

import polars as pl
import sqlalchemy as sa

from homerec.data.schema import CONTEXT_EVENT_COLUMNS, IMPRESSION_COLUMNS, MULTI_VALUE_SEP, Col
from homerec.storage.tables import context_events, interactions

CONTEXT_SCHEMA: dict[str, pl.DataType] = {
    Col.event_id: pl.String(), Col.user_id: pl.String(), Col.ts: pl.Int64(), Col.event_type: pl.String(),
    Col.event_value: pl.Float64(), Col.recommendation_id: pl.String(), Col.session_id: pl.String(),
    Col.properties: pl.String(), Col.impression: pl.String(), Col.attribution: pl.String(),
}  # fmt: skip
"""Columns and types of `context_events` frames (`CONTEXT_EVENT_COLUMNS`)."""
assert tuple(CONTEXT_SCHEMA) == CONTEXT_EVENT_COLUMNS

IMPRESSION_SCHEMA: dict[str, pl.DataType] = {
    Col.event_id: pl.String(), Col.user_id: pl.String(), Col.ts: pl.Int64(), Col.item_id: pl.String(),
    Col.chosen: pl.Boolean(),
}  # fmt: skip
assert tuple(IMPRESSION_SCHEMA) == IMPRESSION_COLUMNS


def context_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` in `context_events` layout: missing optional columns are null, types cast."""
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in CONTEXT_SCHEMA.items()
    )


def join_session(conn: sa.Connection, session_id: str, user_id: str) -> int:
    """Move the events stored under `session_id` as their user (sent anonymously in that session) to `user_id`."""
    moved = 0
    for table in (interactions, context_events):
        moved += conn.execute(
            sa.update(table)
            .where(table.c[Col.session_id] == session_id, table.c[Col.user_id] == session_id)
            .values({Col.user_id: user_id})
        ).rowcount
    return moved


def read_context_events(conn: sa.Connection, since: int | None, user_id: str | None) -> pl.DataFrame:
    """Events without an item (all, or those with `ts >= since`, or one user's), in time order."""
    t = context_events
    query = sa.select(*(t.c[c] for c in CONTEXT_SCHEMA))
    if since is not None:
        query = query.where(t.c[Col.ts] >= int(since))
    if user_id is not None:
        query = query.where(t.c[Col.user_id] == user_id)
    rows = conn.execute(query.order_by(t.c[Col.ts], t.c[Col.event_id])).all()
    return pl.DataFrame(rows, schema=CONTEXT_SCHEMA, orient="row")


def read_impressions(conn: sa.Connection, since: int | None) -> pl.DataFrame:
    """One row per item shown with an event (`IMPRESSION_COLUMNS`), in time order."""
    parts = []
    for table, item in ((interactions, interactions.c[Col.item_id]), (context_events, sa.null())):
        query = sa.select(table.c[Col.event_id], table.c[Col.user_id], table.c[Col.ts], item.label("chosen_item"),
                          table.c[Col.impression]).where(table.c[Col.impression].is_not(None))
        if since is not None:
            query = query.where(table.c[Col.ts] >= int(since))
        parts.extend(conn.execute(query).all())
    schema = {Col.event_id: pl.String, Col.user_id: pl.String, Col.ts: pl.Int64, "chosen_item": pl.String,
              Col.impression: pl.String}
    frame = pl.DataFrame(parts, schema=schema, orient="row")
    return (
        frame.with_columns(pl.col(Col.impression).str.split(MULTI_VALUE_SEP).alias(Col.item_id))
        .explode(Col.item_id)
        .with_columns((pl.col(Col.item_id) == pl.col("chosen_item")).fill_null(False).alias(Col.chosen))
        .select(list(IMPRESSION_SCHEMA))
        .cast(IMPRESSION_SCHEMA)
        .sort(Col.ts, Col.event_id, maintain_order=True)
    )
