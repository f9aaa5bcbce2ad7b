# SPDX-License-Identifier: Apache-2.0
"""homerec serve: the HTTP API on granian (N worker processes over the app factory), and the exposure shipper."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from homerec.cli.common import ArtifactsOpt, ConfigOpt, StoreOpt, console
from homerec.settings import CONFIG_ENV, Settings, load_settings

SPOOL = Path("spool") / "exposures"
"""Where the workers leave exposures for the shipper, under the artifact folder (kept across restarts),
in a folder per store (servers of two stores may share an artifact folder)."""


def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(min=0, max=65535, help="Port (default 8000)")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes (default 1)")] = None,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Serve the active model version over HTTP (native API, Personalize API, dashboard, metrics)."""
    s = load_settings(config, store_url=store, artifact_dir=artifacts, host=host, port=port, workers=workers)
    run_server(s, config)


def run_server(s: Settings, config: Path | None = None) -> None:
    """Serve the app factory on granian (a Rust HTTP server, N worker processes) until interrupted.

    Workers build their settings from the environment, so the effective settings are handed
    down as HOMEREC_ variables.
    """
    from granian import Granian  # the HTTP stack loads only for this command
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    console.print(f"serving {s.artifact_dir} over {s.store_url} on http://{s.host}:{s.port} "
                  f"with {s.workers} worker{'s' if s.workers > 1 else ''}")
    if config is not None:
        os.environ[CONFIG_ENV] = str(Path(config).resolve())
    for name, value in s.model_dump(mode="json", exclude_defaults=True).items():
        os.environ[f"HOMEREC_{name.upper()}"] = _env_value(value)
    os.environ["HOMEREC_ARTIFACT_DIR"] = str(Path(s.artifact_dir).resolve())
    spool = Path(s.exposure_spool or default_spool(s)).resolve()
    os.environ["HOMEREC_EXPOSURE_SPOOL"] = str(spool)
    # Workers share their Prometheus values through files in a fresh folder: /metrics adds them up.
    metrics_dir = tempfile.mkdtemp(prefix="homerec-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    shipper = _start_shipper(s.store_url, spool)
    try:
        # granian times out slow request headers; the app's BodyMiddleware times out slow bodies.
        Granian("homerec.serving.app:factory", address=s.host, port=s.port, interface=Interfaces.ASGI,
                workers=s.workers, factory=True, log_access=False,
                http1_settings=HTTP1Settings(header_read_timeout=int(s.read_timeout_s * 1000))).serve()
    finally:
        _stop_shipper(shipper)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def default_spool(s: Settings) -> Path:
    """`<artifact_dir>/spool/exposures/<a digest of the store URL>`."""
    digest = hashlib.blake2b(s.store_url.encode(), digest_size=6).hexdigest()
    return Path(s.artifact_dir) / SPOOL / digest


def _start_shipper(store_url: str, spool: Path) -> subprocess.Popen:
    """`homerec ship-exposures` in its own process, at a lower CPU priority than the workers."""
    def lower_priority() -> None:
        os.nice(10)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; the server then stops it

    return subprocess.Popen([sys.executable, "-m", "homerec.cli.main", "ship-exposures", "--store", store_url,
                             "--spool", str(spool)], preexec_fn=lower_priority)


def _stop_shipper(proc: subprocess.Popen) -> None:
    """Ask the shipper to ship what is left and stop (the workers have flushed by now)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def ship_exposures(
    spool: Annotated[Path, typer.Option(help="The spool folder the serving workers write to")],
    store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """Move exposure files from the serving workers' spool into the store until stopped (SIGTERM)."""
    from homerec.pipeline.exposure_shipper import ship_until

    s = load_settings(config, store_url=store)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ship_until(s.store_url, spool, stop)


def _env_value(value: object) -> str:
    """A settings value in the form its HOMEREC_ variable takes (lists of ids and pairs comma-separated,
    lists of records as JSON)."""
    import json

    if isinstance(value, list):
        if any(isinstance(v, (dict, list)) for v in value):  # dataset_groups: a JSON list
            return json.dumps(value)
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)
