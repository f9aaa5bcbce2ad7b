# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by every test package."""

import contextlib
import os
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.contracts")

from tests import postgres  # noqa: E402

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


# -- end of storage fixtures --------------------------------------------------------------------
