# SPDX-License-Identifier: Apache-2.0
"""The built-in scheduler: cron due times, one lock per job across processes, a JSON-lines run log.

State lives in ``<artifact_dir>/schedule/``: ``<job>.lock`` (held with a non-blocking
``fcntl.flock`` while the job runs, so a second run of the same job, in this process or any
other, is skipped and logged as "skipped: already running") and ``runs.jsonl`` (one line per
run: job, started_at, finished_at, seconds, status ok|failed|skipped, message, version).

Policy, in the order a user meets it:

* Cron expressions are read in the machine's local time, as cron reads them.
* Missed runs: at start, a job that has a run in the log but whose last successful run started
  before its previous due time (the process was down, or the last run failed) runs once at
  once. A job with no run in the log at all is new to the scheduler and waits for its first due
  time (``homerec schedule --run-now JOB`` runs it now).
* Jobs run one at a time in this process; when two are due together they run in the order given
  (training before the cache refresh). Due times passed while a job ran are not run twice: the
  next due time is counted from the end of the run.
* A job's exception is caught and logged as failed; the loop goes on. What a failed job leaves
  behind is the job's business (a failed training promotes nothing: see ``jobs.py``).
* SIGTERM or SIGINT stops the loop at once when idle, or after the running job otherwise; a
  second signal interrupts the running job (logged as failed, "interrupted").
"""

import fcntl
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cronsim import CronSim

from homerec.errors import ConfigError, HomerecError
from homerec.settings import check_cron

SCHEDULE_DIR = "schedule"
RUNS_FILE = "runs.jsonl"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
ALREADY_RUNNING = "already running"

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def local_now() -> datetime:
    """The current time, timezone-aware in the machine's local zone."""
    return datetime.now().astimezone()


def schedule_dir(artifact_dir: str | Path) -> Path:
    """Where the locks and the run log live."""
    return Path(artifact_dir) / SCHEDULE_DIR


def _cron(expr: str) -> str:
    try:
        return check_cron(expr)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def next_due(expr: str, after: datetime) -> datetime:
    """The first time strictly after `after` that the cron expression names."""
    try:
        return next(CronSim(_cron(expr), after))
    except StopIteration:
        raise ConfigError(f"cron expression {expr!r} names no time in the next 50 years") from None


def previous_due(expr: str, at: datetime) -> datetime:
    """The last time at or before `at` that the cron expression names."""
    try:
        return next(CronSim(_cron(expr), at.replace(microsecond=0) + timedelta(seconds=1), reverse=True))
    except StopIteration:
        raise ConfigError(f"cron expression {expr!r} named no time in the last 50 years") from None


@dataclass(frozen=True)
class JobResult:
    """What a successful job reports: the model version it produced or used, and a short note."""

    version: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Job:
    """A named action and the cron expression that says when it is due."""

    name: str
    cron: str
    action: Callable[[], JobResult]


@dataclass(frozen=True)
class RunRecord:
    """One line of the run log."""

    job: str
    started_at: str
    finished_at: str
    seconds: float
    status: str
    message: str = ""
    version: str | None = None

    @property
    def started(self) -> datetime:
        """`started_at` as a datetime."""
        return datetime.fromisoformat(self.started_at)


class RunLog:
    """The append-only JSON-lines log of runs in one schedule folder."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / RUNS_FILE

    def append(self, record: RunRecord) -> None:
        """Add one line (a single append write, so concurrent processes do not interleave)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(asdict(record)) + "\n")

    def runs(self, job: str | None = None) -> list[RunRecord]:
        """Every recorded run (of one job), oldest first; unreadable lines are left out."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                record = RunRecord(**json.loads(line))
            except (ValueError, TypeError):
                continue
            if job is None or record.job == job:
                out.append(record)
        return out

    def last_ok(self, job: str) -> RunRecord | None:
        """The job's last successful run."""
        return next((r for r in reversed(self.runs(job)) if r.status == OK), None)


def runs(artifact_dir: str | Path, job: str | None = None, limit: int | None = None) -> list[RunRecord]:
    """The last `limit` runs (of one job) logged under `artifact_dir`, oldest first."""
    records = RunLog(schedule_dir(artifact_dir)).runs(job)
    return records[-limit:] if limit else records


@contextmanager
def job_lock(folder: str | Path, job: str) -> Iterator[str | None]:
    """Hold ``<folder>/<job>.lock`` without waiting: yields None when held, else who holds it."""
    path = Path(folder) / f"{job}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            yield f"{ALREADY_RUNNING} (pid {holder})" if holder else ALREADY_RUNNING
            return
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield None
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, HomerecError) else f"{type(err).__name__}: {err}"


def run_job(job: Job, folder: str | Path, clock: Clock = local_now) -> RunRecord:
    """Run a job once under its lock and log the run; a busy lock logs a skip, an exception a failure."""
    started = clock()
    with job_lock(folder, job.name) as busy:
        if busy:
            record = RunRecord(job.name, started.isoformat(), started.isoformat(), 0.0, SKIPPED, busy)
        else:
            try:
                result = job.action()
                status, message, version = OK, result.message, result.version
            except Exception as err:  # noqa: BLE001 - any failure of a job is logged, the loop goes on
                if not isinstance(err, HomerecError):
                    log.exception("job %s failed", job.name)
                status, message, version = FAILED, _describe(err), None
            except KeyboardInterrupt:
                finished = clock()
                RunLog(folder).append(RunRecord(job.name, started.isoformat(), finished.isoformat(),
                                                round((finished - started).total_seconds(), 3), FAILED, "interrupted"))
                raise
            finished = clock()
            record = RunRecord(job.name, started.isoformat(), finished.isoformat(),
                               round((finished - started).total_seconds(), 3), status, message, version)
    RunLog(folder).append(record)
    return record


class Scheduler:
    """Runs due jobs until stopped; `clock` and `sleep` are injectable so tests can drive a fake week.

    Args:
        jobs: the jobs, in the order to run them when several are due together.
        folder: the schedule folder (locks and run log), see `schedule_dir`.
        clock: returns the current timezone-aware time.
        sleep: waits that many seconds (default: an interruptible wait that `stop()` ends early).
        max_sleep: the longest single wait, so a changed wall clock (suspend, NTP) is noticed.
        on_run: called with each run's record.
    """

    def __init__(
        self, jobs: Sequence[Job], folder: str | Path, clock: Clock = local_now,
        sleep: Callable[[float], object] | None = None, max_sleep: float = 60.0,
        on_run: Callable[[RunRecord], None] | None = None,
    ) -> None:
        for job in jobs:
            _cron(job.cron)
        if len({j.name for j in jobs}) != len(jobs):
            raise ConfigError("two scheduled jobs share a name")
        self.jobs, self.folder, self.clock = list(jobs), Path(folder), clock
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self.max_sleep = max_sleep
        self.on_run = on_run or (lambda _r: None)
        self.log = RunLog(self.folder)

    def missed(self, job: Job, now: datetime) -> bool:
        """True when the job has log entries but no successful run since its previous due time."""
        history = self.log.runs(job.name)
        if not history:
            return False
        last = next((r for r in reversed(history) if r.status == OK), None)
        return last is None or last.started < previous_due(job.cron, now)

    def next_due_times(self, now: datetime | None = None) -> dict[str, datetime]:
        """When each job runs next if the loop started now (a missed job: now)."""
        now = now or self.clock()
        return {j.name: now if self.missed(j, now) else next_due(j.cron, now) for j in self.jobs}

    def stop(self) -> None:
        """Ask the loop to end (after the running job, if any)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called."""
        return self._stop.is_set()

    def run(self, until: datetime | None = None) -> list[RunRecord]:
        """Run jobs as they fall due until `stop()` (or the clock reaches `until`); the records made."""
        done: list[RunRecord] = []
        due = self.next_due_times()
        while not self._stop.is_set():
            now = self.clock()
            if until is not None and now >= until:
                break
            ready = sorted((j for j in self.jobs if due[j.name] <= now), key=lambda j: due[j.name])
            for job in ready:
                if self._stop.is_set():
                    break
                record = run_job(job, self.folder, self.clock)
                done.append(record)
                self.on_run(record)
                due[job.name] = next_due(job.cron, self.clock())
            if ready:
                continue
            wake = min([*due.values(), *([until] if until is not None else [])])
            self._sleep(min(max((wake - now).total_seconds(), 0.0), self.max_sleep))
        return done

    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """While inside: SIGTERM/SIGINT stop the loop; a second one interrupts the running job."""

        def handle(_signum: int, _frame: object) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt
            self.stop()

        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
