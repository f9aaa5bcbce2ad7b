# SPDX-License-Identifier: Apache-2.0
"""Evaluation reports: a table for the CLI and a self-contained HTML page with plots."""

import base64
import datetime as dt
import io
from pathlib import Path

import numpy as np

from homerec.evaluation.evaluate import EvalResult
from homerec.evaluation.metrics import BREADTH_NAMES, METRIC_NAMES

BAR_METRICS = ("NDCG", "HR", "Recall", "MAP")
HEAD_SHARE = 0.2
"""The most popular fifth of the catalog (by train events) counts as the 'head'."""


def format_table(result: EvalResult) -> list[list[str]]:
    """Rows of strings: a header row, then one row per model (metrics, fit seconds, cold share)."""
    names = [f"{m}@{result.k}" for m in (*METRIC_NAMES, *BREADTH_NAMES)]
    rows = [["model", *names, "fit s", "fallback users"]]
    for model, r in result.models.items():
        rows.append([model, *(_cell(r.metrics.get(n)) for n in names), f"{r.fit_seconds:.2f}", f"{r.cold_share:.1%}"])
    return rows


def _cell(value: float | None) -> str:
    """A metric for a table: 4 decimals, or '–' when it was not measured."""
    return "–" if value is None else f"{value:.4f}"


def popularity_percentile(item_popularity: np.ndarray) -> np.ndarray:
    """Per item, the percentage of catalog items with fewer train events (ties count half)."""
    from scipy.stats import rankdata

    n = len(item_popularity)
    if n == 0:
        return np.zeros(0)
    return 100.0 * (rankdata(item_popularity, method="average") - 0.5) / n


def popularity_bias(result: EvalResult) -> dict[str, dict[str, float]]:
    """Per model: mean popularity percentile of recommended items and their share in the head."""
    pct = popularity_percentile(result.item_popularity)
    head = pct >= 100.0 * (1.0 - HEAD_SHARE)
    out = {}
    for name, r in result.models.items():
        items = r.rec_idx[r.rec_idx >= 0]
        out[name] = {
            "mean_percentile": float(pct[items].mean()) if len(items) else float("nan"),
            "head_share": float(head[items].mean()) if len(items) else float("nan"),
            "distinct_items": int(len(np.unique(items))),
        }
    return out


def _png(fig) -> str:
    """A matplotlib figure as a base64 PNG data URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(result: EvalResult) -> dict[str, str]:
    """The report's figures as data URIs, keyed by section."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k, models = result.k, list(result.models)
    width = 0.8 / max(len(models), 1)
    plots = {}

    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(BAR_METRICS))
    for j, name in enumerate(models):
        vals = [result.models[name].metrics.get(f"{m}@{k}", 0.0) for m in BAR_METRICS]
        ax.bar(x + (j - (len(models) - 1) / 2) * width, vals, width, label=name)
    ax.set_xticks(x, [f"{m}@{k}" for m in BAR_METRICS])
    ax.set_ylabel("mean over evaluation users")
    ax.legend(fontsize="small")
    plots["metrics"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 3.8))
    for name in models:
        s = result.models[name].rec_scores
        s = s[np.isfinite(s)]
        if len(s):
            ax.hist(s, bins=40, histtype="step", linewidth=1.5, label=name)
    ax.set_xlabel(f"raw score of the top-{k} items (each model has its own scale)")
    ax.set_ylabel("recommendations")
    ax.legend(fontsize="small")
    plots["scores"] = _png(fig)

    pct = popularity_percentile(result.item_popularity)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for name in models:
        idx = result.models[name].rec_idx
        p = np.sort(pct[idx[idx >= 0]])
        if len(p):
            ax.step(p, np.arange(1, len(p) + 1) / len(p), where="post", label=f"{name} (mean {p.mean():.1f})")
    ax.set_xlabel("train-popularity percentile of recommended items (100 = most popular)")
    ax.set_ylabel("share of recommendations (CDF)")
    ax.set_xlim(0, 100)
    ax.legend(fontsize="small", loc="upper left")
    plots["popularity"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.45 * max(len(models), 1)))
    cov = [result.models[n].metrics.get(f"Coverage@{k}", 0.0) for n in models]
    ax.barh(models, cov)
    ax.set_xlim(0, max(max(cov, default=0.0) * 1.15, 0.01))
    ax.set_xlabel(f"catalog coverage of all top-{k} lists ({result.n_items} items)")
    plots["coverage"] = _png(fig)
    for name, blend in _blends(result).items():
        plots[f"tradeoff_{name}"] = _tradeoff(blend, k)
    return plots


def _blends(result: EvalResult) -> dict[str, dict]:
    """The blend reports (`BlendReport.to_json`) of the models that have one, by model name."""
    return {name: meta["blend"] for name, meta in result.models_meta.items() if meta.get("blend", {}).get("curve")}


def _tradeoff(blend: dict, k: int) -> str:
    """Validation NDCG against coverage of the best blend under each breadth setting, as a PNG data URI."""
    import matplotlib.pyplot as plt

    pts = blend["curve"]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.plot([p["coverage"] for p in pts], [p["ndcg"] for p in pts], "-o", color="tab:blue")
    for p in pts:
        ax.annotate(f"≤{p['max_item_share']:.0%} / ×{p['min_coverage_ratio']:g}", (p["coverage"], p["ndcg"]),
                    textcoords="offset points", xytext=(4, 4), fontsize="x-small")
    chosen = blend["breadth"]
    ax.axvline(chosen["min_coverage"], color="tab:red", linestyle=":", label="configured minimum coverage")
    ax.set_xlabel(f"validation Coverage@{k} (labels: max item share / min coverage ratio)")
    ax.set_ylabel(f"validation NDCG@{k}")
    ax.legend(fontsize="small")
    return _png(fig)


def write_html(result: EvalResult, path: str | Path, title: str | None = None) -> Path:
    """Write a self-contained HTML report (inline PNG plots) and return its path."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    rows = format_table(result)
    html = env.get_template("report.html.j2").render(
        title=title or f"homerec evaluation: {result.dataset or 'data set'}",
        result=result,
        header=rows[0],
        rows=rows[1:],
        bias=popularity_bias(result),
        head_share=HEAD_SHARE,
        plots=_plots(result),
        blends=_blends(result),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
