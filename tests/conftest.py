# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by every test package."""

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.contracts")

from tests import postgres  # noqa: E402
from tests.live import RedisServer  # noqa: E402

# The CLI's rich console takes its width from COLUMNS when it is created; without a terminal
# (xdist workers, CI) it would be 80 and tables would wrap the words the tests look for.
os.environ.setdefault("COLUMNS", "200")

# -- storage: a real PostgreSQL server ----------------------------------------------------------
# HOMEREC_TEST_POSTGRES_URL names a database to use (a throwaway one: the store tests drop and
# recreate its public schema before each test); otherwise a server is started for the test
# session (tests/postgres.py) with fsync off.


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty-able PostgreSQL database for the session (see the comment above)."""
    if url := os.environ.get("HOMEREC_TEST_POSTGRES_URL"):
        yield url
        return
    if postgres.bindir() is None:
        if os.environ.get("CI"):
            pytest.fail(postgres.MISSING)
        pytest.skip(postgres.MISSING)
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres.postgres_server(["fsync=off", "full_page_writes=off"]))
        except postgres.PostgresUnavailable as exc:
            pytest.fail(str(exc))
        yield url


# -- the shared cache: a real redis-server ------------------------------------------------------
# Started from the Debian package's binary (scripts/services.sh installs it) for the test session,
# in memory only; tests that need it empty take `redis_url`, which flushes it first.


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A redis-server for the session (on its own port, in memory only)."""
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        message = "redis-server not found: apt-get install redis-server (scripts/services.sh does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test: redis://127.0.0.1:PORT/0."""
    import redis

    client = redis.Redis.from_url(redis_server.url())
    client.flushall()
    client.close()
    return redis_server.url()


# -- end of storage fixtures --------------------------------------------------------------------
