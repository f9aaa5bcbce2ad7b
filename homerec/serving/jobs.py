# SPDX-License-Identifier: Apache-2.0
"""Starting a control-plane job: `homerec personalize-job ARN` as a process of its own.

The job's record is already in the group's store (`CREATE PENDING`); the runner
(`homerec.pipeline.personalize_jobs`) reads it from there, runs the real command and writes
its progress back. It runs in a session of its own, so it survives the request and a restart
of the server; a daemon thread only reaps it when it ends. Serving never imports the
pipeline: it starts the CLI.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

from homerec.settings import Settings


def start_job(settings: Settings, store_url: str, artifact_dir: str | Path, arn: str) -> None:
    """Start the runner of the job `arn` over a group's store and registry (`s3://` settings passed on)."""
    env = dict(os.environ)
    for name, value in (("HOMEREC_S3_ROOT", settings.s3_root), ("HOMEREC_S3_ENDPOINT", settings.s3_endpoint)):
        if value is not None:
            env[name] = str(value)
    argv = [sys.executable, "-m", "homerec.cli.main", "personalize-job", arn,
            "--store", store_url, "--artifacts", str(artifact_dir)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    threading.Thread(target=proc.wait, name="homerec-job-reaper", daemon=True).start()
