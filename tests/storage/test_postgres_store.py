# SPDX-License-Identifier: Apache-2.0
"""The store contract on a real PostgreSQL server (see the postgres_url fixture), three times:
with small writes as plain INSERTs, with every write through COPY, and with every event
write through the bulk path of imports."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from homerec.storage import Store, bulk, dialects, open_store, tables
from homerec.storage import sql as sql_module
from tests.contracts import V1_STORE_SQL, StoreContract, check_v1_store_is_migrated


def _reset(url: str) -> None:
    """Drop every table, so each test starts from an empty store."""
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[Store]:
        _reset(postgres_url)
        s = open_store(postgres_url)
        yield s
        s.close()


class TestPostgresStoreThroughCopy(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
        monkeypatch.setattr(dialects, "POSTGRES_COPY_ROWS", 0)
        _reset(postgres_url)
        s = open_store(postgres_url)
        yield s
        s.close()


class TestPostgresStoreThroughBulkLoads(StoreContract):
    """Every event write through the bulk path (COPY into a stage, INSERT … SELECT), rebuilding indexes when it may."""

    @pytest.fixture
    def store(self, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
        monkeypatch.setattr(sql_module, "BULK_ROWS", 0)
        monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 0)
        _reset(postgres_url)
        s = open_store(postgres_url)
        yield s
        s.close()


def test_a_version_1_store_is_migrated_in_place(postgres_url: str):
    _reset(postgres_url)
    engine = sa.create_engine(sa.make_url(postgres_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as conn:
            for statement in V1_STORE_SQL:
                conn.exec_driver_sql(statement)
        check_v1_store_is_migrated(postgres_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(tables.SCHEMA_VERSION,)]
            assert {"experiments", "exposures", "event_links", "deleted_users", "changes"} <= set(
                sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_a_value_postgresql_refuses_is_an_input_error_without_the_url(postgres_url: str):
    from homerec.errors import InputError

    _reset(postgres_url)
    with open_store(postgres_url) as store:  # experiment names are not ids: the database is the last check
        with pytest.raises(InputError) as err:
            store.put_experiment("exp\x00", "{}", "running")
        assert "NUL" in str(err.value) and "127.0.0.1" not in str(err.value)
