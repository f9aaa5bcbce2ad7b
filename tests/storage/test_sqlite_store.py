# SPDX-License-Identifier: Apache-2.0
"""The store contract on SQLite, plus what only SQLite has: file paths, WAL, chunked writes."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from homerec.data.schema import Col
from homerec.errors import StoreError
from homerec.storage import AddResult, Store, open_store
from homerec.storage import bulk, tables
from homerec.storage import sql as sql_module
from tests.contracts import V1_STORE_SQL, StoreContract, check_v1_store_is_migrated, events


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = open_store(f"sqlite:///{tmp_path}/store.db")
        yield s
        s.close()


class TestSqliteStoreThroughBulkLoads(StoreContract):
    """Every event write through the bulk path (ADBC stage, INSERT … SELECT), rebuilding indexes when it may."""

    @pytest.fixture
    def store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
        monkeypatch.setattr(sql_module, "BULK_ROWS", 0)
        monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 0)
        s = open_store(f"sqlite:///{tmp_path}/store.db")
        yield s
        s.close()
        assert [p.name for p in tmp_path.iterdir() if "bulk" in p.name] == []  # every stage was removed


class TestInMemorySqliteStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = open_store("sqlite://")
        yield s
        s.close()


def test_relative_and_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///relative.db").close()
    assert (tmp_path / "relative.db").is_file()
    absolute = tmp_path / "deeper" / "absolute.db"  # missing folders are created
    open_store(f"sqlite:///{absolute}").close()
    assert absolute.is_file()


def test_data_survives_reopening_in_wal_mode(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/store.db"
    with open_store(url) as s:
        s.add_interactions(events(("u10", "i11", 1)))
    with open_store(url) as s:
        assert s.counts()["interactions"] == 1
    assert sqlite3.connect(tmp_path / "store.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_schema_version_is_refused(tmp_path: Path):
    open_store(f"sqlite:///{tmp_path}/store.db").close()
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(f"sqlite:///{tmp_path}/store.db")


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path):
    (tmp_path / "junk.db").write_text("not a database, " * 100)
    with pytest.raises(StoreError, match="junk.db"):
        open_store(f"sqlite:///{tmp_path}/junk.db")


def test_chunks_are_committed_in_time_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sql_module, "CHUNK_ROWS", 2)
    calls: list[tuple[int, int]] = []
    with open_store(f"sqlite:///{tmp_path}/store.db") as s:
        frame = events(*((f"u{n}", "i11", 10 - n) for n in range(5)), ("u0", "i11", 10))
        assert s.add_interactions(frame, progress=lambda d, t: calls.append((d, t))) == AddResult(5, 1)
        assert s.interactions()[Col.ts].to_list() == [6, 7, 8, 9, 10]
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_bulk_reads_span_several_queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from homerec.storage import dialects

    monkeypatch.setattr(dialects, "READ_CHUNK_ROWS", 3)
    with open_store(f"sqlite:///{tmp_path}/store.db") as s:
        s.add_interactions(events(*((f"u{n % 2}", f"i{n}", n) for n in range(7))))
        assert s.interactions()[Col.ts].to_list() == list(range(7))
        assert s.history("u0")[Col.ts].to_list() == [0, 2, 4, 6]
        assert s.interactions(since=6).height == 1


def test_items_without_metadata(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path}/store.db") as s:
        s.upsert_items(pl.DataFrame({Col.item_id: ["i11", "i12"]}))
        assert s.items().rows() == [("i11",), ("i12",)]


def test_a_few_thousand_rows_round_trip(tmp_path: Path):
    """Large enough for the bulk paths (shared strings for repeated ids, the bigger page cache)."""
    frame = pl.DataFrame(
        {
            Col.user_id: [f"u{n % 7}" for n in range(12_000)],
            Col.item_id: [f"i{n % 301}" for n in range(12_000)],
            Col.ts: list(range(12_000)),
            Col.event_value: [None if n % 3 else n / 4 for n in range(12_000)],
        }
    )
    with open_store(f"sqlite:///{tmp_path}/store.db") as s:
        assert s.add_interactions(frame) == AddResult(12_000, 0)
        got = s.interactions()
        assert got.select(frame.columns).equals(frame)
        assert s.history("u3")[Col.ts].to_list() == list(range(3, 12_000, 7))


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:
        for statement in V1_STORE_SQL:
            conn.execute(statement)
    conn.close()
    check_v1_store_is_migrated(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(tables.SCHEMA_VERSION,)]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert {"experiments", "exposures", "event_links", "deleted_users"} <= names
