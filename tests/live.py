# SPDX-License-Identifier: Apache-2.0
"""Helpers for tests (and benchmarks) that talk to a real server.

- `free_port()`: a TCP port nobody listens on.
- `serve_app(settings)`: the app on uvicorn in a thread of the test process.
- `HomerecServer`: `homerec serve` as a real process (granian, its own process group), started,
  waited for (`/readyz` answers 200) and stopped; `kill9()` kills the whole group as a crash would.
- `spawn`, `wait_ready`, `stop_group`: the same for any command (the demo, the benchmark's servers).
- `RedisServer`: `redis-server` (the Debian package) on a free port, without persistence: started,
  stopped, killed and restarted on the same port as an outage would.
- `PostgresServer`: a throwaway PostgreSQL cluster from the Debian package's binaries.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with contextlib.closing(socket.socket()) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(settings) -> Iterator[str]:
    """`create_app(settings)` served by uvicorn on a thread; yields the base URL."""
    import uvicorn

    from homerec.serving import create_app

    port = free_port()
    # A request line up to 1 MiB reaches the app (uvicorn's default 16 KiB limit resets the connection
    # while a long URL is still being sent: the fuzz tests' long query strings must get the app's 4xx).
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=HOST, port=port, log_level="warning",
                                           h11_max_incomplete_event_size=1 << 20))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- any server command as a process group ------------------------------------------------------
def spawn(cmd: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen:
    """Start `cmd` in its own process group, stdout and stderr to `log_path`."""
    with log_path.open("w") as log:
        return subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, env=dict(env or os.environ),
                                cwd=cwd or log_path.parent, start_new_session=True)


def is_ready(base: str, path: str = "/readyz") -> bool:
    """Whether `GET {base}{path}` answers 200 now."""
    try:
        with urllib.request.urlopen(base + path, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(base: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 60.0,
               path: str = "/readyz") -> float:
    """Wait until `path` answers 200; seconds waited. Raises when the process exits or time runs out."""
    t0 = time.monotonic()
    while not is_ready(base, path):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{_tail(log_path)}")
        if time.monotonic() - t0 > timeout_s:
            raise RuntimeError(f"server not ready in {timeout_s:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.1)
    return time.monotonic() - t0


def stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the process group `proc` leads, SIGKILL it if it lingers; no worker outlives it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError):  # a worker the main process left behind
        os.killpg(proc.pid, signal.SIGKILL)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


# -- homerec serve ------------------------------------------------------------------------------
class HomerecServer:
    """`homerec serve` on a free port over a store and an artifact folder; a context manager.

    The environment is the test's without any `HOMEREC_*` variable, plus `env`; `args` are extra
    `serve` options (e.g. `["--workers", "2"]`). Entering starts it and waits for readiness.
    """

    def __init__(self, store_url: str, artifacts: Path, folder: Path, *, name: str = "serve",
                 env: Mapping[str, str] | None = None, args: Sequence[str] = (), ready_timeout_s: float = 60.0) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = Path(folder) / f"{name}.log"
        own = {"HOMEREC_EXPOSURE_SPOOL": str(Path(folder) / f"{name}-spool")}  # never another server's spool
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEREC_")} | own | dict(env or {})
        self.cmd = [sys.executable, "-m", "homerec.cli.main", "serve", "--store", store_url,
                    "--artifacts", str(artifacts), "--host", HOST, "--port", str(self.port), *args]
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen | None = None

    def start(self) -> "HomerecServer":
        """Start the process and wait until it is ready."""
        self.proc = spawn(self.cmd, self.log_path, self.env)
        self.wait_ready()
        return self

    def wait_ready(self, timeout_s: float | None = None) -> float:
        """Wait until `/readyz` answers 200 (after a start or a restart)."""
        assert self.proc is not None, "not started"
        return wait_ready(self.base, self.proc, self.log_path, timeout_s or self.ready_timeout_s)

    def restart(self) -> "HomerecServer":
        """A new process on the same port (after `kill9()` or `stop()`)."""
        self.proc = spawn(self.cmd, self.log_path.with_suffix(".restart.log"), self.env)
        self.wait_ready()
        return self

    def kill9(self) -> None:
        """SIGKILL every process of the server at once, as a crash or an OOM kill would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """Stop the server and every worker."""
        if self.proc is not None:
            stop_group(self.proc)

    def log(self) -> str:
        """What the server printed so far."""
        return _tail(self.log_path, 20_000)

    def __enter__(self) -> "HomerecServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- an S3 protocol server ----------------------------------------------------------------------
@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server (an emulator of the S3 protocol, over HTTP on loopback); yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    url = f"http://{HOST}:{port}"
    # moto keeps its buckets in module state shared by every server of the process: start empty.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    try:
        yield url
    finally:
        server.stop()


# -- redis-server ---------------------------------------------------------------------------------
class RedisServer:
    """`redis-server` on 127.0.0.1 and a free port, data in memory only (a restart loses everything)."""

    def __init__(self, folder: Path, name: str = "redis") -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.folder = Path(folder)
        self.log_path = self.folder / f"{name}.log"
        self.cmd = [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
                    "--dir", str(self.folder), "--daemonize", "no", "--protected-mode", "no"]
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        """redis://127.0.0.1:PORT/DB."""
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self, timeout_s: float = 20.0) -> "RedisServer":
        """Start it and wait until it answers PING."""
        self.proc = spawn(self.cmd, self.log_path, cwd=self.folder)
        deadline = time.monotonic() + timeout_s
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{_tail(self.log_path)}")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        """Whether PING gets PONG now."""
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.proc is not None:
            stop_group(self.proc, grace_s=10)

    def kill(self) -> None:
        """SIGKILL: as a crash would; everything in it is lost."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- PostgreSQL -----------------------------------------------------------------------------------
