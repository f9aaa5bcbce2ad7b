# SPDX-License-Identifier: Apache-2.0
"""The report of an A/B experiment: per-variant metrics with intervals, lifts, the SRM check.

``experiment_report`` turns the exposure and event logs into a JSON-ready dict (NaN becomes
``None``); ``guardrail_breached`` reads such a dict (fresh or loaded from JSON) and says whether
a candidate is significantly worse than control. Metrics, per variant:

- ``ctr``: served exposures with at least one attributed click / served exposures (a
  proportion; ``clicks`` also gives the raw count of attributed clicks);
- ``conversion``: users with a purchase at or after their first served exposure / users;
- ``revenue_per_user``: sum of ``event_value`` of those purchases per user (zero for users who
  bought nothing).

With the explicit impressions clients report (PutEvents' ``impression``: `Store.impressions`),
each variant also counts ``impressions`` (items its users were shown) and ``impressions_chosen``
(those the event was on): the shown-but-not-chosen signal, beside the exposures homerec logged.

``users`` counts users by the variant they were served; ``assigned_users`` by the variant
assignment gave them, which differs only in shadow mode (everyone is served the control, and the
candidate's lists are computed for its users as shadow exposures). The sample-ratio check
compares ``assigned_users`` with the shares, so it holds in both modes.

The tests treat exposures (CTR) and users (conversion, revenue) as independent units; see
``homerec.experiments.stats`` for the methods.
"""

import datetime as dt
import math
from collections.abc import Collection, Mapping

import numpy as np
import polars as pl

from homerec.data.schema import Col
from homerec.errors import InputError
from homerec.experiments import stats
from homerec.experiments.placements import placement_rows
from homerec.experiments.attribution import (
    ASSIGNED, CLICK, DEFAULT_CLICK_TYPES, DEFAULT_PURCHASE_TYPES, DEFAULT_WINDOW_S, EXPERIMENT, KIND, PURCHASE,
    RECOMMENDATION_ID, VARIANT, Attribution, attribute,
)

METRICS = {"ctr": "CTR", "conversion": "conversion rate", "revenue_per_user": "revenue per user"}
"""Metric keys of the report and their plain names."""


def experiment_report(name: str, exposures: pl.DataFrame, events: pl.DataFrame, shares: Mapping[str, float],
                      control: str, *, click_types: Collection[str] = DEFAULT_CLICK_TYPES,
                      purchase_types: Collection[str] = DEFAULT_PURCHASE_TYPES, window_s: int = DEFAULT_WINDOW_S,
                      since: int | None = None, confidence: float = stats.CONFIDENCE,
                      impressions: pl.DataFrame | None = None) -> dict:
    """The report of experiment ``name`` as a JSON-ready dict.

    Args:
        name: experiment name; only exposures with this ``experiment`` are read.
        exposures: the exposure log (recommendation_id, experiment, variant, user_id, items, ts, served).
        events: the event log (user_id, item_id, ts, event_type, event_value, event_id, recommendation_id).
        shares: expected traffic share per variant (summing to 1); its order is the report's order.
        control: the control variant, a key of ``shares``.
        click_types: event types that are clicks.
        purchase_types: event types that are purchases (conversion and revenue).
        window_s: attribution window of an event to an earlier exposure of the same item.
        since: only exposures and events at or after this epoch second.
        confidence: level of every interval; a lift is "significant" when p < 1 - confidence.
        impressions: reported impressions (`IMPRESSION_COLUMNS`), counted for the variant each user was served.

    Returns:
        ``experiment``, ``control``, ``confidence``, ``since``, ``window_s``, ``period``,
        ``variants`` (variant -> counts, ``metrics`` and ``lift`` vs control, keyed as
        ``METRICS``), ``srm``, ``conflicting_users``, ``timeline``, ``placements`` (CTR, conversion
        and revenue per variant and placement, `homerec.experiments.placements`; empty when no
        exposure has a placement) and ``summary`` (lines of text).
    """
    if control not in shares:
        raise InputError(f"control variant {control!r} is not one of the variants {sorted(shares)}")
    exposures = exposures.filter(pl.col(EXPERIMENT) == name)
    if since is not None:
        exposures = exposures.filter(pl.col(Col.ts) >= since)
        events = events.filter(pl.col(Col.ts) >= since)
    att = attribute(exposures, events, click_types=click_types, purchase_types=purchase_types, window_s=window_s)

    if impressions is not None and since is not None:
        impressions = impressions.filter(pl.col(Col.ts) >= since)
    rows = _variant_rows(att, shares, control, impressions)
    srm = stats.srm_check({v: r["assigned_users"] for v, r in rows.items()}, shares)
    ctrl = rows[control]
    for row in rows.values():
        row["metrics"] = _metrics(row, confidence)
    for v, row in rows.items():
        row["lift"] = None if v == control else _lift(row, ctrl, confidence)
    ts = exposures[Col.ts]
    report = {
        "experiment": name,
        "control": control,
        "confidence": confidence,
        "since": since,
        "window_s": window_s,
        "period": {"start": _clean(ts.min()), "end": _clean(ts.max())},
        "variants": rows,
        "srm": {"chi2": _clean(srm.chi2), "p_value": _clean(srm.p_value), "observed": srm.observed,
                "expected": srm.expected, "mismatch": srm.mismatch, "warning": srm.warning},
        "conflicting_users": {"count": len(att.conflicting_users), "examples": att.conflicting_users[:10]},
        "timeline": _timeline(att.exposures, list(rows)),
        "placements": (placement_rows(att, (VARIANT, Col.placement))
                       if Col.placement in exposures.columns and exposures[Col.placement].is_not_null().any() else []),
    }
    report["summary"] = summary_lines(report)
    return report


def _variant_rows(att: Attribution, shares: Mapping[str, float], control: str,
                  impressions: pl.DataFrame | None = None) -> dict[str, dict]:
    """Counts per variant (control first, then the shares' order, then unexpected variants)."""
    users = att.users.group_by(VARIANT).agg(
        pl.len().alias("users"), pl.col("converted").sum().alias("converters"),
        pl.col("purchases").sum(), pl.col("revenue").sum(), pl.col("revenue").std().alias("revenue_std"))
    shown = att.exposures.group_by(VARIANT).agg(
        pl.len().alias("exposures"), pl.col("clicked").sum().alias("clicked_exposures"), pl.col("clicks").sum())
    ev = att.events.group_by(VARIANT).agg(
        ((pl.col(KIND) == CLICK) & pl.col(RECOMMENDATION_ID).is_null()).sum().alias("unattributed_clicks"),
        ((pl.col(KIND) == PURCHASE) & pl.col(RECOMMENDATION_ID).is_not_null()).sum().alias("attributed_purchases"),
        pl.col(Col.event_value).filter((pl.col(KIND) == PURCHASE) & pl.col(RECOMMENDATION_ID).is_not_null())
        .fill_null(0.0).sum().alias("attributed_revenue"))
    assigned = att.users.group_by(pl.col(ASSIGNED).alias(VARIANT)).agg(pl.len().alias("assigned_users"))
    reported = (impressions if impressions is not None else pl.DataFrame(schema={Col.user_id: pl.String,
                                                                                 Col.chosen: pl.Boolean}))
    seen = reported.join(att.users.select(Col.user_id, VARIANT), on=Col.user_id).group_by(VARIANT).agg(
        pl.len().alias("impressions"), pl.col(Col.chosen).sum().alias("impressions_chosen"))
    table = {}
    for frame in (users, assigned, shown, ev, att.shadow, seen):
        for rec in frame.iter_rows(named=True):
            table.setdefault(rec.pop(VARIANT), {}).update(rec)
    order = [control, *(v for v in shares if v != control), *sorted(v for v in table if v not in shares)]
    zero = {"users": 0, "assigned_users": 0, "exposures": 0, "shadow_exposures": 0, "clicks": 0, "clicked_exposures": 0,
            "unattributed_clicks": 0, "converters": 0, "purchases": 0, "revenue": 0.0,
            "attributed_purchases": 0, "attributed_revenue": 0.0, "revenue_std": None, "impressions": 0,
            "impressions_chosen": 0}
    rows = {}
    for v in order:
        rec = {**zero, **{k: x for k, x in table.get(v, {}).items() if x is not None}}
        rows[v] = {"share": shares.get(v), **{k: rec[k] for k in zero}}
    return rows


def _metrics(row: dict, confidence: float) -> dict[str, dict]:
    """Each metric's value and interval for one variant."""
    n_exp, n_users = row["exposures"], row["users"]
    ctr = stats.proportion_ci(row["clicked_exposures"], n_exp, confidence)
    conv = stats.proportion_ci(row["converters"], n_users, confidence)
    std = row["revenue_std"] if row["revenue_std"] is not None else math.nan
    rpu = row["revenue"] / n_users if n_users else math.nan
    rev = stats.mean_ci(rpu, std, n_users, confidence)
    return {
        "ctr": _entry(row["clicked_exposures"] / n_exp if n_exp else math.nan, ctr),
        "conversion": _entry(row["converters"] / n_users if n_users else math.nan, conv),
        "revenue_per_user": _entry(rpu, rev),
    }


def _entry(value: float, ci: stats.Interval) -> dict:
    return {"value": _clean(value), "ci_low": _clean(ci.low), "ci_high": _clean(ci.high)}


def _lift(row: dict, ctrl: dict, confidence: float) -> dict[str, dict]:
    """Relative lift of a variant over control per metric, with interval and p-value."""
    def std(r):
        return r["revenue_std"] if r["revenue_std"] is not None else math.nan

    def rpu(r):
        return r["revenue"] / r["users"] if r["users"] else math.nan

    out = {}
    for metric, k, n in (("ctr", "clicked_exposures", "exposures"), ("conversion", "converters", "users")):
        kt, nt, kc, nc = row[k], row[n], ctrl[k], ctrl[n]
        lift = stats.relative_lift(kt / nt if nt else math.nan, stats.proportion_se(kt, nt),
                                   kc / nc if nc else math.nan, stats.proportion_se(kc, nc), confidence)
        out[metric] = _lift_entry(row["metrics"][metric]["value"], ctrl["metrics"][metric]["value"], lift,
                                  stats.two_proportion_pvalue(kt, nt, kc, nc), confidence)
    lift = stats.relative_lift(rpu(row), stats.mean_se(std(row), row["users"]),
                               rpu(ctrl), stats.mean_se(std(ctrl), ctrl["users"]), confidence)
    p = stats.welch_pvalue(rpu(row), std(row), row["users"], rpu(ctrl), std(ctrl), ctrl["users"])
    out["revenue_per_user"] = _lift_entry(_clean(rpu(row)), _clean(rpu(ctrl)), lift, p, confidence)
    return out


def _lift_entry(value: float | None, control: float | None, lift: stats.Lift, p: float, confidence: float) -> dict:
    diff = value - control if value is not None and control is not None else None
    p = _clean(p)
    return {"value": _clean(lift.value), "ci_low": _clean(lift.low), "ci_high": _clean(lift.high),
            "difference": diff, "p_value": p, "significant": p is not None and p < 1 - confidence}


def _timeline(served: pl.DataFrame, variants: list[str]) -> dict:
    """Served exposures per hour (spans up to 3 days) or per day, per variant, zeros filled."""
    if served.is_empty():
        return {"bucket_s": 86400, "start": [], "exposures": {v: [] for v in variants}}
    lo, hi = served[Col.ts].min(), served[Col.ts].max()
    step = 3600 if hi - lo <= 3 * 86400 else 86400
    first = lo // step * step
    counts = (served.group_by(VARIANT, bucket=(pl.col(Col.ts) - first) // step).agg(pl.len()))
    series = {v: np.zeros((hi - first) // step + 1, dtype=np.int64) for v in variants}
    for v, b, n in counts.iter_rows():
        series[v][b] = n
    return {"bucket_s": step, "start": [first + i * step for i in range(len(series[variants[0]]))],
            "exposures": {v: s.tolist() for v, s in series.items()}}


def _clean(x):
    """A JSON-ready number: numpy scalars become Python ones, NaN becomes None."""
    if x is None:
        return None
    x = x.item() if hasattr(x, "item") else x
    return None if isinstance(x, float) and not math.isfinite(x) else x


def fmt_metric(metric: str, value: float | None) -> str:
    """A metric value as text: rates in percent, revenue with two decimals."""
    if value is None:
        return "n/a"
    return f"{value:.2f}" if metric == "revenue_per_user" else f"{value:.2%}"


def fmt_lift(entry: dict) -> str:
    """A lift entry as ``+12.3% (95% CI +4.0% to +20.6%), p = 0.003``."""
    if entry["value"] is None:
        return "lift n/a" + (f", p = {entry['p_value']:.2g}" if entry["p_value"] is not None else "")
    ci = f"CI {entry['ci_low']:+.1%} to {entry['ci_high']:+.1%}" if entry["ci_low"] is not None else "CI n/a"
    p = "n/a" if entry["p_value"] is None else ("< 0.001" if entry["p_value"] < 0.001 else f"= {entry['p_value']:.3f}")
    return f"{entry['value']:+.1%} ({ci}), p {p}"


def summary_lines(report: dict) -> list[str]:
    """Plain-language lines: the SRM warning first, then sizes, then each candidate's verdicts."""
    lines = []
    if report["srm"]["warning"]:
        lines.append(report["srm"]["warning"])
    rows, control = report["variants"], report["control"]
    period = report["period"]
    if period["start"] is None:
        return [*lines, f"Experiment {report['experiment']}: no served exposures yet."]
    when = " to ".join(dt.datetime.fromtimestamp(period[k], dt.UTC).strftime("%Y-%m-%d %H:%M") for k in ("start", "end"))
    lines.append(f"Experiment {report['experiment']}: "
                 + ", ".join(f"{v} {r['users']} users / {r['exposures']} exposures"
                             + (f" (+{r['shadow_exposures']} shadow)" if r["shadow_exposures"] else "")
                             for v, r in rows.items()) + f", {when} UTC.")
    if any(r["impressions"] for r in rows.values()):
        lines.append("Reported impressions chosen: " + ", ".join(
            f"{v} {r['impressions_chosen']} of {r['impressions']}" for v, r in rows.items()) + ".")
    if report["conflicting_users"]["count"]:
        lines.append(f"{report['conflicting_users']['count']} users were served more than one variant and are "
                     "left out of every metric (assignment should make this impossible).")
    for p in report.get("placements", []):
        lines.append(f"{p[VARIANT]} on placement {p[Col.placement] or '(none)'}: {p['exposures']} lists, "
                     f"CTR {fmt_metric('ctr', p['ctr'])}, conversion {fmt_metric('conversion', p['conversion'])}, "
                     f"revenue {p['revenue']:.2f}.")
    level = f"{report['confidence']:.0%}"
    for v, row in rows.items():
        if v == control:
            continue
        if not row["users"]:
            lines.append(f"{v} ran in shadow only: {row['shadow_exposures']} lists computed for "
                         f"{row['assigned_users']} users, none shown, so there is nothing to compare."
                         if row["shadow_exposures"] else f"{v} has no served users yet.")
            continue
        for metric, label in METRICS.items():
            e = row["lift"][metric]
            verdict = "no significant difference"
            if e["significant"] and e["difference"] is not None:
                verdict = "significantly " + ("better" if e["difference"] > 0 else "worse")
            lines.append(f"{v} vs {control}, {label}: {fmt_metric(metric, row['metrics'][metric]['value'])} vs "
                         f"{fmt_metric(metric, rows[control]['metrics'][metric]['value'])}, "
                         f"lift {fmt_lift(e).replace('CI', level + ' CI', 1)}: {verdict}.")
    return lines


def guardrail_breached(report: dict, metric: str = "conversion", alpha: float = 0.01) -> str | None:
    """Why the experiment should stop: a non-control variant significantly worse on ``metric``, else None."""
    if metric not in METRICS:
        raise InputError(f"unknown guardrail metric {metric!r}; choose one of {', '.join(METRICS)}")
    control, reasons = report["control"], []
    for v, row in report["variants"].items():
        e = row["lift"][metric] if v != control else None
        if e is None or e["p_value"] is None or e["difference"] is None:
            continue
        if e["difference"] < 0 and e["p_value"] < alpha:
            ctrl = report["variants"][control]["metrics"][metric]["value"]
            reasons.append(f"{v} is significantly worse than {control} on {METRICS[metric]}: "
                           f"{fmt_metric(metric, row['metrics'][metric]['value'])} vs {fmt_metric(metric, ctrl)} "
                           f"(lift {fmt_lift(e)}, threshold p < {alpha:g})")
    return "; ".join(reasons) or None
