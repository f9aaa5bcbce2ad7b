# SPDX-License-Identifier: Apache-2.0
"""The A/B experiment log in table layout: exposure rows, event links, cache freshness.

Pure frame work shared by the `SqlStore` methods; no SQL here.
"""

from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
import polars as pl

from homerec.data.schema import EXPOSURE_FRAME_COLUMNS, RECOMMENDATION_ID_MAX, Col
from homerec.errors import InputError

EXPOSURE_SCHEMA: dict[str, pl.DataType] = {
    Col.recommendation_id: pl.String(),
    Col.experiment: pl.String(),
    Col.variant: pl.String(),
    Col.user_id: pl.String(),
    Col.ranked: pl.List(pl.String()),
    Col.ts: pl.Int64(),
    Col.served: pl.Boolean(),
    Col.placement: pl.String(),
}
"""Columns and types of exposure frames, in and out of the store (only `placement` may be null)."""

STORED_EXPOSURE_SCHEMA: dict[str, pl.DataType] = {
    **EXPOSURE_SCHEMA,
    Col.ranked: pl.String(),  # JSON text
    Col.served: pl.Int64(),  # read as 0/1: both backends cast a boolean to an integer alike
}
"""How exposures travel to and from the database."""

LINK_SCHEMA: dict[str, pl.DataType] = {Col.event_id: pl.String(), Col.recommendation_id: pl.String()}
"""Columns of the event_links table."""

assert tuple(EXPOSURE_SCHEMA) == EXPOSURE_FRAME_COLUMNS


def exposure_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Exposures in table layout: typed, checked, items as JSON text, one row per recommendation id.

    Raises:
        InputError: a column is missing, holds nulls or values of the wrong type, or a
            recommendation id is longer than `RECOMMENDATION_ID_MAX`.
    """
    if Col.placement not in frame.columns:  # a spool file or a caller from before placements
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(Col.placement))
    missing = [c for c in EXPOSURE_SCHEMA if c not in frame.columns]
    if missing:
        raise InputError(f"exposures need the columns {', '.join(missing)} (got {', '.join(frame.columns)})")
    try:
        typed = frame.select(pl.col(name).cast(dtype) for name, dtype in EXPOSURE_SCHEMA.items())
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"exposures: {str(exc).splitlines()[0]}") from None
    for name in EXPOSURE_SCHEMA:
        if name != Col.placement and (nulls := typed[name].null_count()):
            raise InputError(f"exposures: {nulls} rows have no {name}")
    if typed.height and typed[Col.ranked].list.eval(pl.element().is_null()).list.any().any():
        raise InputError("exposures: an item list holds a null item id")
    longest = typed[Col.recommendation_id].str.len_chars().max()
    if isinstance(longest, int) and longest > RECOMMENDATION_ID_MAX:
        raise InputError(f"exposures: a recommendation_id has {longest} characters, at most {RECOMMENDATION_ID_MAX}")
    typed = typed.unique(Col.recommendation_id, keep="first", maintain_order=True)
    # polars writes {"items":[...]} (30 times faster than json.dumps per row); keep the list.
    wrapped = pl.struct(Col.ranked).struct.json_encode()
    return typed.with_columns(wrapped.str.strip_prefix(f'{{"{Col.ranked}":').str.strip_suffix("}").alias(Col.ranked))


def decode_exposures(stored: pl.DataFrame) -> pl.DataFrame:
    """The inverse of `exposure_rows` for frames read with `STORED_EXPOSURE_SCHEMA`."""
    return stored.with_columns(
        pl.col(Col.ranked).str.json_decode(pl.List(pl.String)),
        pl.col(Col.served).cast(pl.Boolean),
    ).select(EXPOSURE_FRAME_COLUMNS)


def count_shown(lists: Sequence[str]) -> dict[str, int]:
    """Item → in how many of `lists` (stored `ranked` JSON texts) it appears."""
    counts: Counter[str] = Counter()
    for text in lists:
        counts.update(set(orjson.loads(text)))
    return dict(counts)


def link_rows(events: pl.DataFrame) -> pl.DataFrame:
    """(event_id, recommendation_id) of events that name a recommendation an exposure can have."""
    rid = pl.col(Col.recommendation_id)
    return events.filter(rid.is_not_null() & (rid.str.len_chars() <= RECOMMENDATION_ID_MAX)).select(*LINK_SCHEMA)


def freshness(rows: Sequence[tuple[str, str, int, int, int]]) -> list[dict[str, Any]]:
    """(namespace, model_version, rows, oldest, newest) groups → one summary dict per namespace.

    See `Store.cache_freshness` for the keys.
    """
    out: dict[str, dict[str, Any]] = {}
    for namespace, version, n, oldest, newest in sorted(rows):
        entry = out.setdefault(
            namespace,
            {Col.namespace: namespace, "rows": 0, "model_versions": [], "oldest": int(oldest), "newest": int(newest)},
        )
        entry["rows"] += int(n)
        entry["model_versions"].append(version)
        entry["oldest"] = min(entry["oldest"], int(oldest))
        entry["newest"] = max(entry["newest"], int(newest))
    return list(out.values())
