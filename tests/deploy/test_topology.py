# SPDX-License-Identifier: Apache-2.0
"""The compose topology as processes on loopback: PostgreSQL, the scheduler's training, two replicas, nginx.

No container runtime runs here, so the services of deploy/compose.yaml run as the same commands:
a real PostgreSQL (the test session's server), `homerec schedule --run-now train` writing the
registry, two `homerec serve` replicas over that store and registry, and nginx with
deploy/nginx.conf moved onto loopback ports.
"""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from homerec.storage import open_store
from homerec.synth.generate import generate
from tests.deploy.files import loopback_nginx_conf, nginx_binary
from tests import live
from tests.live import free_port
from tests.storage.test_postgres_store import _reset


def homerec(*args: str, env: dict, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "homerec.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@contextmanager
def nginx(conf: Path, folder: Path, front: str) -> Iterator[None]:
    """nginx in the foreground with `conf`, once its health route answers; stopped afterwards."""
    cmd = [nginx_binary(), "-p", str(folder), "-e", str(folder / "nginx-error.log"), "-c", str(conf), "-g", "daemon off;"]
    proc = live.spawn(cmd, folder / "nginx.log")
    try:
        live.wait_ready(front, proc, folder / "nginx.log", 60, path="/nginx-health")
        yield
    finally:
        live.stop_group(proc)


def answers(base: str) -> float:
    """Lists the replica has served (its homerec_answers counter)."""
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(r"^homerec_answers_total\{[^}]*\} (\S+)$", text, flags=re.M))


def test_two_replicas_behind_nginx_share_store_and_registry(postgres_url: str, tmp_path: Path):
    _reset(postgres_url)
    generate(tmp_path / "data", scale=0.003, seed=4)
    env = {**os.environ, "COLUMNS": "200", "HOMEREC_STORE_URL": postgres_url,
           "HOMEREC_ARTIFACT_DIR": str(tmp_path / "artifacts"), "HOMEREC_RELOAD_INTERVAL_S": "0.5"}
    homerec("import", "data", env=env, cwd=tmp_path)
    homerec("schedule", "--run-now", "train", "--models", "als", env=env, cwd=tmp_path)  # the scheduler's job
    store = open_store(postgres_url)
    try:
        user = store.interactions()["user_id"][0]
    finally:
        store.close()
    replicas = [live.HomerecServer(postgres_url, tmp_path / "artifacts", tmp_path, name=name, ready_timeout_s=180,
                                   env={"HOMEREC_RELOAD_INTERVAL_S": "0.5"}) for name in ("a", "b")]
    a, b, proxy = replicas[0].port, replicas[1].port, free_port()
    front = f"http://127.0.0.1:{proxy}"
    conf = loopback_nginx_conf(tmp_path, proxy, [a, b])
    with replicas[0] as replica_a, replicas[1], nginx(conf, tmp_path, front):
        for _ in range(20):
            r = httpx.get(f"{front}/v1/users/{user}/recommendations", timeout=10)
            assert r.status_code == 200 and len(r.json()["items"]) == 10
        assert answers(f"http://127.0.0.1:{a}") > 0 and answers(f"http://127.0.0.1:{b}") > 0  # both replicas served
        # An event accepted through the proxy is in the shared store: the other replica's next answer reflects it.
        top = httpx.get(f"http://127.0.0.1:{a}/v1/users/{user}/recommendations", timeout=10).json()["items"][0]["item_id"]
        r = httpx.post(f"{front}/v1/events", json={"events": [{"user_id": user, "item_id": top}]}, timeout=10)
        assert r.status_code == 200 and r.json()["accepted"] == 1
        for port in (a, b):
            items = httpx.get(f"http://127.0.0.1:{port}/v1/users/{user}/recommendations", timeout=10).json()["items"]
            assert top not in {i["item_id"] for i in items}
        # A lost replica: nginx answers from the other one, with no failed request.
        replica_a.stop()
        codes = [httpx.get(f"{front}/v1/users/{user}/recommendations", timeout=10).status_code for _ in range(10)]
        assert codes == [200] * 10
