# SPDX-License-Identifier: Apache-2.0
"""Events in table layout: typed, checked against the id and number rules, event ids derived."""

import polars as pl

from homerec.data.rules import MAX_ABS_VALUE, MAX_ID_CHARS, bad_id, bad_value
from homerec.data.schema import DEFAULT_EVENT_TYPE, EVENT_DETAIL_COLUMNS, Col
from homerec.errors import InputError
from homerec.storage.base import event_ids

INTERACTION_SCHEMA: dict[str, pl.DataType] = {
    Col.user_id: pl.String(),
    Col.item_id: pl.String(),
    Col.ts: pl.Int64(),
    Col.event_type: pl.String(),
    Col.event_value: pl.Float64(),
    Col.order_id: pl.String(),
    Col.quantity: pl.Float64(),
}
"""Columns and types of the frames `interactions()` and `history()` return (`INTERACTION_FRAME_COLUMNS`)."""

ORDER_COLUMNS = (Col.order_id, Col.quantity)
"""The order a line belongs to and its units (schema v6; null where the data has none)."""
EVENT_COLUMNS = [Col.event_id, *INTERACTION_SCHEMA]
"""Columns of the interactions table every write sends."""
STORED_COLUMNS = [*(c for c in EVENT_COLUMNS if c not in ORDER_COLUMNS), *EVENT_DETAIL_COLUMNS, *ORDER_COLUMNS]
"""Every column of the interactions table, in the table's order, which bulk loads stage them in
(details null when absent)."""


def stored_columns(events: pl.DataFrame) -> list[str]:
    """The columns of prepared `events` that go into the interactions table: `EVENT_COLUMNS`, then the
    optional `EVENT_DETAIL_COLUMNS` the frame has (PutEvents sends them; file imports do not)."""
    return [*EVENT_COLUMNS, *(c for c in EVENT_DETAIL_COLUMNS if c in events.columns)]


def prepare_events(frame: pl.DataFrame) -> pl.DataFrame:
    """Events in table layout: types cast, event type defaulted, missing `event_id`s derived.

    A `recommendation_id` column, when `frame` has one, is kept (last) for the event links, and so
    are the optional `EVENT_DETAIL_COLUMNS` (session, properties, impression, attribution) it has.

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
    _check_rules(events)
    if events[Col.event_id].null_count():
        derived = event_ids(events[Col.user_id], events[Col.item_id], events[Col.ts], events[Col.event_type])
        events = events.with_columns(pl.col(Col.event_id).fill_null(derived))
    linked = [Col.recommendation_id] if Col.recommendation_id in frame.columns else []
    return events.select(*stored_columns(events), *linked)


def _check_rules(events: pl.DataFrame) -> None:
    """InputError when an id breaks the id rule or a value is not finite (homerec.data.rules)."""
    names = (Col.user_id, Col.item_id, Col.event_type, Col.event_id, Col.order_id)
    # One pass over every column at once (polars runs them in parallel); the common answer is "none".
    broken = events.select(
        *((pl.col(name).is_not_null() & bad_id(pl.col(name))).any().alias(name) for name in names),
        bad_value(pl.col(Col.event_value)).any().alias(Col.event_value),
        (bad_value(pl.col(Col.quantity)) | (pl.col(Col.quantity) < 0).fill_null(False)).any().alias(Col.quantity),
    ).row(0, named=True)
    for name in names:
        if broken[name]:
            bad = events.filter(pl.col(name).is_not_null() & bad_id(pl.col(name)))[name]
            raise InputError(f"interactions: {bad.len()} rows have a {name} that is empty, longer than "
                             f"{MAX_ID_CHARS} characters or holds a control character, e.g. {bad[0]!r:.80}")
    if broken[Col.event_value]:
        raise InputError(f"interactions: an {Col.event_value} is not a finite number within ±{MAX_ABS_VALUE:g}")
    if broken[Col.quantity]:
        raise InputError(f"interactions: a {Col.quantity} is negative or not a finite number within ±{MAX_ABS_VALUE:g}")


def _typed_events(frame: pl.DataFrame) -> pl.DataFrame:
    extra = [Col.recommendation_id, *EVENT_DETAIL_COLUMNS]
    linked = [pl.col(c).cast(pl.String) for c in extra if c in frame.columns]
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
