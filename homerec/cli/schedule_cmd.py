# SPDX-License-Identifier: Apache-2.0
"""homerec schedule: retrain and refresh the cache on cron times, run one job now, or list runs."""

from datetime import datetime
from typing import Annotated, Optional

import typer
from rich.table import Table

from homerec.cli.common import ArtifactsOpt, ConfigOpt, StoreOpt, console, say
from homerec.errors import InputError
from homerec.pipeline.jobs import JOB_NAMES, scheduled_jobs
from homerec.pipeline.schedule import FAILED, OK, SKIPPED, RunRecord, Scheduler, run_job, schedule_dir
from homerec.settings import check_cron, load_settings

_STYLE = {OK: "green", FAILED: "red", SKIPPED: "yellow"}


def _when(value: datetime | str) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _line(r: RunRecord) -> str:
    version = f" → {r.version}" if r.version else ""
    return (f"{_when(r.started_at)} {r.job}: [{_STYLE.get(r.status, 'white')}]{r.status}[/]"
            f"{'' if r.status == SKIPPED else f' in {r.seconds:.1f}s'}{version}"
            + (f": {r.message}" if r.message else ""))


def _show(sched: Scheduler, crons: dict[str, str], last: int) -> None:
    due = sched.next_due_times()
    now = sched.clock()
    table = Table("job", "cron", "next run", "last run", "last success", title="schedule")
    for name in JOB_NAMES:
        history = sched.log.runs(name)
        ok = sched.log.last_ok(name)
        table.add_row(name, crons[name], "now (missed)" if due[name] <= now else _when(due[name]),
                      f"{_when(history[-1].started_at)} {history[-1].status}" if history else "never",
                      f"{_when(ok.started_at)} {ok.version or ''}" if ok else "never")
    console.print(table)
    records = sched.log.runs()[-last:]
    table = Table("started", "job", "status", "seconds", "version", "message", title=f"last {last} runs")
    for r in records:
        table.add_row(_when(r.started_at), r.job, f"[{_STYLE.get(r.status, 'white')}]{r.status}[/]",
                      f"{r.seconds:.1f}", r.version or "", r.message)
    console.print(table if records else "no runs logged yet")


def schedule(
    train_cron: Annotated[Optional[str], typer.Option(help="When to retrain, as cron (default `0 3 * * 0`)")] = None,
    batch_cron: Annotated[Optional[str], typer.Option(help="When to refresh the cache (default `0 */6 * * *`)")] = None,
    run_now: Annotated[Optional[str], typer.Option(help="Run one job (train or batch) once now and exit")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Show next run times and the last runs, and exit")] = False,
    models: Annotated[Optional[str], typer.Option(help="Parts the training uses (default: all)")] = None,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Retrain weekly, refresh the cache every 6 hours, check the experiment guardrail every 15 minutes (or on your cron times), one run of a job at a time.

    Runs are logged in <artifact_dir>/schedule/runs.jsonl; a failed training keeps the active model.
    With --run-now the exit code is 0 (ok or skipped: already running) or 1 (failed), for cron and systemd.
    """
    for option, value in (("--train-cron", train_cron), ("--batch-cron", batch_cron)):
        if value is not None:
            try:
                check_cron(value)
            except ValueError as err:
                raise InputError(f"{option}: {err}") from None
    if run_now is not None and run_now not in JOB_NAMES:
        raise InputError(f"--run-now takes {' or '.join(JOB_NAMES)}, not {run_now!r}")
    if run_now and list_:
        raise InputError("--run-now and --list do not go together")
    s = load_settings(config, store_url=store, artifact_dir=artifacts, train_cron=train_cron, batch_cron=batch_cron)
    parts = [m.strip() for m in models.split(",") if m.strip()] if models else None
    jobs = scheduled_jobs(s, parts, say)
    folder = schedule_dir(s.artifact_dir)
    sched = Scheduler(jobs, folder, on_run=lambda r: console.print(_line(r)))
    if list_:
        _show(sched, {"train": s.train_cron, "batch": s.batch_cron, "guardrail": s.guardrail_cron}, last=10)
        return
    if run_now:
        record = run_job(next(j for j in jobs if j.name == run_now), folder)
        console.print(_line(record))
        if record.status == FAILED:
            raise typer.Exit(1)
        return
    with sched.stop_on_signals():
        due, now = sched.next_due_times(), sched.clock()
        console.print(f"scheduler for {s.store_url}, models in {s.artifact_dir}; log {folder / 'runs.jsonl'}")
        for job in jobs:
            console.print(f"  {job.name} `{job.cron}`: next "
                          + ("now (missed run)" if due[job.name] <= now else _when(due[job.name])))
        sched.run()
    console.print("scheduler stopped")
