# SPDX-License-Identifier: Apache-2.0
"""An experiment's report from the store, and the guardrail that rolls a losing candidate back."""

from collections.abc import Collection

from homerec.errors import InputError
from homerec.experiments import attribution
from homerec.experiments.report import experiment_report, guardrail_breached
from homerec.experiments.spec import Experiment, active_experiment
from homerec.storage.base import Store

DAY_S = 86_400


def load_experiment(store: Store, name: str) -> Experiment:
    """The stored experiment called `name`; InputError naming the known ones otherwise."""
    rows = {Experiment.from_json(row.spec).name: row for row in store.experiments()}
    if name not in rows:
        known = ", ".join(sorted(rows)) or "none"
        raise InputError(f"no experiment named {name!r} (known: {known})")
    return Experiment.from_json(rows[name].spec)


def build_report(
    store: Store, name: str, window_s: int = DAY_S, click_types: Collection[str] | None = None,
    purchase_types: Collection[str] | None = None, whole: bool = False,
) -> tuple[Experiment, dict]:
    """The experiment and its report over the current allocation (since the last traffic or mode
    change), or since it was created (`whole`)."""
    exp = load_experiment(store, name)
    since = exp.created_at if whole else exp.period_start
    exposures = store.exposures(name, since=since)
    events = store.attributable_events(since=since)
    report = experiment_report(
        name, exposures, events, exp.shares, exp.control,
        click_types=tuple(click_types or attribution.DEFAULT_CLICK_TYPES),
        purchase_types=tuple(purchase_types or attribution.DEFAULT_PURCHASE_TYPES),
        window_s=window_s, since=since, impressions=store.impressions(since),
    )  # fmt: skip
    return exp, report


def enforce_guardrail(store: Store, exp: Experiment, report: dict) -> str | None:
    """Roll `exp` back when it runs, has a guardrail, and a candidate is significantly worse on it.

    Returns:
        The reason when it was rolled back, else None. Servers route everyone to the control
        on their next reload (a couple of seconds), no restart needed.
    """
    if exp.status != "running" or not exp.guardrail:
        return None
    reason = guardrail_breached(report, exp.guardrail)
    if reason is None:
        return None
    rolled = exp.rolled_back()
    store.put_experiment(rolled.name, rolled.to_json(), rolled.status)
    return reason


def check_running_guardrail(store: Store) -> str:
    """The scheduler's guardrail job: report on the running experiment and enforce its guardrail."""
    exp = active_experiment(store.experiments())
    if exp is None:
        return "no experiment is running"
    if not exp.guardrail:
        return f"{exp.name} has no guardrail"
    _, report = build_report(store, exp.name)
    reason = enforce_guardrail(store, exp, report)
    return f"{exp.name} rolled back by its {exp.guardrail} guardrail: {reason}" if reason else f"{exp.name}: {exp.guardrail} holds"
