# SPDX-License-Identifier: Apache-2.0
"""The store contract on a real PostgreSQL server (see the postgres_url fixture), twice:
with small writes as plain INSERTs, and with every write through COPY as bulk loads do."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from homerec.storage import Store, dialects, open_store
from homerec.storage.tables import SCHEMA_VERSION
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


def test_a_version_1_store_is_migrated_in_place(postgres_url: str):
    _reset(postgres_url)
    engine = sa.create_engine(sa.make_url(postgres_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as conn:
            for statement in V1_STORE_SQL:
                conn.exec_driver_sql(statement)
        check_v1_store_is_migrated(postgres_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(SCHEMA_VERSION,)]
            assert {"experiments", "exposures", "event_links"} <= set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
