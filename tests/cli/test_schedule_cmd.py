# SPDX-License-Identifier: Apache-2.0
"""`homerec schedule` end to end: run a job now, list runs, share the lock, stop on SIGTERM, bad cron."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from homerec.pipeline.schedule import job_lock
from homerec.synth.generate import generate

ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}


def homerec(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "homerec.cli.main", *args], cwd=cwd,
                         capture_output=True, text=True, timeout=300, env={**ENV, **(env or {})})
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run


def logged(workdir: Path) -> list[dict]:
    return [json.loads(x) for x in (workdir / "artifacts" / "schedule" / "runs.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("schedule")
    generate(d / "data", scale=0.005, seed=2)
    assert homerec("import", "data", cwd=d).returncode == 0
    return d


def test_run_now_trains_refreshes_and_lists_the_runs(workdir):
    run = homerec("schedule", "--run-now", "train", "--models", "popularity", cwd=workdir)
    assert run.returncode == 0 and "train: ok" in run.stdout and "→ v1" in run.stdout, run.stdout
    run = homerec("schedule", "--run-now", "batch", cwd=workdir)
    assert run.returncode == 0 and "batch: ok" in run.stdout and "→ v1" in run.stdout, run.stdout
    listed = homerec("schedule", "--list", "--train-cron", "15 4 * * 1", cwd=workdir)
    assert listed.returncode == 0
    assert "15 4 * * 1" in listed.stdout and "0 */6 * * *" in listed.stdout and "last 10 runs" in listed.stdout
    assert [(r["job"], r["status"], r["version"]) for r in logged(workdir)[-2:]] == [("train", "ok", "v1"), ("batch", "ok", "v1")]


def test_a_run_now_while_the_job_runs_elsewhere_is_skipped(workdir):
    with job_lock(workdir / "artifacts" / "schedule", "batch") as busy:
        assert busy is None
        run = homerec("schedule", "--run-now", "batch", cwd=workdir)
    assert run.returncode == 0 and "batch: skipped: already running" in run.stdout, run.stdout
    assert logged(workdir)[-1]["status"] == "skipped"


def test_a_failed_training_exits_1_and_keeps_the_active_model(workdir):
    homerec("schedule", "--run-now", "train", "--models", "popularity", cwd=workdir)
    active = (workdir / "artifacts" / "ACTIVE").read_text()
    run = homerec("schedule", "--run-now", "train", "--models", "svd", cwd=workdir)
    assert run.returncode == 1 and "train: failed" in run.stdout and "unknown model 'svd'" in run.stdout
    assert (workdir / "artifacts" / "ACTIVE").read_text() == active
    assert logged(workdir)[-1]["status"] == "failed"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--train-cron", "0 3 * *"), {}, "--train-cron: bad cron expression '0 3 * *': expected 5 fields"),
        (("--batch-cron", "0 */6 * * 9", "--list"), {}, "Bad day-of-week"),
        ((), {"HOMEREC_BATCH_CRON": "every six hours"}, "bad cron expression 'every six hours'"),
        (("--run-now", "evaluate"), {}, "--run-now takes train or batch"),
    ],
)
def test_bad_cron_or_job_is_a_message_and_exit_code_2(tmp_path, args, env, message):
    run = homerec("schedule", *args, cwd=tmp_path, env=env)
    assert run.returncode == 2 and message in " ".join(run.stdout.split()), run.stdout


def test_the_scheduler_stops_on_sigterm(tmp_path):
    leap_day = "0 0 29 2 *"  # never due while the test runs
    proc = subprocess.Popen([sys.executable, "-m", "homerec.cli.main", "schedule", "--batch-cron", leap_day],
                            cwd=tmp_path, env={**ENV, "HOMEREC_TRAIN_CRON": leap_day},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and not any(f"batch `{leap_day}`: next" in x for x in lines):
            lines.append(proc.stdout.readline())
        assert any(f"train `{leap_day}`: next" in x for x in lines), lines
        time.sleep(0.3)  # into the wait
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "scheduler stopped" in out and time.monotonic() - started < 15  # not the 60 s wait
    assert not (tmp_path / "artifacts" / "schedule" / "runs.jsonl").exists()  # nothing was due
