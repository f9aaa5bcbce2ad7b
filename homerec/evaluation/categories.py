# SPDX-License-Identifier: Apache-2.0
"""Item categories for the intra-list diversity metric: an item × category indicator matrix.

The category column of an items table is the first one whose name (case-insensitively) is
in `CATEGORY_COLUMNS`; its values may list several categories separated by ``|``
(MovieLens genres, a product in two categories). Items without a value, or absent from the
table, get an empty row.
"""

from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.schema import CATEGORY_COLUMNS, MULTI_VALUE_SEP
from homerec.models.item_rule import find_column


def category_column(frame: pl.DataFrame | None) -> str | None:
    """The items table's category column, or None when it has none."""
    return find_column(frame, CATEGORY_COLUMNS)


def category_matrix(frame: pl.DataFrame | None, item_ids: Sequence[str], id_column: str) -> sp.csr_matrix | None:
    """(len(item_ids) × categories) 0/1 matrix of each item's categories; None without a category column.

    Args:
        frame: the items table (`id_column` + metadata columns), or None.
        item_ids: the items, in the row order wanted (e.g. a model's item map).
        id_column: the id column of `frame` (``ITEM_ID`` in a data set, ``item_id`` in a store).
    """
    column = category_column(frame)
    if column is None or id_column not in frame.columns:
        return None
    table = frame.select(pl.col(id_column).cast(pl.String).alias("id"), pl.col(column).cast(pl.String).alias("c"))
    table = table.unique("id", keep="first", maintain_order=True)
    labels = dict(zip(table["id"].to_list(), table["c"].to_list()))
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, item in enumerate(item_ids):
        for value in (labels.get(str(item)) or "").split(MULTI_VALUE_SEP):
            value = value.strip()
            if value:
                rows.append(r)
                cols.append(vocab.setdefault(value, len(vocab)))
    data = np.ones(len(rows), np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(len(item_ids), max(len(vocab), 1)))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m if vocab else None
