# SPDX-License-Identifier: Apache-2.0
"""ORDER_ID and QUANTITY through `homerec import`, on SQLite and PostgreSQL: kept, validated, idempotent."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.storage import Store, import_interactions, open_store
from tests.storage.test_postgres_store import _reset

ORDERS_CSV = """\
USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,ORDER_ID,QUANTITY
u10,i11,1700000000,purchase,o1,40
u10,i12,1700000000,purchase,o1,12.5
u10,i11,1700000000,purchase,o2,3
u20,i11,1700000100,purchase,,2
u20,i13,1700000200,purchase,o3,
u20,i14,1700000300,purchase,o3,lots
u30,i14,1700000400,purchase,o4,-1
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
    else:
        url = request.getfixturevalue("postgres_url")
        _reset(url)
    s = open_store(url)
    yield s
    s.close()


def test_order_ids_and_quantities_are_imported_checked_and_kept(store: Store, tmp_path: Path):
    source = tmp_path / "interactions.csv"
    source.write_text(ORDERS_CSV)
    report = import_interactions(store, source, rejects_path=tmp_path / "rejects.csv")
    assert (report.imported, report.rejected, report.duplicates) == (4, 2, 1)  # u10,i11 twice at one second
    rejects = pl.read_csv(tmp_path / "rejects.csv", infer_schema=False)
    assert rejects.select("line", "reason").rows() == [("7", "QUANTITY is not a number"), ("8", "QUANTITY is negative")]
    got = store.interactions().sort(Col.ts, Col.item_id).select(Col.item_id, Col.order_id, Col.quantity).rows()
    assert got == [("i11", "o1", 40.0), ("i12", "o1", 12.5), ("i11", None, 2.0), ("i13", "o3", None)]
    assert import_interactions(store, source, rejects_path=tmp_path / "again.csv").imported == 0


def test_stored_order_ids_make_the_baskets(store: Store, tmp_path: Path):
    source = tmp_path / "interactions.csv"
    source.write_text(ORDERS_CSV)
    import_interactions(store, source, rejects_path=tmp_path / "rejects.csv")
    data = Interactions.from_frame(store.interactions().sort(Col.ts, Col.item_id))
    baskets = data.baskets()
    assert baskets[0] == baskets[1] and len(np.unique(baskets)) == 3
    assert np.isnan(data.quantity).sum() == 1
