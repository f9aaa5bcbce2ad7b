# SPDX-License-Identifier: Apache-2.0
"""`homerec demo` ends with the server running and prints requests that work against it."""

import os
import re
import signal
import subprocess
import sys
import time

import boto3
import httpx
import pytest

from homerec.cli.main import DEMO_KEY, DEMO_SECRET
from tests.live import free_port, wait_ready


@pytest.mark.slow
def test_demo_serves_and_its_printed_requests_answer(tmp_path):
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "HOMEREC_RELOAD_INTERVAL_S": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "homerec.cli.main", "demo", "--folder", str(tmp_path / "demo"), "--scale", "0.005",
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            if "/v1/users/" in line:
                break
        wait_ready(url, proc, tmp_path / "no-log", timeout_s=max(1.0, deadline - time.monotonic()))
        out = "".join(lines)
        first = re.search(r"curl '(http://127\.0\.0\.1:\d+/v1/users/[^']+)'", out)
        assert first, out
        body = httpx.get(first.group(1), timeout=10).json()
        assert len(body["items"]) == 5 and body["source"] in ("cache", "model")
        user = re.search(r"/v1/users/([^/]+)/recommendations", first.group(1)).group(1)
        runtime = boto3.client("personalize-runtime", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id=DEMO_KEY, aws_secret_access_key=DEMO_SECRET)
        answer = runtime.get_recommendations(campaignArn="arn:aws:personalize:us-east-1:1:campaign/demo",
                                             userId=user, numResults=5)
        assert len(answer["itemList"]) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
