# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by every test package."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.contracts")

from tests.live import RedisServer, free_port  # noqa: E402

# The CLI's rich console takes its width from COLUMNS when it is created; without a terminal
# (xdist workers, CI) it would be 80 and tables would wrap the words the tests look for.
os.environ.setdefault("COLUMNS", "200")

# -- storage: a real PostgreSQL server ----------------------------------------------------------
# HOMEREC_TEST_POSTGRES_URL names a database to use (a throwaway one: the store tests drop and
# recreate its public schema before each test); otherwise a server is started from the Debian
# package's binaries for the test session (as the postgres user when running as root, which
# PostgreSQL refuses) with trust auth, fsync off, a TCP port on 127.0.0.1 and its unix socket
# in its own temporary directory.


def _postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty-able PostgreSQL database for the session (see the comment above)."""
    if url := os.environ.get("HOMEREC_TEST_POSTGRES_URL"):
        yield url
        return
    bindir = _postgres_bindir()
    if bindir is None:
        message = "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin: apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="homerec-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log_text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}{log_text}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        run(str(bindir / "createdb"), "-h", str(root), "-p", str(port), "-U", "postgres", "homerec_test")
        yield f"postgresql://postgres@127.0.0.1:{port}/homerec_test"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


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
