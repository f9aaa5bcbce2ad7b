# SPDX-License-Identifier: Apache-2.0
"""The JSON text columns of the store: item/user metadata objects and cached ranked lists."""

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import polars as pl
import sqlalchemy as sa

from homerec.data.rules import bad_id
from homerec.data.schema import USER_RECS, Col
from homerec.errors import InputError
from homerec.types import Scored

CHUNK_ROWS = 10_000
"""Cached lists written per transaction by `put_recs`."""


# -- metadata ----------------------------------------------------------------------------------
def entity_rows(frame: pl.DataFrame, id_column: str, now: int) -> pl.DataFrame:
    """Items or users in table layout: id, JSON object of the non-null metadata strings, `updated_at`.

    The last row of an id wins; metadata keys keep their names and order from `frame`.

    Raises:
        InputError: `id_column` is missing or has nulls.
    """
    if id_column not in frame.columns:
        raise InputError(f"the frame needs an {id_column} column (got {', '.join(frame.columns)})")
    if nulls := frame[id_column].null_count():
        raise InputError(f"{nulls} rows have no {id_column}")
    bad = frame.filter(bad_id(pl.col(id_column).cast(pl.String)))[id_column]
    if bad.len():
        raise InputError(f"{bad.len()} rows have an {id_column} that is empty, longer than 256 characters "
                         f"or holds a control character, e.g. {bad[0]!r:.80}")
    frame = frame.unique(id_column, keep="last", maintain_order=True)
    fields = [c for c in frame.columns if c != id_column]
    # Columns by position, not by pl.col(name): polars reads a name like "^a.*$" as a regular expression.
    columns = [frame.to_series(i).cast(pl.String).to_list() for i, c in enumerate(frame.columns) if c != id_column]
    values = list(zip(*columns)) if fields else [()] * frame.height
    metadata = [
        json.dumps({k: v for k, v in zip(fields, row, strict=True) if v is not None}, ensure_ascii=False)
        for row in values
    ]
    return pl.DataFrame(
        {
            id_column: frame[id_column].cast(pl.String),
            Col.metadata: pl.Series(metadata, dtype=pl.String),
            Col.updated_at: pl.Series([now] * frame.height, dtype=pl.Int64),
        }
    )


def expand_metadata(rows: Sequence[tuple[str, str]], id_column: str) -> pl.DataFrame:
    """(id, metadata JSON) rows back to a frame: the id, then one string column per metadata key."""
    ids = pl.Series(id_column, [r[0] for r in rows], dtype=pl.String)
    parsed = [json.loads(r[1]) for r in rows]
    keys = list(dict.fromkeys(k for record in parsed for k in record))
    columns = {k: pl.Series(k, [record.get(k) for record in parsed], dtype=pl.String) for k in keys}
    return pl.DataFrame([ids, *columns.values()])


# -- ranked lists ------------------------------------------------------------------------------
def encode_ranked(items: Iterable[Scored]) -> str:
    """A ranked list as JSON text: [[item_id, score], ...]."""
    return json.dumps([[str(item), float(score)] for item, score in items], ensure_ascii=False)


def decode_ranked(text: str) -> list[Scored]:
    """The inverse of `encode_ranked`."""
    return [(item, float(score)) for item, score in json.loads(text)]


def list_chunks(
    namespace: str, rows: Iterable[tuple[str, list[Scored]]], model_version: str, now: int, feed_seq: int = 0,
) -> Iterator[pl.DataFrame]:
    """Cache rows in table layout, `CHUNK_ROWS` at a time; a repeated key keeps its last list."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        frame = pl.DataFrame(
            {
                Col.namespace: [namespace] * len(chunk),
                Col.key: [str(key) for key, _ in chunk],
                Col.ranked: [encode_ranked(items) for _, items in chunk],
                Col.model_version: [model_version] * len(chunk),
                Col.computed_at: [now] * len(chunk),
                Col.feed_seq: [feed_seq] * len(chunk),
            },
            schema={
                Col.namespace: pl.String,
                Col.key: pl.String,
                Col.ranked: pl.String,
                Col.model_version: pl.String,
                Col.computed_at: pl.Int64,
                Col.feed_seq: pl.Int64,
            },
        )
        yield frame.unique(Col.key, keep="last", maintain_order=True)


def is_user_namespace(namespace: str) -> bool:
    """Whether a namespace's keys are user ids (what `user_namespaces` selects in SQL)."""
    return namespace == USER_RECS or namespace.startswith(f"{USER_RECS}:")


def user_namespaces(namespace: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """Namespaces whose keys are user ids: `USER_RECS` itself and any `USER_RECS:<variant>`."""
    return sa.or_(namespace == USER_RECS, namespace.startswith(f"{USER_RECS}:", autoescape=True))
