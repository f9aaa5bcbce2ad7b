# SPDX-License-Identifier: Apache-2.0
"""homerec experiment create | list | show | set-traffic | mode | stop | rollback | report.

Every command reads and writes the experiment through the store, so running servers see a
change on their next reload (no restart): traffic moves 10 % → 50 % → 100 %, or back to the
control at once with `rollback`.
"""

import datetime as dt
import json
import secrets
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from homerec.cli.common import ConfigOpt, StoreOpt, console, settings
from homerec.errors import InputError
from homerec.experiments.spec import Experiment, Variant, active_experiment
from homerec.storage import Store, open_store

experiment_app = typer.Typer(help="A/B experiments: create, move traffic, stop, roll back, report.",
                             no_args_is_help=True)  # fmt: skip

NameArg = Annotated[str, typer.Argument(help="Experiment name")]
CONTROL, CANDIDATE = "control", "candidate"


@contextmanager
def _store(store: str | None, config: Path | None) -> Iterator[Store]:
    st = open_store(settings(config, store).store_url)
    try:
        yield st
    finally:
        st.close()


def _all(st: Store) -> dict[str, Experiment]:
    return {row.name: Experiment.from_json(row.spec) for row in st.experiments()}


def _load(st: Store, name: str) -> Experiment:
    """The stored experiment `name`; InputError naming the known ones otherwise."""
    known = _all(st)
    if name not in known:
        raise InputError(f"no experiment {name!r} (known: {', '.join(known) or 'none'})")
    return known[name]


def _save(st: Store, exp: Experiment) -> None:
    st.put_experiment(exp.name, exp.to_json(), exp.status)


def _running(exp: Experiment, action: str) -> None:
    if exp.status != "running":
        raise InputError(f"experiment {exp.name} is {exp.status.replace('_', ' ')}: cannot {action}; "
                         "create a new experiment to try again")  # fmt: skip


def _shares(exp: Experiment) -> str:
    return ", ".join(f"{v.name} {v.share:.0%}" if v.share * 100 == round(v.share * 100) else f"{v.name} {v.share:.2%}"
                     for v in exp.variants)  # fmt: skip


def _when(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _warn_unknown_versions(exp: Experiment, artifact_dir: Path) -> None:
    """A `model:vN` the local registry does not have is worth a warning (servers may have it)."""
    versions = artifact_dir / "versions"
    for v in exp.variants:
        version = v.model_version
        if version not in (None, "active") and versions.is_dir() and not (versions / version).is_dir():
            console.print(f"[yellow]warning: {v.name}: no model version {version} in {artifact_dir}[/]")


@experiment_app.command()
def create(
    name: NameArg,
    candidate: Annotated[str, typer.Option(help="Candidate source: model:vN, model:active or endpoint:URL#ARN")],
    control: Annotated[str, typer.Option(help="Control source")] = "model:active",
    mode: Annotated[str, typer.Option(help="split: users see their variant; shadow: all see the control, "
                                           "the candidate is computed and logged only")] = "split",  # fmt: skip
    traffic: Annotated[float, typer.Option(help="Percent of users in the candidate")] = 10.0,
    salt: Annotated[Optional[str], typer.Option(help="Hash salt (default: random)")] = None,
    guardrail: Annotated[Optional[str], typer.Option(help="Metric whose significant drop calls for a stop "
                                                          "(ctr, conversion, revenue_per_user)")] = None,  # fmt: skip
    timeout_ms: Annotated[int, typer.Option(help="Timeout of endpoint variants before falling back")] = 300,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create and start an experiment: control vs one candidate (only one experiment runs at a time)."""
    if guardrail is not None:
        from homerec.experiments.report import METRICS

        if guardrail not in METRICS:
            raise InputError(f"unknown guardrail metric {guardrail!r}; choose one of {', '.join(METRICS)}")
    variants = (Variant(CONTROL, control, 1.0, timeout_ms), Variant(CANDIDATE, candidate, 0.0, timeout_ms))
    exp = Experiment(name, salt if salt is not None else secrets.token_hex(8), mode, CONTROL,  # type: ignore[arg-type]
                     variants, "running", guardrail, int(time.time())).with_traffic(traffic)  # fmt: skip
    s = settings(config, store)
    with _store(store, config) as st:
        known = _all(st)
        if name in known:
            raise InputError(f"experiment {name} already exists ({known[name].status}); choose another name")
        if running := active_experiment(st.experiments()):
            raise InputError(f"experiment {running.name} is running; stop it first (homerec experiment stop {running.name})")
        _save(st, exp)
    _warn_unknown_versions(exp, s.artifact_dir)
    console.print(f"created {name} ({exp.mode}): {_shares(exp)}")


@experiment_app.command("list")
def list_experiments(store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """Every experiment, oldest first."""
    with _store(store, config) as st:
        rows = st.experiments()
    table = Table("name", "status", "mode", "traffic", "sources", "created", "updated", title="experiments")
    for row in rows:
        exp = Experiment.from_json(row.spec)
        table.add_row(exp.name, exp.status, exp.mode, _shares(exp), escape(", ".join(f"{v.name}={v.source}" for v in exp.variants)),
                      _when(row.created_at), _when(row.updated_at))  # fmt: skip
    console.print(table if rows else "no experiments yet (homerec experiment create NAME --candidate model:vN)")


@experiment_app.command()
def show(name: NameArg, store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """One experiment in full."""
    with _store(store, config) as st:
        exp = _load(st, name)
    console.print(f"{exp.name}: {exp.status}, {exp.mode} mode, control {exp.control}, salt {exp.salt}, "
                  f"guardrail {exp.guardrail or 'none'}, created {_when(exp.created_at)}")  # fmt: skip
    table = Table("variant", "source", "share", "timeout ms")
    for v in exp.variants:
        table.add_row(v.name, escape(v.source), f"{v.share:.2%}", str(v.timeout_ms) if v.endpoint else "")
    console.print(table)


@experiment_app.command("set-traffic")
def set_traffic(
    name: NameArg,
    percent: Annotated[float, typer.Argument(help="Percent of users in the variant (0-100)")],
    variant: Annotated[Optional[str], typer.Option(help="Variant that gets PERCENT (default: the candidate)")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Move traffic (e.g. 10 → 50 → 100); users already in the growing variant stay in it."""
    with _store(store, config) as st:
        exp = _load(st, name)
        _running(exp, "move traffic")
        exp = exp.with_traffic(percent, variant)
        _save(st, exp)
    console.print(f"{name}: {_shares(exp)}")


@experiment_app.command()
def mode(
    name: NameArg,
    new_mode: Annotated[str, typer.Argument(metavar="MODE", help="shadow or split")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Switch between shadow (serve the control, log the candidate) and split."""
    with _store(store, config) as st:
        exp = _load(st, name)
        _running(exp, "change mode")
        exp = exp.in_mode(new_mode)
        _save(st, exp)
    console.print(f"{name} is in {exp.mode} mode: {_shares(exp)}")


@experiment_app.command()
def stop(name: NameArg, store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """Stop the experiment: servers go back to their usual model; the log stays for the report."""
    with _store(store, config) as st:
        exp = _load(st, name)
        if exp.status != "running":
            raise InputError(f"experiment {name} is already {exp.status.replace('_', ' ')}")
        _save(st, exp.stopped())
    console.print(f"{name} stopped")


@experiment_app.command()
def rollback(name: NameArg, store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """Send all traffic back to the control at once and end the experiment."""
    with _store(store, config) as st:
        exp = _load(st, name).rolled_back()
        _save(st, exp)
    console.print(f"{name} rolled back: {_shares(exp)}")


@experiment_app.command()
def report(
    name: NameArg,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the report as JSON")] = None,
    html_out: Annotated[Optional[Path], typer.Option("--html", help="Write the report as HTML")] = None,
    window_hours: Annotated[float, typer.Option(help="Attribution window after an exposure")] = 24.0,
    click_types: Annotated[Optional[str], typer.Option(help="Event types that count as clicks (comma-separated)")] = None,
    purchase_types: Annotated[Optional[str], typer.Option(help="Event types that count as purchases")] = None,
    whole: Annotated[bool, typer.Option(help=(
        "Since the experiment was created (default: since the last traffic or mode change, so no "
        "user counts in two variants)"))] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Per-variant CTR, conversion and revenue with intervals and lifts against the control."""
    from homerec.experiments import attribution
    from homerec.pipeline.experiment_report import build_report, enforce_guardrail

    if window_hours <= 0:
        raise InputError(f"--window-hours must be positive, got {window_hours:g}")

    def types(text: str | None, default: Collection[str]) -> tuple[str, ...]:
        return tuple(default) if text is None else tuple(t.strip() for t in text.split(",") if t.strip())

    with _store(store, config) as st:
        exp, result = build_report(st, name, int(window_hours * 3600),
                                   types(click_types, attribution.DEFAULT_CLICK_TYPES),
                                   types(purchase_types, attribution.DEFAULT_PURCHASE_TYPES), whole)
        reason = enforce_guardrail(st, exp, result)
    for line in result["summary"]:
        console.print(escape(line))
    if reason:
        console.print(f"[red]guardrail {exp.guardrail}: {escape(reason)} — {name} rolled back: "
                      "every user is served the control from now on[/]")
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        console.print(f"report → {json_out}")
    if html_out is not None:
        from homerec.experiments.report_html import render_html

        html_out.write_text(render_html(result), encoding="utf-8")
        console.print(f"report → {html_out}")
