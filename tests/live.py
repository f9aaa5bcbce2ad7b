# SPDX-License-Identifier: Apache-2.0
"""Helpers for tests that talk to a real server: a free port, the app on uvicorn in a thread, and
`homerec serve` (granian) in its own process group."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(settings) -> Iterator[str]:
    """`create_app(settings)` served by uvicorn on a thread; yields the base URL."""
    import uvicorn

    from homerec.serving import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ServeProcess:
    """`python -m homerec.cli.main serve` in its own process group (granian's main process and its workers).

    The environment is the test's without HOMEREC_ variables, plus `env`; the registry is not polled.
    """

    def __init__(self, store_url: str, artifacts: Path, folder: Path, name: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HOMEREC_")}
        environ.update({"HOMEREC_RELOAD_INTERVAL_S": "0", **env})
        self.log_path = folder / f"{name}.log"
        self.log = self.log_path.open("w")
        cmd = [sys.executable, "-m", "homerec.cli.main", "serve", "--store", store_url,
               "--artifacts", str(artifacts), "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=folder, env=environ, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def kill9(self) -> None:
        """SIGKILL every process of the server at once, as a crash or an OOM kill of the container would."""
        os.killpg(self.proc.pid, signal.SIGKILL)

    def wait_ready(self, timeout_s: float = 60) -> None:
        """Until /readyz answers 200 (fails with the server's log otherwise)."""
        import httpx

        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, f"server exited: {self.log_path.read_text()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"server not ready: {self.log_path.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        """Terminate the server (SIGKILL what is left), close its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # no worker outlives the test
        self.log.close()
