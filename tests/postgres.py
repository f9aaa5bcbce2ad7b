# SPDX-License-Identifier: Apache-2.0
"""A throwaway PostgreSQL server from the Debian package's binaries, for tests and benchmarks.

The server runs as the postgres user when the caller is root (PostgreSQL refuses root), with
trust auth, a TCP port on 127.0.0.1 and its unix socket in its own temporary directory, which
is removed with everything in it when the context ends.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.live import free_port


MISSING = "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin: apt-get install postgresql"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are not installed, or the server did not start."""


def bindir() -> Path | None:
    """The newest installed /usr/lib/postgresql/<version>/bin, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@contextlib.contextmanager
def postgres_server(settings: Sequence[str] = (), database: str = "homerec_test") -> Iterator[str]:
    """Start a server with `settings` (`name=value`, passed as `-c`), create `database`; yields its URL.

    Raises:
        PostgresUnavailable: no binaries (apt-get install postgresql), or initdb/start failed.
    """
    binaries = bindir()
    if binaries is None:
        raise PostgresUnavailable(MISSING)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="homerec-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log_text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}{log_text}")

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = " ".join([f"-p {port} -k {root} -c listen_addresses=127.0.0.1", *(f"-c {s}" for s in settings)])
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        run(str(binaries / "createdb"), "-h", str(root), "-p", str(port), "-U", "postgres", database)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
