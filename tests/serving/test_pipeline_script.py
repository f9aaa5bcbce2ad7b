# SPDX-License-Identifier: Apache-2.0
"""The pipeline script written for AWS (examples/personalize_pipeline.py) runs against homerec, unchanged but for
endpoint_url, with its S3 bucket in an S3-compatible server (moto's S3 server, started here) that homerec's jobs
read and write through HOMEREC_S3_ENDPOINT."""

import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.live import s3_server, serve_app
from tests.serving.conftest import make_settings
from tests.serving.test_control_plane import ARN, CAMPAIGN, GROUP, SOLUTION, group_config

AK, SECRET = "AKIAPIPE", "pipe-secret"
SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "personalize_pipeline.py"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.slow
def test_the_pipeline_script_runs_unchanged_but_for_endpoint_url(world, monkeypatch):
    with s3_server() as s3_url:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", AK)  # SigV4 for homerec, any key for the S3 server
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        boto3.client("s3", endpoint_url=s3_url).create_bucket(
            Bucket="shop-recs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        settings = make_settings(world, sigv4_keys={AK: SECRET}, dataset_groups=[group_config(world)],
                                 s3_endpoint=s3_url)
        with serve_app(settings) as url:
            users = world["cached_users"][:3]
            env = {**os.environ, "AWS_ENDPOINT_URL_S3": s3_url}
            done = subprocess.run(
                [sys.executable, str(SCRIPT), "--endpoint-url", url, "--dataset-group", GROUP, "--solution", SOLUTION,
                 "--campaign", CAMPAIGN, "--bucket", "shop-recs", "--role", "arn:aws:iam::1:role/r", "--users", *users],
                capture_output=True, text=True, env=env, timeout=600, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        version = re.search(r"^solution version (\S+) (\{.*\})$", out, re.M)
        assert version and version.group(1).startswith(SOLUTION + "/") and "normalized_discounted" in version.group(2)
        assert f"now serves {version.group(1)}" in out
        batch = re.findall(r"^batch (\S+) \[(.*)\] None$", out, re.M)
        assert [u for u, _ in batch] == users and all(items.count("'") == 10 for _, items in batch)
        assert re.search(rf"^live {users[0]} \[\('", out, re.M) and f"{ARN}:filter/not-bought-" in out


def test_the_readme_shows_the_script():
    readme = README.read_text()
    body = SCRIPT.read_text().split('"""', 2)[2]  # the code after the module docstring
    code = "\n".join(line for line in body.splitlines() if line.strip() and not line.startswith("# SPDX"))
    for line in code.splitlines():
        assert line in readme, f"README lacks the script line {line!r}"
