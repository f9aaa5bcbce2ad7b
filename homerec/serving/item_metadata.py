# SPDX-License-Identifier: Apache-2.0
"""Item metadata attached to recommended items, read from the catalogue snapshot (Personalize `metadataColumns`).

Column names match the items table's columns case-insensitively (`category_l1` finds
`CATEGORY_L1`); a column the catalogue does not have is an InputError naming those it has.
Values are strings as stored (multi-valued fields stay `|`-joined), cut to Personalize's
20,000 characters; an item without a value for a column leaves that column out.
"""

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from homerec.data.schema import Col
from homerec.errors import InputError
from homerec.types import Recommendation

MAX_VALUE_CHARS = 20_000


def resolve_columns(items: pl.DataFrame, asked: Sequence[str]) -> list[tuple[str, str]]:
    """(name asked, stored column) per requested column; InputError for one the catalogue lacks."""
    stored = {c.upper(): c for c in items.columns if c != Col.item_id}
    out = []
    for name in asked:
        column = stored.get(name.upper())
        if column is None:
            known = ", ".join(sorted(stored)) or "none"
            raise InputError(f"metadataColumns: the Items dataset has no column {name!r} (it has: {known})")
        out.append((name, column))
    return out


def attach(items: pl.DataFrame, asked: Sequence[str], recs: list[Recommendation]) -> list[Recommendation]:
    """`recs` with `metadata` set to the asked columns of each item (from the catalogue snapshot `items`)."""
    columns = resolve_columns(items, asked)
    wanted = [r.item_id for r in recs]
    rows = items.filter(pl.col(Col.item_id).is_in(wanted)).select(Col.item_id, *dict.fromkeys(c for _, c in columns))
    by_id = {row[Col.item_id]: row for row in rows.to_dicts()}
    out = []
    for r in recs:
        row = by_id.get(r.item_id, {})
        meta = {name: str(row[column])[:MAX_VALUE_CHARS] for name, column in columns if row.get(column) is not None}
        out.append(_with(r, meta))
    return out


def _with(r: Recommendation, meta: dict[str, str]) -> Recommendation:
    return replace(r, metadata=meta)
