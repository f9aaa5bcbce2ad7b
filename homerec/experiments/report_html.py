# SPDX-License-Identifier: Apache-2.0
"""The experiment report as a self-contained HTML page (inline matplotlib PNGs, Jinja2 template).

It reads only the dict of ``homerec.experiments.report.experiment_report``, so a report saved
as JSON can be rendered again later.
"""

import base64
import datetime as dt
import io
from pathlib import Path

import numpy as np

from homerec.experiments.report import METRICS, fmt_lift, fmt_metric

TEMPLATE = "report.html.j2"
CONTROL_COLOR = "#8c8c8c"


def _png(fig) -> str:
    """A matplotlib figure as a base64 PNG data URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _colors(variants: list[str], control: str) -> dict[str, str]:
    palette = iter(f"C{i}" for i in range(100))
    return {v: CONTROL_COLOR if v == control else next(palette) for v in variants}


def _metric_plot(report: dict) -> str:
    """One panel per metric: a bar per variant with its confidence interval as whiskers."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    variants = list(report["variants"])
    colors = _colors(variants, report["control"])
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.4))
    for ax, (metric, label) in zip(np.atleast_1d(axes), METRICS.items(), strict=True):
        entries = [report["variants"][v]["metrics"][metric] for v in variants]
        vals = np.array([e["value"] if e["value"] is not None else np.nan for e in entries], dtype=float)
        low = np.array([e["ci_low"] if e["ci_low"] is not None else np.nan for e in entries], dtype=float)
        high = np.array([e["ci_high"] if e["ci_high"] is not None else np.nan for e in entries], dtype=float)
        err = np.nan_to_num(np.vstack([vals - low, high - vals]))
        ax.bar(range(len(variants)), np.nan_to_num(vals), yerr=err, capsize=6,
               color=[colors[v] for v in variants])
        ax.set_xticks(range(len(variants)), variants, rotation=20 if len(variants) > 3 else 0)
        ax.set_title(f"{label} ({report['confidence']:.0%} CI)", fontsize="medium")
        if metric != "revenue_per_user":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    fig.tight_layout()
    return _png(fig)


def _timeline_plot(report: dict) -> str | None:
    """Served exposures per hour or day and variant; None when there are none."""
    import matplotlib.pyplot as plt

    tl = report["timeline"]
    if not tl["start"]:
        return None
    edges = [*tl["start"], tl["start"][-1] + tl["bucket_s"]]  # the last bucket gets its width too
    x = [dt.datetime.fromtimestamp(t, dt.UTC) for t in edges]
    colors = _colors(list(tl["exposures"]), report["control"])
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for v, counts in tl["exposures"].items():
        ax.step(x, [*counts, counts[-1]], where="post", label=v, color=colors[v], linewidth=1.6)
    ax.set_ylabel("served exposures per " + ("hour" if tl["bucket_s"] == 3600 else "day"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)


def render_html(report: dict, title: str | None = None) -> str:
    """The report page as an HTML string."""
    import jinja2
    import matplotlib

    matplotlib.use("Agg")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    env.filters["metric"] = lambda value, metric: fmt_metric(metric, value)
    env.filters["lift"] = lambda entry: fmt_lift(entry) if entry else "control"
    env.filters["utc"] = lambda ts: ("n/a" if ts is None
                                     else dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return env.get_template(TEMPLATE).render(
        title=title or f"homerec experiment: {report['experiment']}",
        r=report,
        metrics=METRICS,
        plots={"metrics": _metric_plot(report), "timeline": _timeline_plot(report)},
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_html(report: dict, path: str | Path, title: str | None = None) -> Path:
    """Write the report page to ``path`` (parents created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, title), encoding="utf-8")
    return path
