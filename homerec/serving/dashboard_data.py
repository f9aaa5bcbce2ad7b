# SPDX-License-Identifier: Apache-2.0
"""What the dashboard shows, as plain JSON-ready dicts: models, cache, event rate, experiments, history.

Free of HTTP; `homerec.serving.dashboard` calls these from its routes and caches the answers.
"""

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import polars as pl

from homerec.data.schema import Col
from homerec.errors import HomerecError
from homerec.models.registry import VersionInfo
from homerec.serving.metrics import Metrics
from homerec.storage.base import Store

T = TypeVar("T")

RATE_WINDOW_S = 3600
RECENT_S = 300


class TTLCache:
    """Values computed at most once per `ttl_s` seconds per key (longer for slow computations).

    A value that took `t` seconds to compute is kept for `max(ttl_s, 10 t)`, so an open
    dashboard never keeps the store busy more than a tenth of the time. One computation runs
    at a time; concurrent readers wait for it instead of repeating it.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        """The cached value of `key`, or `compute()` when it is missing or expired."""
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and time.monotonic() < hit[0]:
                return hit[1]
            started = time.monotonic()
            value = compute()
            done = time.monotonic()
            self._values[key] = (done + max(self.ttl_s, 10 * (done - started)), value)
            return value


def models_summary(infos: Sequence[VersionInfo]) -> list[dict[str, Any]]:
    """Registered versions, newest first, with their offline metrics and the active marker.

    `validation_ndcg` is the version's own model's validation NDCG@10 (the hybrid's for a
    hybrid); `parts` holds every model the training compared, by name.
    """
    out = []
    for info in reversed(infos):
        m = info.meta
        parts = {k: _finite(v) for k, v in (m.get("validation_ndcg") or {}).items()}
        out.append({
            "version": info.version, "active": info.active, "model": m.get("model"),
            "created_at": m.get("created_at"), "trained_until": m.get("trained_until"),
            "n_users": m.get("n_users"), "n_items": m.get("n_items"), "n_interactions": m.get("n_interactions"),
            "train_seconds": m.get("train_seconds"),
            "validation_ndcg": parts.get(m.get("model") or "", parts.get("hybrid")),
            "parts": parts,
        })
    return out


def _finite(value: Any) -> float | None:
    """A float for JSON, None for NaN, infinities and non-numbers."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def event_rate(frame: pl.DataFrame, now: int) -> dict[str, Any]:
    """Events of the last hour (by event time) from an `interactions(since=now - 3600)` frame.

    Returns:
        `last_hour`, `last_5min`, `per_minute` (60 counts, oldest minute first, the current one
        last) and `by_type` (the last hour's count per event type, largest first).
    """
    age = now - frame[Col.ts].to_numpy().astype(np.int64)
    in_window = (age >= 0) & (age < RATE_WINDOW_S)
    minutes = RATE_WINDOW_S // 60
    per_minute = np.bincount(minutes - 1 - age[in_window] // 60, minlength=minutes)
    types = frame.filter(pl.Series(in_window))[Col.event_type].fill_null("").value_counts(sort=True)
    return {
        "last_hour": int(in_window.sum()),
        "last_5min": int(((age >= 0) & (age < RECENT_S)).sum()),
        "per_minute": [int(n) for n in per_minute],
        "by_type": {str(t): int(n) for t, n in types.iter_rows()},
    }


def answers_by_source(metrics: Metrics) -> dict[str, int]:
    """Ranked lists this process has served since it started, by source (cache, model, fallback)."""
    out: dict[str, int] = {}
    for family in metrics.registry.collect():
        if family.name != "homerec_answers":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                source = sample.labels["source"]
                out[source] = out.get(source, 0) + int(sample.value)
    return out


def cache_freshness(store: Store, active: str | None) -> list[dict[str, Any]]:
    """The recommendation cache per namespace; `current` says whether it holds the active version's lists."""
    out = []
    for row in store.cache_freshness():
        versions = list(row.get("model_versions") or ())
        out.append({**row, "model_versions": versions, "current": active is not None and versions == [active]})
    return out


def user_history(frame: pl.DataFrame, n: int) -> list[dict[str, Any]]:
    """A user's newest `n` events (newest first) from a `Store.history` frame."""
    recent = frame.tail(n).reverse()
    return [
        {"item_id": r[Col.item_id], "ts": r[Col.ts], "event_type": r[Col.event_type],
         "event_value": _finite(r[Col.event_value])}
        for r in recent.select(Col.item_id, Col.ts, Col.event_type, Col.event_value).iter_rows(named=True)
    ]


def experiments_summary(store: Store, now: int) -> dict[str, Any]:
    """Every experiment (oldest first) with its status, mode, traffic split and live report.

    The report is `homerec.experiments.report.experiment_report` over the experiment's
    exposures and the events since its first exposure, with the default click and purchase
    types and attribution window (as `homerec experiment report` without options);
    `guardrail_breach` says why a variant breaches the experiment's guardrail, if it does. A
    spec or report that cannot be read gives `error` instead, so one broken experiment does
    not hide the others.
    """
    from homerec.experiments.report import (  # scipy: on first use only
        experiment_report,
        guardrail_breached,
    )
    from homerec.experiments.spec import Experiment

    out = []
    for row in store.experiments():
        entry: dict[str, Any] = {"name": row.name, "status": row.status, "created_at": row.created_at,
                                 "updated_at": row.updated_at, "mode": None, "control": None, "variants": [],
                                 "report": None, "guardrail": None, "guardrail_breach": None, "error": None}
        try:
            exp = Experiment.from_json(row.spec)
            entry.update(status=exp.status, mode=exp.mode, control=exp.control,
                         created_at=exp.created_at or row.created_at, guardrail=exp.guardrail,
                         variants=[{"name": v.name, "share": v.share, "source": v.source,
                                    "model": _source_label(v.source, v.model_version)} for v in exp.variants])
            since = exp.period_start or None  # the current allocation, as `experiment report`
            exposures = store.exposures(row.name, since=since)
            first = exposures[Col.ts].min() if exposures.height else None
            events = store.attributable_events(int(first) if first is not None else now + 1)  # type: ignore[arg-type]
            report = experiment_report(row.name, exposures, events, exp.shares, exp.control, since=since)
            entry["report"] = report
            if exp.guardrail:
                entry["guardrail_breach"] = guardrail_breached(report, exp.guardrail)
        except HomerecError as err:
            entry["error"] = str(err)
        out.append(entry)
    return {"now": now, "experiments": out}


PLACEMENT_WINDOW_S = 7 * 86400


def placements_summary(store: Store, configured: Sequence[str], now: int) -> dict[str, Any]:
    """Lists, users, CTR, conversion and revenue per placement over the last `PLACEMENT_WINDOW_S` seconds
    (`homerec.experiments.placements`, default click and purchase types and window): every configured
    placement (zeros when it served nothing yet), then any other that served lists in the window."""
    from homerec.experiments.placements import placement_report  # polars joins: on first use only

    since = now - PLACEMENT_WINDOW_S
    exposures = store.placement_exposures(since=since)
    rows = {r[Col.placement]: r for r in placement_report(exposures, store.attributable_events(since))} \
        if exposures.height else {}
    empty = {"exposures": 0, "users": 0, "clicks": 0, "ctr": None, "purchases": 0, "conversion": None,
             "revenue": 0.0, "revenue_per_exposure": None}
    names = [*configured, *sorted(set(rows) - set(configured))]
    out = [{**empty, **rows.get(name, {}), Col.placement: name, "configured": name in configured} for name in names]
    return {"now": now, "since": since, "placements": [{k: _clean_float(v) for k, v in r.items()} for r in out]}


def _clean_float(value: Any) -> Any:
    return _finite(value) if isinstance(value, float) else value


def _source_label(source: str, model_version: str | None) -> str:
    """`model v3`, `active model` or the endpoint's host, for the legend."""
    if model_version == "active":
        return "active model"
    if model_version is not None:
        return f"model {model_version}"
    return source.removeprefix("endpoint:").split("#", 1)[0]


def user_experiment(store: Store, user_id: str) -> dict[str, Any] | None:
    """The running experiment's variant for this user (served, and shadow-computed), or None."""
    from homerec.experiments.assign import route
    from homerec.experiments.spec import active_experiment

    try:
        exp = active_experiment(store.experiments())
    except HomerecError:
        return None
    if exp is None:
        return None
    r = route(exp, user_id)
    return {"name": exp.name, "mode": exp.mode, "served": r.served, "shadow": r.shadow,
            "source": exp.variant(r.served).source}
