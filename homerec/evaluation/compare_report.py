# SPDX-License-Identifier: Apache-2.0
"""The comparison report: a plain-language verdict, a table for the CLI and an HTML page with plots.

Everything is drawn from the JSON-ready dict `homerec.pipeline.compare.run_compare` returns
(its `a`, `b` and `pair` parts come from `homerec.evaluation.compare.compare_topk`).
"""

import datetime as dt
from pathlib import Path

import numpy as np

ACCURACY = ("HR", "Precision", "NDCG")
CLOSE = 0.10
"""Two accuracy figures within 10% of each other read as 'about the same'."""


def _name(result: dict, key: str) -> str:
    return f"{key.upper()} ({result[key]['source']['label']})" if "source" in result[key] else key.upper()


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def _declared(source: dict) -> str:
    """What the source itself says about its fallback lists, as a parenthesis (or nothing)."""
    share = source.get("declared_fallback_share")
    if not share:
        return ""
    if source.get("kind") == "model":
        return (f" (the model itself served its popularity fallback to {share:.0%} of these users: "
                "they have no history before the cut-off)")
    return f" (the endpoint marked {share:.0%} of the lists 'Popular item')"


def verdict(result: dict) -> list[str]:
    """Plain sentences, most important first: fallback or not, agreement, accuracy, reach."""
    k, lines = result["k"], []
    flagged = {key: result[key]["fallback_suspected"] for key in "ab"}
    for key in "ab":
        side = result[key]
        if flagged[key]:
            reasons = "; ".join(side["fallback_evidence"]["reasons"])
            lines.append(f"{_name(result, key)} looks like a popularity fallback, not personalised "
                         f"recommendations: {reasons}{_declared(side.get('source', {}))}.")
        else:
            p = side["personalization"]
            lines.append(f"{_name(result, key)} personalises: different users get different lists"
                         + (f" (personalization {p:.2f} of 1)." if p is not None else "."))
    pair = result["pair"]
    if pair["overlap_at_k"] is not None:
        lines.append(f"The two agree on {pair['overlap_at_k']:.0%} of a user's top-{k} on average "
                     f"(Jaccard {pair['jaccard_at_k']:.2f}, rank-biased overlap {pair['rbo']:.2f}) "
                     f"over {result['n_users']:,} users.")
    acc = [result[key]["accuracy"] for key in "ab"]
    if acc[0] and acc[0]["n_users"]:
        hr = f"HR@{k}"
        ha, hb = acc[0][hr], acc[1][hr]
        line = (f"On what {acc[0]['n_users']:,} of these users bought since {result.get('since_date') or 'the cut-off'}, "
                f"A's lists held at least one of their purchases for {ha:.1%} of them, B's for {hb:.1%}")
        best = max(ha, hb)
        if best == 0 or abs(ha - hb) <= CLOSE * best:
            lines.append(line + ": about the same.")
        else:
            winner, loser = ("A", hb) if ha > hb else ("B", ha)
            lines.append(line + (f": {winner} does {best / loser:.1f}× as well." if loser > 0
                                 else f": only {winner} finds any."))
    cov = [result[key]["catalog_coverage"] for key in "ab"]
    if None not in cov:
        lines.append(f"A recommends {result['a']['distinct_items']:,} distinct products ({cov[0]:.1%} of the "
                     f"catalog), B {result['b']['distinct_items']:,} ({cov[1]:.1%}).")
    return lines


def summary_rows(result: dict) -> list[tuple[str, str, str]]:
    """(metric, A, B) rows of strings for the CLI table."""
    k, a, b = result["k"], result["a"], result["b"]
    rows = [("source", *(s.get("source", {}).get("spec", "") for s in (a, b))),
            ("fallback suspected", str(a["fallback_suspected"]), str(b["fallback_suspected"])),
            ("users with a list", f"{a['n_users_with_list']:,}", f"{b['n_users_with_list']:,}"),
            ("same-list share", *(_fmt(s["fallback_evidence"]["most_common_list_share"], ".1%") for s in (a, b))),
            ("zero-score share", *(_fmt(s["fallback_evidence"]["zero_score_share"], ".1%") for s in (a, b))),
            ("personalization", _fmt(a["personalization"]), _fmt(b["personalization"])),
            ("top-10 products' share of slots", _fmt(a.get("top10_share"), ".1%"), _fmt(b.get("top10_share"), ".1%")),
            ("novelty (bits)", _fmt(a.get("novelty"), ".2f"), _fmt(b.get("novelty"), ".2f")),
            ("category diversity", _fmt(a.get("diversity")), _fmt(b.get("diversity"))),
            ("mean popularity rank", *(_fmt(s["popularity_bias"]["mean_popularity_rank"], ".1f") for s in (a, b))),
            ("catalog coverage", _fmt(a["catalog_coverage"], ".1%"), _fmt(b["catalog_coverage"], ".1%"))]
    if a["accuracy"]:
        rows += [(f"{m}@{k}", _fmt(a["accuracy"][f"{m}@{k}"], ".4f"), _fmt(b["accuracy"][f"{m}@{k}"], ".4f"))
                 for m in ACCURACY]
    return rows


def _plots(result: dict) -> dict[str, str]:
    """Score histograms, the overlap distribution and metric bars, as PNG data URIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from homerec.evaluation.report import _png

    k, plots = result["k"], {}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    for ax, key, color in zip(axes, "ab", ("tab:blue", "tab:orange")):
        hist = result[key]["scores"].get("histogram")
        ax.set_title(_name(result, key), fontsize="small")
        if hist:
            edges = np.asarray(hist["edges"])
            ax.bar(edges[:-1], hist["counts"], width=np.diff(edges), align="edge", color=color)
            ax.set_xlabel("score of a recommended item")
        else:
            ax.text(0.5, 0.5, "no scores given", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
        ax.set_ylabel("recommendations")
    plots["scores"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 3.2))
    dist = np.asarray(result["pair"]["shared_items_distribution"], dtype=float)
    ax.bar(np.arange(len(dist)), dist / max(dist.sum(), 1.0), color="tab:green")
    ax.set_xticks(np.arange(len(dist)))
    ax.set_xlabel(f"items both top-{k} lists share")
    ax.set_ylabel("share of users")
    plots["overlap"] = _png(fig)

    groups = {f"{m}@{k}": [(result[s]["accuracy"] or {}).get(f"{m}@{k}") for s in "ab"] for m in ACCURACY}
    groups |= {"personalization": [result[s]["personalization"] for s in "ab"],
               "catalog coverage": [result[s]["catalog_coverage"] for s in "ab"],
               "top-10 products' share": [result[s].get("top10_share") for s in "ab"],
               "category diversity": [result[s].get("diversity") for s in "ab"],
               "same-list share": [result[s]["fallback_evidence"]["most_common_list_share"] for s in "ab"],
               f"overlap with top-{k} popular": [result[s]["fallback_evidence"]["popular_top_k_overlap"] for s in "ab"]}
    groups = {name: v for name, v in groups.items() if None not in v}
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = np.arange(len(groups))
    for j, key in enumerate("ab"):
        ax.bar(x + (j - 0.5) * 0.38, [v[j] for v in groups.values()], 0.38, label=_name(result, key))
    ax.set_xticks(x, list(groups), rotation=20, ha="right", fontsize="small")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="small")
    plots["metrics"] = _png(fig)
    return plots


def write_compare_html(result: dict, path: str | Path, title: str | None = None) -> Path:
    """Write the self-contained comparison page (verdict first, inline PNG plots) and return its path."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    html = env.get_template("compare.html.j2").render(
        title=title or "homerec: comparison of two recommenders",
        r=result, names={key: result[key].get("source", {}).get("label", key.upper()) for key in "ab"},
        rows=summary_rows(result),
        lines=result.get("verdict") or verdict(result), plots=_plots(result),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
