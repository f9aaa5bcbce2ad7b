# SPDX-License-Identifier: Apache-2.0
"""What a filter reads when it is evaluated in a serving process: the catalogue snapshot and the live store."""

from typing import Any

import polars as pl

from homerec.data.schema import Col
from homerec.filters import FilterData


def store_data(store: Any, catalog: Any, user_id: str | None) -> FilterData:
    """FilterData for one user: item and user metadata from the `Catalog` snapshot, events from the store."""

    def history() -> pl.DataFrame:
        if user_id is not None:
            return store.history(user_id)
        return pl.DataFrame(schema={Col.item_id: pl.String, Col.event_type: pl.String,
                                    Col.event_value: pl.Float64, Col.ts: pl.Int64})

    return FilterData(items=catalog.items, history=history,
                      user=lambda: catalog.user(user_id) if user_id is not None else None)
