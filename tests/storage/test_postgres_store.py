# SPDX-License-Identifier: Apache-2.0
"""The store contract on a real PostgreSQL server (see the postgres_url fixture), twice:
with small writes as plain INSERTs, and with every write through COPY as bulk loads do."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from homerec.storage import Store, dialects, open_store
from tests.contracts import StoreContract


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
