# SPDX-License-Identifier: Apache-2.0
"""Quality benchmark: tuned peers vs homerec's models on the shared protocol.

Usage::

    python -m bench.quality [--datasets ml-100k,ml-latest-small,completejourney-sample,generated]
                            [--out bench/out/quality.json] [--scale 1.0] [--peers-only]

Per data set: temporal split (0.9 quantile); each peer tuned on the validation split of train
(grid in ``bench.peers.PEERS``), refit on train and scored on the evaluation users; then every
homerec model with default params and the tuned hybrid (``fit_tuned_hybrid``). Writes JSON to
``--out`` and the Markdown tables (``quality_markdown``) next to it; progress goes to stderr.
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
TARGET_RATIO_MOVIELENS = 1.0
POPULARITY_PEER = "popularity"


def _metrics(model_result: Any) -> dict[str, Any]:
    out = {m: round(float(v), 6) for m, v in model_result.metrics.items()}
    out["fit_seconds"] = round(float(model_result.fit_seconds), 3)
    out["cold_share"] = round(float(model_result.cold_share), 4)
    return out


def run_peers(split: Any, features: Any, n_items: int, names: list[str]) -> dict[str, dict[str, Any]]:
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
            res = evaluate({name: fitter(cls, best)}, split, features, k=K, dataset="").models[name]
        except Exception as exc:  # noqa: BLE001 - one failing peer must not sink the run
            common.log(f"  peer {name} FAILED: {exc!r}\n{traceback.format_exc()}")
            out[name] = {"error": repr(exc)}
            continue
        out[name] = {**_metrics(res), "best_params": best, "tune_seconds": round(tune_s, 2),
                     "validation": [{"params": p, METRIC: round(s, 6)} for p, s in scored]}
        common.log(f"  peer {name}: {METRIC} {res.metrics[METRIC]:.4f} {best} "
                   f"(tune {tune_s:.1f} s, fit {res.fit_seconds:.2f} s)")
    return out


def homerec_fitters() -> dict[str, Any]:
    """homerec's models tuned exactly as `homerec evaluate` tunes them, the hybrid last."""
    from homerec.models.hybrid import DEFAULT_PARTS
    from homerec.pipeline.evaluate import homerec_fitters as fitters

    return fitters([*DEFAULT_PARTS, "hybrid"], has_features=True, k=K, progress=common.log)


def run_homerec(split: Any, features: Any) -> dict[str, dict[str, Any]]:
    """Evaluate homerec's models one by one (a failure is recorded, not raised)."""
    from homerec.evaluation import evaluate

    out: dict[str, dict[str, Any]] = {}
    for name, fit in homerec_fitters().items():
        try:
            res = evaluate({name: fit}, split, features, k=K, dataset="").models[name]
        except Exception as exc:  # noqa: BLE001
            common.log(f"  homerec {name} FAILED: {exc!r}\n{traceback.format_exc()}")
            out[name] = {"error": repr(exc)}
            continue
        out[name] = _metrics(res)
        common.log(f"  homerec {name}: {METRIC} {res.metrics[METRIC]:.4f} (fit {res.fit_seconds:.2f} s)")
    return out


def run_dataset(name: str, scale: float, seed: int, peers: list[str], with_homerec: bool) -> dict[str, Any]:
    """Everything for one data set, as JSON-ready data."""
    from homerec.evaluation import eval_users, item_features, temporal_split

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
    result["peers"] = run_peers(split, features, n_active, peers)
    result["peer_seconds"] = round(time.perf_counter() - t1, 1)
    if with_homerec:
        t2 = time.perf_counter()
        result["homerec"] = run_homerec(split, features)
        result["homerec_seconds"] = round(time.perf_counter() - t2, 1)
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
    """Hybrid / best-peer NDCG@10 to reach: 1.05, or 1.0 on the two MovieLens sets."""
    return TARGET_RATIO_MOVIELENS if dataset in common.MOVIELENS else TARGET_RATIO


def _fmt(v: float | None, digits: int = 4) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _params(p: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in (p or {}).items())


def quality_markdown(results: dict[str, Any]) -> str:
    """A Markdown section: one table per data set, the best peer, the hybrid target, popularity checks."""
    lines = ["## Quality (NDCG@10, temporal holdout)", ""]
    meta = results.get("meta", {})
    if meta:
        lines += [f"Command: `{meta.get('command', 'python -m bench.quality')}`; "
                  f"{meta.get('threads', 2)} threads; {meta.get('cpus')} CPUs.", ""]
    for name, ds in results.get("datasets", {}).items():
        if "error" in ds:
            lines += [f"### {name}", "", f"Not run: {ds['error']}", ""]
            continue
        lines += [f"### {name}", "",
                  f"{ds['n_interactions']:,} interactions, {ds['n_users']:,} users, {ds['n_items']:,} catalog items "
                  f"({ds.get('n_active_items', ds['n_items']):,} with events); "
                  f"{ds['n_eval_users']:,} evaluation users; {ds['seconds']} s in all.", ""]
        pop = _ndcg(ds.get("peers", {}).get(POPULARITY_PEER, {}))
        lines += ["| model | side | NDCG@10 | HR@10 | Recall@10 | fit s | params | below popularity? |",
                  "|---|---|---:|---:|---:|---:|---|---|"]
        for side in ("peers", "homerec"):
            for model, e in ds.get(side, {}).items():
                v = _ndcg(e)
                if v is None:
                    note = e.get("not_run") or f"error: {e.get('error')}"
                    lines.append(f"| {model} | {side[:-1] if side == 'peers' else side} | {note} | | | | | |")
                    continue
                below = "" if side == "peers" or pop is None else ("**yes**" if v < pop else "no")
                lines.append(
                    f"| {model} | {'peer' if side == 'peers' else 'homerec'} | {_fmt(v)} | {_fmt(e.get('HR@10'))} "
                    f"| {_fmt(e.get('Recall@10'))} | {_fmt(e.get('fit_seconds'), 2)} | {_params(e.get('best_params'))} "
                    f"| {below} |")
        lines.append("")
        bp = best_peer(ds)
        hyb = _ndcg(ds.get("homerec", {}).get("hybrid", {}))
        want = target_ratio(name)
        if bp:
            lines.append(f"- Best peer: {bp[0]} ({bp[1]:.4f}).")
        if bp and hyb is not None and bp[1] > 0:
            ratio = hyb / bp[1]
            verdict = "meets" if ratio >= want else "**misses**"
            lines.append(f"- Hybrid / best peer: {ratio:.3f} (target ≥ {want:.2f}): {verdict} the target.")
        elif bp:
            lines.append("- Hybrid / best peer: no hybrid result.")
        ours = [(m, v) for m, e in ds.get("homerec", {}).items() if (v := _ndcg(e)) is not None]
        if bp and ours and bp[1] > 0:
            top = max(ours, key=lambda t: t[1])
            lines.append(f"- Best homerec model: {top[0]} ({top[1]:.4f}), {top[1] / bp[1]:.3f} × the best peer.")
        below = [m for m, e in ds.get("homerec", {}).items()
                 if pop is not None and (v := _ndcg(e)) is not None and v < pop]
        if pop is not None and "homerec" in ds:
            lines.append(f"- homerec models below peer popularity ({pop:.4f}): {', '.join(below) or 'none'}.")
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
