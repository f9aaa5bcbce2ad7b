# SPDX-License-Identifier: Apache-2.0
"""HTTP servers for the serving benchmark: start one on a free port, wait until it is ready, stop it.

Two stacks serve both apps with 2 worker processes: uvicorn (what ``homerec serve`` runs) and,
when it is installed, granian. The trivial app and homerec always run on the same stack, so
their requests/s compare. Worker memory is read from /proc (VmRSS, VmHWM) of the server's
descendant processes.
"""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests import live

REPO = Path(__file__).resolve().parents[1]
WORKERS = 2
HOST = "127.0.0.1"
TRIVIAL_APP = "bench.trivial_app:app"
HOMEREC_FACTORY = "homerec.serving.app:factory"


def stacks_available() -> list[str]:
    """granian: what `homerec serve` runs on. (`--stacks granian,uvicorn` adds uvicorn's multi-worker
    mode, which leaves Nagle on for accepted sockets: ~44 ms per keep-alive request.)"""
    return ["granian"]


free_port = live.free_port


def trivial_command(stack: str, port: int) -> list[str]:
    """The trivial Starlette app on `stack` with 2 workers, no access log."""
    common = ["--host", HOST, "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning"]
    if stack == "uvicorn":
        return [sys.executable, "-m", "uvicorn", TRIVIAL_APP, *common, "--no-access-log"]
    return [sys.executable, "-m", "granian", "--interface", "asgi", *common, "--no-access-log", TRIVIAL_APP]


def homerec_command(stack: str, port: int, store_url: str, artifacts: Path,
                    workers: int = WORKERS) -> tuple[list[str], dict[str, str]]:
    """homerec on `stack` with 2 workers: ``homerec serve`` (granian), or the app factory on uvicorn."""
    if stack == "granian":
        return [sys.executable, "-m", "homerec.cli.main", "serve", "--host", HOST, "--port", str(port),
                "--workers", str(workers), "--store", store_url, "--artifacts", str(artifacts)], {}
    env = {"HOMEREC_STORE_URL": store_url, "HOMEREC_ARTIFACT_DIR": str(artifacts)}
    return [sys.executable, "-m", "uvicorn", "--factory", "--host", HOST, "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log", HOMEREC_FACTORY], env


@dataclass
class Server:
    """A started server: its process, base URL and log file."""

    proc: subprocess.Popen
    url: str
    log: Path

    def descendants(self) -> list[int]:
        """Process ids below the server's main process (its workers and helpers)."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            for task in Path(f"/proc/{pid}/task").glob("*"):
                children = task / "children"
                if children.exists():
                    kids = [int(c) for c in children.read_text().split()]
                    out += kids
                    todo += kids
        return sorted(set(out))

    def workers(self) -> list[int]:
        """The worker processes: descendants running Python with an app loaded (not resource trackers)."""
        pids = []
        for pid in self.descendants():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "resource_tracker" not in cmdline:
                pids.append(pid)
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the main process and every descendant."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in [self.proc.pid, *self.descendants()]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of one process in MiB, from /proc/PID/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key.lower().removeprefix("vm") + "_mb"] = int(value.split()[0]) / 1024
    return out


def wait_ready(server: Server, timeout_s: float = 180.0, settle_s: float = 1.0) -> float:
    """Wait until /readyz answers 200, every worker is up and the tree's CPU use settles; seconds waited.

    Both workers load the model; the first one ready already answers, so the benchmark also waits
    until the processes stop burning CPU (the second worker's load would otherwise steal cores).
    """
    t0 = time.perf_counter()
    live.wait_ready(server.url, server.proc, server.log, timeout_s)
    before = server.cpu_seconds()
    while time.perf_counter() - t0 < timeout_s:
        time.sleep(settle_s)
        now = server.cpu_seconds()
        if now - before < 0.05 * settle_s and len(server.workers()) >= WORKERS:
            break
        before = now
    return time.perf_counter() - t0


@contextlib.contextmanager
def serve(cmd: list[str], log: Path, port: int, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start `cmd` (its own process group, output to `log`), wait until ready, stop it on exit."""
    proc = live.spawn(cmd, log, {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)})
    server = Server(proc, f"http://{HOST}:{port}", log)
    try:
        wait_ready(server)
        yield server
    finally:
        live.stop_group(proc)
