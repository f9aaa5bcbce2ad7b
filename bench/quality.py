# SPDX-License-Identifier: Apache-2.0
"""Quality benchmark: tuned peers vs homerec's models on the shared protocol.

Usage::

    python -m bench.quality [--datasets ml-100k,ml-latest-small,completejourney-sample,generated]
                            [--out bench/out/quality.json] [--scale 1.0] [--peers-only]

Per data set: temporal split (0.9 quantile); each peer tuned on the validation split of train
(grid in ``bench.peers.PEERS``), refit on train and scored on the evaluation users; then every
homerec model tuned as `homerec evaluate` tunes it and the hybrid (``fit_tuned_hybrid``), all in
the same run. Beside NDCG: the beyond-accuracy metrics of every row, the hybrid against its
best part (paired bootstrap over the evaluation users), and where the catalogue is past EASE's
dense limit the train time of homerec's EASE against implicit's ALS (median of 3). Writes JSON
to ``--out`` and the Markdown tables (``quality_markdown``) next to it; progress goes to stderr.
"""

from bench import common  # first: unsets OpenBLAS variables before numpy loads  # isort: skip

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.peers import PEERS, PeerEASE, fitter

K = 10
METRIC = f"NDCG@{K}"
TARGET_RATIO = 1.05
TARGET_COVERAGE_RATIO = 0.8
TARGET_TOP_SHARE = 0.2
TARGET_TRAIN_RATIO = 3.0
POPULARITY_PEER = "popularity"
BREADTH_COLUMNS = ("Coverage", "TopShare", "Overlap", "Novelty", "Diversity")


def _metrics(model_result: Any) -> dict[str, Any]:
    out = {m: None if v is None else round(float(v), 6) for m, v in model_result.metrics.items()}
    out["fit_seconds"] = round(float(model_result.fit_seconds), 3)
    out["cold_share"] = round(float(model_result.cold_share), 4)
    return out


def run_peers(split: Any, features: Any, n_items: int, names: list[str], categories: Any = None,
              lists: dict | None = None) -> dict[str, dict[str, Any]]:
    """Tune each peer on validation, refit on train, evaluate.

    EASE is 'not run' when the data set's interactions hold more than 10,000 distinct items
    (`n_items`; catalog items without any event do not count).
    """
    from homerec.evaluation import evaluate, grid_search

    out: dict[str, dict[str, Any]] = {}
    for name in names:
        cls, grid = PEERS[name]
        if cls is PeerEASE and (reason := PeerEASE.skip_reason(n_items)):
            common.log(f"  peer {name}: {reason}")
            out[name] = {"not_run": reason}
            continue
        t0 = time.perf_counter()
        try:
            if len(grid) > 1:
                best, scored = grid_search(lambda p, c=cls: fitter(c, p), grid, split.train, features, k=K, metric=METRIC)
            else:
                best, scored = dict(grid[0]), []
            tune_s = time.perf_counter() - t0
            res = evaluate({name: fitter(cls, best)}, split, features, k=K, dataset="", categories=categories).models[name]
            if lists is not None:
                lists[f"peer:{name}"] = res.rec_idx
        except Exception as exc:  # noqa: BLE001 - one failing peer must not sink the run
            common.log(f"  peer {name} FAILED: {exc!r}\n{traceback.format_exc()}")
            out[name] = {"error": repr(exc)}
            continue
        out[name] = {**_metrics(res), "best_params": best, "tune_seconds": round(tune_s, 2),
                     "validation": [{"params": p, METRIC: round(s, 6)} for p, s in scored]}
        common.log(f"  peer {name}: {METRIC} {res.metrics[METRIC]:.4f} {best} "
                   f"(tune {tune_s:.1f} s, fit {res.fit_seconds:.2f} s)")
    return out


def homerec_fitters(has_features: bool = True) -> dict[str, Any]:
    """homerec's models tuned exactly as `homerec evaluate` tunes them, the hybrid last."""
    from homerec.models.hybrid import DEFAULT_PARTS
    from homerec.pipeline.evaluate import homerec_fitters as fitters

    return fitters([*DEFAULT_PARTS, "hybrid"], has_features=has_features, k=K, progress=common.log)


def run_homerec(split: Any, features: Any, categories: Any = None, lists: dict | None = None) -> dict[str, dict[str, Any]]:
    """Evaluate homerec's models one by one (a failure is recorded, not raised)."""
    from homerec.evaluation import evaluate

    out: dict[str, dict[str, Any]] = {}
    for name, fit in homerec_fitters(features is not None).items():
        try:
            result = evaluate({name: fit}, split, features, k=K, dataset="", categories=categories)
            res = result.models[name]
        except Exception as exc:  # noqa: BLE001
            common.log(f"  homerec {name} FAILED: {exc!r}\n{traceback.format_exc()}")
            out[name] = {"error": repr(exc)}
            continue
        out[name] = {**_metrics(res), **result.models_meta.get(name, {})}
        if lists is not None:
            lists[name] = res.rec_idx
        common.log(f"  homerec {name}: {METRIC} {res.metrics[METRIC]:.4f} (fit {res.fit_seconds:.2f} s)")
    return out


def versus_best_part(split: Any, homerec: dict[str, Any], lists: dict) -> dict[str, Any] | None:
    """The hybrid against homerec's best other model on the test users: paired bootstrap of NDCG@10.

    The best part is the most accurate one whose lists meet the breadth target (top-10 share
    <= 20 %), the region the hybrid is held to; the best one overall is named beside it.
    """
    from homerec.evaluation import eval_users, ground_truth
    from homerec.evaluation.bootstrap import paired_difference
    from homerec.evaluation.metrics import ndcg_per_user

    ran = {n: e[METRIC] for n, e in homerec.items() if n != "hybrid" and isinstance(e.get(METRIC), float) and n in lists}
    broad = {n: v for n, v in ran.items() if (homerec[n].get(f"TopShare@{K}") or 1.0) <= TARGET_TOP_SHARE}
    if "hybrid" not in lists or not ran:
        return None
    best = max(broad or ran, key=(broad or ran).get)
    overall = max(ran, key=ran.get)
    truth = ground_truth(split, eval_users(split))
    diff = paired_difference(ndcg_per_user(lists["hybrid"], truth, K), ndcg_per_user(lists[best], truth, K))
    return {"part": best, "part_top_share": homerec[best].get(f"TopShare@{K}"), "best_overall": overall,
            "best_overall_ndcg": ran[overall], **diff.to_json()}


def linear_timing(split: Any, n_active: int, repeats: int = 3) -> dict[str, Any] | None:
    """Past EASE's dense limit: homerec's (sparse) EASE fit against implicit's ALS fit, median seconds."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from homerec.models.ease import EASE

    ease = EASE()
    if n_active <= ease.max_items:
        return None
    X = split.train.to_csr()

    def als() -> None:
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(factors=64, iterations=15, num_threads=common.THREADS, random_state=0,
                                    calculate_training_loss=False).fit(X, show_progress=False)

    ease_s = common.median_seconds(lambda: EASE().fit(split.train), repeats)
    als_s = common.median_seconds(als, repeats)
    return {"ease_seconds": round(ease_s, 3), "implicit_als_seconds": round(als_s, 3), "ratio": round(ease_s / als_s, 3),
            "target_ratio": TARGET_TRAIN_RATIO, "ease": f"EASE(regularization={ease.regularization:g}, "
            f"neighbours={ease.neighbours}, hubs={ease.hubs}) fit incl. calibration", "als": "implicit ALS, 64 factors, 15 iterations"}


def run_dataset(name: str, scale: float, seed: int, peers: list[str], with_homerec: bool) -> dict[str, Any]:
    """Everything for one data set, as JSON-ready data."""
    from homerec.data import schema
    from homerec.evaluation import eval_users, item_features, temporal_split
    from homerec.evaluation.categories import category_matrix

    t0 = time.perf_counter()
    common.log(f"== {name}")
    ds = common.load_dataset(name, scale=scale, seed=seed)
    data = ds.interactions
    features = item_features(ds)
    split = temporal_split(data, 0.9)
    n_eval = len(eval_users(split))
    common.log(f"  {len(data):,} interactions, {data.n_users:,} users, {data.n_items:,} items; "
               f"{n_eval} evaluation users (load {time.perf_counter() - t0:.1f} s)")
    result: dict[str, Any] = {
        "n_interactions": len(data), "n_users": data.n_users, "n_items": data.n_items,
        "n_train_items": int((data.item_counts() > 0).sum()), "cutoff": split.cutoff,
        "n_eval_users": n_eval, "k": K,
    }
    if name == common.GENERATED:
        result["scale"], result["seed"] = scale, seed
    t1 = time.perf_counter()
    n_active = int((data.item_counts() > 0).sum())
    result["n_active_items"] = n_active
    categories = category_matrix(ds.items, data.items.ids.tolist(), schema.ITEM_ID)
    lists: dict = {}
    result["peers"] = run_peers(split, features, n_active, peers, categories, lists)
    result["peer_seconds"] = round(time.perf_counter() - t1, 1)
    if with_homerec:
        t2 = time.perf_counter()
        result["homerec"] = run_homerec(split, features, categories, lists)
        result["homerec_seconds"] = round(time.perf_counter() - t2, 1)
        result["hybrid_vs_best_part"] = versus_best_part(split, result["homerec"], lists)
        result["linear_timing"] = linear_timing(split, int((split.train.item_counts() > 0).sum()))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    common.log(f"  {name} done in {result['seconds']} s")
    return result


# ---- Markdown -----------------------------------------------------------------------------------

def _ndcg(entry: dict[str, Any]) -> float | None:
    return entry.get(METRIC) if isinstance(entry.get(METRIC), (int, float)) else None


def best_peer(ds: dict[str, Any]) -> tuple[str, float] | None:
    """The peer with the highest NDCG@10 among those that ran."""
    ran = [(n, v) for n, e in ds.get("peers", {}).items() if (v := _ndcg(e)) is not None]
    return max(ran, key=lambda t: t[1]) if ran else None


def target_ratio(dataset: str) -> float:
    """Hybrid / best-peer NDCG@10 to reach (issue 12: 1.05 on every data set)."""
    return TARGET_RATIO


def _fmt(v: float | None, digits: int = 4) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _params(p: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in (p or {}).items())


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _table(ds: dict[str, Any]) -> list[str]:
    """One row per peer and homerec model: accuracy, breadth, fit time, params."""
    pop = _ndcg(ds.get("peers", {}).get(POPULARITY_PEER, {}))
    lines = ["| model | side | NDCG@10 | HR@10 | Coverage@10 | top-10 share | overlap | novelty | diversity "
             "| fit s | params | below popularity? |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for side in ("peers", "homerec"):
        for model, e in ds.get(side, {}).items():
            v = _ndcg(e)
            label = "peer" if side == "peers" else "homerec"
            if v is None:
                note = e.get("not_run") or f"error: {e.get('error')}"
                lines.append(f"| {model} | {label} | {note} | | | | | | | | | |")
                continue
            below = "" if side == "peers" or pop is None else ("**yes**" if v < pop else "no")
            breadth = " | ".join(_fmt(e.get(f"{m}@{K}"), 2 if m == "Novelty" else (3 if m != "Coverage" else 4))
                                 for m in BREADTH_COLUMNS)
            lines.append(f"| {model} | {label} | {_fmt(v)} | {_fmt(e.get('HR@10'))} | {breadth} "
                         f"| {_fmt(e.get('fit_seconds'), 2)} | {_params(e.get('best_params'))} | {below} |")
    return lines


def most_accurate_peer(ds: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The peer with the highest NDCG@10 and its entry."""
    bp = best_peer(ds)
    return (bp[0], ds["peers"][bp[0]]) if bp else None


def _targets(name: str, ds: dict[str, Any]) -> list[str]:
    """The issue's targets for one data set, each with its verdict."""
    lines = []
    bp = most_accurate_peer(ds)
    hyb = ds.get("homerec", {}).get("hybrid", {})
    v = _ndcg(hyb)
    if bp is None or v is None:
        return ["- Targets: no hybrid or no peer result."]
    peer_ndcg, peer_cov = bp[1][METRIC], bp[1].get(f"Coverage@{K}") or 0.0
    ratio = v / peer_ndcg if peer_ndcg > 0 else float("inf")
    lines.append(f"- Most accurate peer: {bp[0]} (NDCG@10 {peer_ndcg:.4f}, Coverage@10 {peer_cov:.4f}, "
                 f"top-10 share {_fmt(bp[1].get(f'TopShare@{K}'), 3)}).")
    lines.append(f"- Hybrid NDCG@10 / best peer: {ratio:.3f} (target ≥ {target_ratio(name):.2f}): "
                 f"{_verdict(ratio >= target_ratio(name))}.")
    vs = ds.get("hybrid_vs_best_part")
    if vs:
        lines.append(f"- Hybrid − its best part within the breadth target ({vs['part']}, top-10 share "
                     f"{_fmt(vs.get('part_top_share'), 3)}): {vs['mean']:+.4f}, 95% bootstrap interval "
                     f"{vs['low']:+.4f} to {vs['high']:+.4f} over {vs['n_users']:,} users (target: not below, the "
                     f"interval reaches 0 or above): {_verdict(vs['high'] >= 0)}."
                     + ("" if vs.get("best_overall") in (None, vs["part"]) else
                        f" The most accurate part overall is {vs['best_overall']} ({vs['best_overall_ndcg']:.4f}), "
                        "outside the breadth target."))
    cov = hyb.get(f"Coverage@{K}") or 0.0
    lines.append(f"- Hybrid Coverage@10 {cov:.4f} vs 0.8 × the most accurate peer's ({TARGET_COVERAGE_RATIO * peer_cov:.4f}): "
                 f"{_verdict(cov >= TARGET_COVERAGE_RATIO * peer_cov)}; top-10 products' share of slots "
                 f"{hyb.get(f'TopShare@{K}', 0.0):.1%} (target ≤ {TARGET_TOP_SHARE:.0%}): "
                 f"{_verdict(hyb.get(f'TopShare@{K}', 1.0) <= TARGET_TOP_SHARE)}.")
    decision = (hyb.get("blend") or {}).get("decision") or {}
    if decision:
        lines.append(f"- Served model: {decision.get('reason')}.")
    timing = ds.get("linear_timing")
    if timing:
        lines.append(f"- Linear model past 6,000 items: {timing['ease']} {timing['ease_seconds']:.2f} s vs "
                     f"{timing['als']} {timing['implicit_als_seconds']:.2f} s (median of 3, 2 threads): "
                     f"{timing['ratio']:.2f}× (target ≤ {timing['target_ratio']:g}×): "
                     f"{_verdict(timing['ratio'] <= timing['target_ratio'])}.")
    return lines


def quality_markdown(results: dict[str, Any]) -> str:
    """A Markdown section: per data set one table (accuracy and breadth) and the issue's targets."""
    lines = ["## Quality (NDCG@10 and breadth, temporal holdout)", ""]
    meta = results.get("meta", {})
    if meta:
        lines += [f"Command: `{meta.get('command', 'python -m bench.quality')}`; "
                  f"{meta.get('threads', 2)} threads; {meta.get('cpus')} CPUs. Peers and homerec rows of a data set "
                  "come from one run. Coverage@10: distinct recommended items / catalogue; top-10 share: share of all "
                  "slots held by the ten most recommended items; overlap: mean share of two users' lists in common; "
                  "novelty: mean −log2(share of train users with the item), bits; diversity: mean category distance "
                  "(1 − Jaccard) of two items in a list (– without a category column).", ""]
    for name, ds in results.get("datasets", {}).items():
        if "error" in ds:
            lines += [f"### {name}", "", f"Not run: {ds['error']}", ""]
            continue
        lines += [f"### {name}", "",
                  f"{ds['n_interactions']:,} interactions, {ds['n_users']:,} users, {ds['n_items']:,} catalog items "
                  f"({ds.get('n_active_items', ds['n_items']):,} with events); "
                  f"{ds['n_eval_users']:,} evaluation users; {ds['seconds']} s in all.", ""]
        lines += _table(ds)
        lines.append("")
        if "homerec" in ds:
            lines += _targets(name, ds)
        lines.append("")
    return "\n".join(lines)


# ---- CLI ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(common.REAL_DATASETS),
                    help="comma-separated: " + ", ".join((*common.REAL_DATASETS, common.GENERATED)))
    ap.add_argument("--out", default="bench/out/quality.json", type=Path)
    ap.add_argument("--scale", type=float, default=1.0, help="scale of the generated data set")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated data set")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ", ".join(PEERS))
    ap.add_argument("--peers-only", action="store_true", help="skip homerec's models")
    args = ap.parse_args(argv)

    peers = [p for p in args.peers.split(",") if p]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; known: {', '.join(PEERS)}")
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": {**common.machine_note(), "k": K, "protocol": "/work/shared/benchmark-protocol.md",
                                        "command": "python -m bench.quality " + " ".join(sys.argv[1:] if argv is None else argv)},
                               "datasets": {}}
    for name in [d for d in args.datasets.split(",") if d]:
        try:
            results["datasets"][name] = run_dataset(name, args.scale, args.seed, peers, not args.peers_only)
        except (ImportError, FileNotFoundError, OSError) as exc:
            common.log(f"== {name}: not run: {exc!r}")
            results["datasets"][name] = {"error": repr(exc)}
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = quality_markdown(results)
    args.out.with_suffix(".md").write_text(md + "\n")
    print(md)
    common.log(f"wrote {args.out} and {args.out.with_suffix('.md')} ({results['meta']['seconds']} s)")
    return results


if __name__ == "__main__":
    main()
