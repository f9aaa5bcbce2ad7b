# SPDX-License-Identifier: Apache-2.0
"""homerec schedule: due times, a fake week, the cross-process lock, the run log and the real jobs."""

import json
import multiprocessing
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS
from homerec.errors import ConfigError
from homerec.models.registry import Registry
from homerec.pipeline.jobs import BATCH_OUTPUT, batch_job, train_job
from homerec.pipeline.schedule import (
    FAILED, OK, SKIPPED, Job, JobResult, RunLog, RunRecord, Scheduler, job_lock, next_due, previous_due, run_job,
    runs, schedule_dir,
)
from homerec.settings import Settings
from homerec.storage import open_store

MONDAY = datetime(2025, 1, 6, 0, 30, tzinfo=UTC)  # a Monday, 00:30 UTC


class FakeClock:
    """A clock that only moves when the scheduler sleeps or a job 'works'."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps = 0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += timedelta(seconds=seconds)


def counting_job(name: str, cron: str, clock: FakeClock, minutes: float, calls: list) -> Job:
    """A job that records when it ran and takes `minutes` of fake time."""

    def action() -> JobResult:
        calls.append(clock())
        clock.now += timedelta(minutes=minutes)
        return JobResult(f"v{len(calls)}", "done")

    return Job(name, cron, action)


# -- due times --------------------------------------------------------------------------------------


def test_next_due_is_strictly_after_and_previous_due_is_at_or_before():
    assert next_due("0 3 * * 0", MONDAY) == datetime(2025, 1, 12, 3, 0, tzinfo=UTC)
    six = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)
    assert next_due("0 */6 * * *", six) == six + timedelta(hours=6)
    assert previous_due("0 */6 * * *", six + timedelta(microseconds=500)) == six
    assert previous_due("0 */6 * * *", six - timedelta(minutes=1)) == six - timedelta(hours=6)
    assert previous_due("0 3 * * 0", MONDAY) == datetime(2025, 1, 5, 3, 0, tzinfo=UTC)
    with pytest.raises(ConfigError, match="bad cron expression '0 25 \\* \\* \\*': Bad hour"):
        next_due("0 25 * * *", MONDAY)
    with pytest.raises(ConfigError, match="expected 5 fields"):
        Scheduler([Job("x", "0 3 * *", lambda: JobResult())], "unused")


def test_settings_default_to_weekly_training_and_six_hourly_refresh_and_reject_bad_cron():
    s = Settings()
    assert (s.train_cron, s.batch_cron) == ("0 3 * * 0", "0 */6 * * *")
    assert Settings(batch_cron="  */30   *  * * * ").batch_cron == "*/30 * * * *"
    with pytest.raises(ValueError, match="bad cron expression '0 0 \\* \\* 8': Bad day-of-week"):
        Settings(train_cron="0 0 * * 8")


# -- the loop on a fake clock ---------------------------------------------------------------------


def test_a_fake_week_runs_training_once_and_the_refresh_every_six_hours(tmp_path):
    clock, trained, refreshed = FakeClock(MONDAY), [], []
    jobs = [counting_job("train", "0 3 * * 0", clock, 20, trained),
            counting_job("batch", "0 */6 * * *", clock, 5, refreshed)]
    seen = []
    records = Scheduler(jobs, tmp_path, clock=clock, sleep=clock.sleep, on_run=seen.append).run(
        until=MONDAY + timedelta(days=7))
    assert trained == [datetime(2025, 1, 12, 3, 0, tzinfo=UTC)]
    assert len(refreshed) == 28 and refreshed[0] == datetime(2025, 1, 6, 6, 0, tzinfo=UTC)
    assert all(t.minute == 0 and t.hour % 6 == 0 for t in refreshed)
    assert records == seen == RunLog(tmp_path).runs()
    assert [r.status for r in records] == [OK] * 29
    train_record = next(r for r in records if r.job == "train")
    assert train_record.seconds == 1200.0 and train_record.version == "v1" and train_record.message == "done"
    assert {r.seconds for r in records if r.job == "batch"} == {300.0}
    assert datetime.fromisoformat(train_record.finished_at) - train_record.started == timedelta(minutes=20)
    assert clock.sleeps >= 7 * 24 * 60 - 160  # never sleeps past a minute: a moved wall clock is noticed


def test_jobs_due_together_run_in_order_and_a_long_run_swallows_the_due_times_it_overlapped(tmp_path):
    clock, order = FakeClock(datetime(2025, 1, 6, 2, 59, tzinfo=UTC)), []
    jobs = [counting_job("train", "0 3 * * *", clock, 25, order), counting_job("batch", "*/10 * * * *", clock, 1, order)]
    records = Scheduler(jobs, tmp_path, clock=clock, sleep=clock.sleep).run(until=datetime(2025, 1, 6, 3, 45, tzinfo=UTC))
    assert [r.job for r in records] == ["train", "batch", "batch", "batch"]
    assert [r.started.strftime("%H:%M") for r in records] == ["03:00", "03:25", "03:30", "03:40"]


def test_a_failing_job_is_logged_and_the_loop_goes_on(tmp_path):
    clock, calls = FakeClock(MONDAY), []

    def boom() -> JobResult:
        calls.append(clock())
        raise RuntimeError("disk full")

    records = Scheduler([Job("batch", "0 */6 * * *", boom)], tmp_path, clock=clock, sleep=clock.sleep).run(
        until=MONDAY + timedelta(hours=13))
    assert [(r.status, r.message) for r in records] == [(FAILED, "RuntimeError: disk full")] * 2
    assert len(calls) == 2


def test_a_missed_run_runs_once_at_start_and_a_new_job_waits(tmp_path):
    log = RunLog(tmp_path)
    old = MONDAY - timedelta(days=1)
    log.append(RunRecord("batch", old.isoformat(), old.isoformat(), 1.0, OK))  # missed every refresh since
    recent = MONDAY - timedelta(minutes=20)  # after the 00:00 due time: nothing missed
    log.append(RunRecord("train", recent.isoformat(), recent.isoformat(), 1.0, OK))
    clock, refreshed, trained, fresh = FakeClock(MONDAY), [], [], []
    jobs = [counting_job("train", "0 0 * * *", clock, 1, trained), counting_job("batch", "0 */6 * * *", clock, 1, refreshed),
            counting_job("export", "0 */6 * * *", clock, 1, fresh)]
    sched = Scheduler(jobs, tmp_path, clock=clock, sleep=clock.sleep)
    assert sched.next_due_times() == {"train": datetime(2025, 1, 7, 0, 0, tzinfo=UTC), "batch": MONDAY,
                                      "export": datetime(2025, 1, 6, 6, 0, tzinfo=UTC)}
    sched.run(until=MONDAY + timedelta(hours=7))
    assert refreshed == [MONDAY, datetime(2025, 1, 6, 6, 0, tzinfo=UTC)]  # once at start, not once per missed time
    assert trained == [] and fresh == [datetime(2025, 1, 6, 6, 1, tzinfo=UTC)]  # after batch, declared first


def test_a_failed_last_run_counts_as_missed(tmp_path):
    RunLog(tmp_path).append(RunRecord("train", MONDAY.isoformat(), MONDAY.isoformat(), 1.0, FAILED, "boom"))
    sched = Scheduler([Job("train", "0 3 * * 0", lambda: JobResult())], tmp_path, clock=lambda: MONDAY)
    assert sched.next_due_times() == {"train": MONDAY}


def test_stop_ends_the_loop_after_the_running_job(tmp_path):
    sched = None

    def stops() -> JobResult:
        sched.stop()
        return JobResult()

    RunLog(tmp_path).append(RunRecord("a", "2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00+00:00", 0.0, FAILED))
    sched = Scheduler([Job("a", "* * * * *", stops), Job("b", "* * * * *", stops)], tmp_path)
    assert [r.job for r in sched.run()] == ["a"] and sched.stopping


# -- the lock and the log -------------------------------------------------------------------------


def _holder(folder: str, started, release, statuses) -> None:
    def action() -> JobResult:
        started.set()
        release.wait(30)
        return JobResult("v7")

    statuses.put(run_job(Job("train", "* * * * *", action), folder).status)


def _racer(folder: str, statuses) -> None:
    statuses.put(run_job(Job("train", "* * * * *", lambda: JobResult("v8")), folder).status)


def test_two_processes_running_one_job_one_runs_and_the_other_is_skipped(tmp_path):
    ctx = multiprocessing.get_context("fork")
    started, release, statuses = ctx.Event(), ctx.Event(), ctx.Queue()
    first = ctx.Process(target=_holder, args=(str(tmp_path), started, release, statuses))
    first.start()
    try:
        assert started.wait(30)
        second = ctx.Process(target=_racer, args=(str(tmp_path), statuses))
        second.start()
        second.join(30)
        assert statuses.get(timeout=5) == SKIPPED
    finally:
        release.set()
        first.join(30)
    assert statuses.get(timeout=5) == OK
    skipped, done = RunLog(tmp_path).runs("train")
    assert skipped.status == SKIPPED and skipped.message == f"already running (pid {first.pid})"
    assert (done.status, done.version) == (OK, "v7")
    # the lock is free again, and a different job never waited for it
    assert run_job(Job("train", "* * * * *", lambda: JobResult("v9")), tmp_path).status == OK


def test_the_lock_is_held_within_one_process_too(tmp_path):
    with job_lock(tmp_path, "batch") as busy:
        assert busy is None
        record = run_job(Job("batch", "* * * * *", lambda: JobResult()), tmp_path)
        with job_lock(tmp_path, "train") as other:
            assert other is None
    assert record.status == SKIPPED and record.message.startswith("already running")


def test_an_interrupted_job_is_logged_and_the_interrupt_goes_on(tmp_path):
    def interrupted() -> JobResult:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(Job("train", "* * * * *", interrupted), tmp_path)
    assert [(r.status, r.message) for r in RunLog(tmp_path).runs()] == [(FAILED, "interrupted")]


def test_the_run_log_is_json_lines_and_runs_reads_the_last_ones(tmp_path):
    folder = schedule_dir(tmp_path)
    for i in range(3):
        run_job(Job("batch" if i % 2 else "train", "* * * * *", lambda: JobResult("v1", "fine")), folder)
    with (folder / "runs.jsonl").open("a") as fh:
        fh.write('{"job": "train", "started_at": \n')  # a torn line is left out, not fatal
    lines = (folder / "runs.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert set(first) == {"job", "started_at", "finished_at", "seconds", "status", "message", "version"}
    assert first["seconds"] >= 0 and first["status"] == OK and first["version"] == "v1"
    assert [r.job for r in runs(tmp_path)] == ["train", "batch", "train"]
    assert [r.job for r in runs(tmp_path, limit=2)] == ["batch", "train"]
    assert len(runs(tmp_path, job="train")) == 2


# -- the real jobs on a small trained store -------------------------------------------------------


@pytest.fixture
def copy(trained, tmp_path) -> Settings:
    """Settings for a private copy of the session's trained store and registry."""
    shutil.copy(trained["root"] / "homerec.db", tmp_path / "homerec.db")
    shutil.copytree(trained["registry"].root, tmp_path / "artifacts")
    return Settings(store_url=f"sqlite:///{tmp_path / 'homerec.db'}", artifact_dir=tmp_path / "artifacts")


def test_a_failed_training_keeps_the_active_version_and_is_logged(copy, tmp_path):
    registry = Registry(copy.artifact_dir)
    before, versions = registry.active(), registry.versions()
    folder = schedule_dir(copy.artifact_dir)
    empty = copy.model_copy(update={"store_url": f"sqlite:///{tmp_path / 'empty.db'}"})
    no_data = run_job(Job("train", copy.train_cron, train_job(empty)), folder)
    bad_model = run_job(Job("train", copy.train_cron, train_job(copy, models=["svd"])), folder)
    assert (no_data.status, bad_model.status) == (FAILED, FAILED)
    assert "holds no interactions" in no_data.message and "unknown model 'svd'" in bad_model.message
    assert no_data.version is None and no_data.seconds >= 0
    assert registry.active() == before and registry.versions() == versions
    assert [r.status for r in runs(copy.artifact_dir)] == [FAILED, FAILED]


def test_a_training_run_promotes_its_version_and_the_refresh_caches_it(copy):
    registry = Registry(copy.artifact_dir)
    before = registry.active()
    folder = schedule_dir(copy.artifact_dir)
    trained = run_job(Job("train", copy.train_cron, train_job(copy, models=["popularity"])), folder)
    assert trained.status == OK, trained.message
    assert trained.version == registry.active() != before and trained.seconds > 0
    assert registry.info(trained.version).meta["model"] == "popularity"
    refreshed = run_job(Job("batch", copy.batch_cron, batch_job(copy)), folder)
    assert refreshed.status == OK, refreshed.message
    assert refreshed.version == trained.version and "users" in refreshed.message
    store = open_store(copy.store_url)
    try:
        user = store.interactions()["user_id"][0]
        item = store.interactions()["item_id"][0]
        assert store.get_recs(USER_RECS, user).model_version == trained.version
        assert store.get_recs(SIMILAR_ITEMS, item).model_version == trained.version
    finally:
        store.close()
    out = Path(copy.artifact_dir) / "schedule" / BATCH_OUTPUT
    assert json.loads(out.read_text().splitlines()[0])["output"]["recommendedItems"]
    assert [(r.job, r.status) for r in runs(copy.artifact_dir)] == [("train", OK), ("batch", OK)]
