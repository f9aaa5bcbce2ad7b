# SPDX-License-Identifier: Apache-2.0
"""ORDER_ID and QUANTITY through `homerec import` (CSV and Parquet folders, the bulk path), on SQLite and
PostgreSQL: kept, validated, idempotent; a schema-v5 store gains the columns."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from homerec.data.interactions import Interactions
from homerec.data.schema import INTERACTIONS_TABLE, SCHEMA_VERSION_TABLE, Col
from homerec.storage import Store, bulk, import_interactions, open_store, tables
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


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_parquet_folder_keeps_order_ids_and_quantities_through_the_bulk_path(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rebuild: bool
):
    if rebuild:  # the load into an empty table that drops and rebuilds the indexes
        monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 0)
    folder = tmp_path / "events"
    folder.mkdir()
    pl.DataFrame({"USER_ID": ["u10", "u10", "u20"], "ITEM_ID": ["i11", "i12", "i11"],
                  "TIMESTAMP": [1_700_000_000, 1_700_000_000, 1_700_000_100],
                  "ORDER_ID": [" o1 ", "o1", None], "QUANTITY": [40, 3, None]}).write_parquet(folder / "part-0.parquet")
    pl.DataFrame({"USER_ID": ["u30", "u30"], "ITEM_ID": ["i13", "i14"], "TIMESTAMP": [1_700_000_200] * 2,
                  "ORDER_ID": ["o9", "o\x01"], "QUANTITY": [2.5, 1.0]}).write_parquet(folder / "part-1.parquet")
    report = import_interactions(store, folder, rejects_path=tmp_path / "r.csv")
    assert (report.imported, report.rejected) == (4, 1)
    assert pl.read_csv(tmp_path / "r.csv")["reason"].to_list() == ["ORDER_ID holds a control character"]
    got = store.interactions().sort(Col.user_id, Col.item_id).select(Col.item_id, Col.order_id, Col.quantity).rows()
    assert got == [("i11", "o1", 40.0), ("i12", "o1", 3.0), ("i11", None, None), ("i13", "o9", 2.5)]


def test_a_version_5_store_gets_the_order_columns(store: Store, tmp_path: Path):
    """Schema v5 → v6: the interactions table of a v5 store (no order_id, quantity) gains them, rows kept."""
    url = store.url
    store.add_interactions(events_frame())
    store.close()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for column in (Col.order_id, Col.quantity):
                conn.exec_driver_sql(f"ALTER TABLE {INTERACTIONS_TABLE} DROP COLUMN {column}")
            conn.exec_driver_sql(f"UPDATE {SCHEMA_VERSION_TABLE} SET {Col.version} = 5")
    finally:
        engine.dispose()
    for n in range(2):  # upgraded on the first opening; the second finds version 6
        with open_store(url) as upgraded:
            assert upgraded.interactions().select(Col.item_id, Col.order_id, Col.quantity).rows()[:1] == [
                ("i11", None, None)]
            if n == 0:
                upgraded.add_interactions(events_frame().with_columns(
                    pl.lit(1_700_000_500).alias(Col.ts), pl.lit("o7").alias(Col.order_id), pl.lit(6.0).alias(Col.quantity)))
            assert upgraded.history("u10").filter(pl.col(Col.order_id) == "o7")[Col.quantity].to_list() == [6.0]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT {Col.version} FROM {SCHEMA_VERSION_TABLE}").all() == [(tables.SCHEMA_VERSION,)]
    finally:
        engine.dispose()


def events_frame() -> pl.DataFrame:
    return pl.DataFrame({Col.user_id: ["u10"], Col.item_id: ["i11"], Col.ts: [1_700_000_000]})
