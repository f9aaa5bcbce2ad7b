# SPDX-License-Identifier: Apache-2.0
"""Distributor benchmark: buy again, basket completion and segments, homerec against tuned peers.

Usage::

    python -m bench.distributor [--datasets completejourney-sample,generated] [--scale 1.0]
                                [--protocols buy-again,basket,segments] [--out bench/out/distributor.json]

Per data set (completejourney-sample from its `personalize-orders/` folder, which has ORDER_ID
and QUANTITY; the generated reference data at `--scale`): the temporal split of the shared
protocol, then for each protocol of `benchmark-protocol.md` every peer tuned on the validation
split of train and scored on test, and homerec as `homerec train` fits it (the tuned hybrid,
then the re-order, basket or segment model learned on the same validation split). Writes the
JSON to `--out` and its Markdown section next to it; progress goes to stderr.
"""

from bench import common  # first: unsets OpenBLAS variables before numpy loads  # isort: skip

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.basket_peers import BASKET_PEERS
from bench.buy_again_peers import BUY_AGAIN_PEERS
from bench.segment_peers import SEGMENT_PEERS

TARGET = 1.05
PROTOCOLS = {"buy-again": "NDCG@10", "basket": "HR@10", "segments": "Precision@100"}
DATASETS = ("completejourney-sample", common.GENERATED)


def _timed(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one contender; a failure is recorded, not raised."""
    started = time.perf_counter()
    try:
        out = run()
    except Exception as exc:  # noqa: BLE001 - one failing contender must not sink the run
        common.log(f"  {name} FAILED: {exc!r}\n{traceback.format_exc()}")
        return {"error": repr(exc)}
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["metrics"] = {m: round(float(v), 6) for m, v in out["metrics"].items()}
    common.log(f"  {name}: {out['metrics']} {out.get('best_params', '')} ({out['seconds']} s)")
    return out


def buy_again(split: Any, features: Any) -> dict[str, Any]:
    """Peers, homerec's buy-again blend, and the unmasked hybrid (what `batch --include-seen` gave before)."""
    from homerec.evaluation.blend import fit_tuned_hybrid
    from homerec.evaluation.buy_again import fit_reorder, reorder_lists, tune_and_score

    fitted: dict[str, Any] = {}

    def homerec(task: Any, feats: Any, params: dict[str, Any], k: int) -> Any:
        fitted["hybrid"] = fit_tuned_hybrid(task.train, feats)
        return reorder_lists(fit_reorder(task.train, fitted["hybrid"], feats, progress=common.log), task, k)

    def unmasked(task: Any, feats: Any, params: dict[str, Any], k: int) -> Any:
        return fitted["hybrid"].recommend_batch(task.users, task.train.to_csr()[task.users], k)[0]

    peers = {n: _timed(n, lambda f=f, g=g: tune_and_score(f, g, split, features)) for n, (f, g) in BUY_AGAIN_PEERS.items()}
    ours = {"reorder": _timed("homerec reorder", lambda: tune_and_score(homerec, [{}], split, features))}
    if "hybrid" in fitted:
        ours["hybrid, nothing masked"] = _timed("hybrid, nothing masked", lambda: tune_and_score(unmasked, [{}], split, features))
    return {"peers": peers, "homerec": ours}


def basket(split: Any) -> dict[str, Any]:
    """Peers, homerec's basket model with the customer's history, and with the cart alone."""
    from homerec.evaluation.basket import complete_task, fit_basket, tune_and_score
    from homerec.models.basket import SIGNALS

    def homerec(signals: tuple[str, ...]) -> Callable[..., Any]:
        def complete(task: Any, params: dict[str, Any], k: int) -> Any:
            return complete_task(fit_basket(task.train, progress=common.log, signals=signals), task, k)
        return complete

    peers = {n: _timed(n, lambda f=f, g=g: tune_and_score(f, g, split)) for n, (f, g) in BASKET_PEERS.items()}
    cart_only = tuple(s for s in SIGNALS if s != "habits")
    ours = {"basket": _timed("homerec basket", lambda: tune_and_score(homerec(SIGNALS), [{}], split)),
            "basket, cart only": _timed("homerec basket, cart only", lambda: tune_and_score(homerec(cart_only), [{}], split))}
    return {"peers": peers, "homerec": ours}


def segments(split: Any, categories: Any, attributes: Any) -> dict[str, Any]:
    """Peers (the category peer on the CATEGORY column) and homerec's segment model (every attribute column)."""
    from homerec.evaluation.segments import fit_segments, model_scores, tune_and_score

    def homerec(task: Any, params: dict[str, Any]) -> Any:
        return model_scores(fit_segments(task.train, attributes, progress=common.log), task)

    peers = {n: _timed(n, lambda f=f, g=g: tune_and_score(f, g, split, categories)) for n, (f, g) in SEGMENT_PEERS.items()}
    return {"peers": peers, "homerec": {"segments": _timed("homerec segments", lambda: tune_and_score(homerec, [{}], split, categories))}}


def run_dataset(name: str, scale: float, seed: int, protocols: list[str]) -> dict[str, Any]:
    """Every protocol on one data set, as JSON-ready data."""
    from homerec.evaluation import item_features, temporal_split
    from homerec.models.segments import attribute_matrices, category_matrix

    started = time.perf_counter()
    common.log(f"== {name}")
    ds = common.load_dataset(name, scale=scale, seed=seed, layout="personalize-orders")
    data = ds.interactions
    split = temporal_split(data, 0.9)
    out: dict[str, Any] = {"n_interactions": len(data), "n_users": data.n_users, "n_items": data.n_items,
                           "n_baskets": int(data.baskets().max()) + 1, "has_order_ids": data.order is not None}
    if name == common.GENERATED:
        out["scale"], out["seed"] = scale, seed
    if "buy-again" in protocols:
        out["buy-again"] = buy_again(split, item_features(ds))
    if "basket" in protocols:
        out["basket"] = basket(split)
    if "segments" in protocols:
        catalog = ds.items.rename({"ITEM_ID": "item_id"}) if ds.items is not None else None
        out["segments"] = segments(split, category_matrix(catalog, data.items), attribute_matrices(catalog, data.items))
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


# ---- Markdown -----------------------------------------------------------------------------------

COLUMNS = {
    "buy-again": ("NDCG@10", "HR@10", "Recall@10", "Coverage@10", "TopItemShare@10"),
    "basket": ("HR@10", "MRR@10", "Coverage@10", "TopItemShare@10"),
    "segments": ("Precision@100", "Recall@100", "CustomerCoverage", "TopCustomerShare"),
}
TITLES = {"buy-again": "Buy again (repeats included)", "basket": "Basket completion",
          "segments": "Segments (likeliest new buyers of a product)"}
HEADLINE = {"buy-again": "reorder", "basket": "basket", "segments": "segments"}
"""The homerec contender each target is measured on."""


def _params(p: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (p or {}).items())


def verdict(section: dict[str, Any], protocol: str) -> tuple[str, float, float, float] | None:
    """(best peer, its value, homerec's value, ratio) on the protocol's metric, or None."""
    metric = PROTOCOLS[protocol]
    ran = [(n, e["metrics"][metric]) for n, e in section["peers"].items() if "metrics" in e]
    ours = section["homerec"].get(HEADLINE[protocol], {})
    if not ran or "metrics" not in ours:
        return None
    name, best = max(ran, key=lambda t: t[1])
    value = ours["metrics"][metric]
    return name, best, value, value / best if best > 0 else float("inf")


def distributor_markdown(results: dict[str, Any]) -> str:
    """The BENCHMARKS.md section: one table per protocol and data set, each with its verdict."""
    meta = results.get("meta", {})
    lines = ["## Distributor protocols: buy again, basket completion, segments", "",
             f"Command: `{meta.get('command', 'python -m bench.distributor')}` ({meta.get('seconds', '?')} s; "
             f"{meta.get('cpus')} CPUs, {meta.get('threads', 2)} BLAS threads; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset "
             "for the benchmark process only). Protocols: `benchmark-protocol.md` (buy-again, basket-completion and "
             "segment sections); every peer tuned on the validation split of train in the same run; homerec as "
             f"`homerec train` fits it. Target: homerec ≥ {TARGET:.2f} × the best tuned peer. Breadth stands beside "
             "accuracy: catalog (or customer) coverage and the share of list slots taken by the most listed item "
             "(or of segments holding the most listed customer). `hybrid, nothing masked` is what `homerec batch "
             "--include-seen` listed before the re-order model; `basket` completes a cart with the customer's "
             "history (the optional user of a basket request), `basket, cart only` without it. The generated data's "
             "re-orders follow per customer-product intervals with jitter (`homerec/synth/reorders.py`), which the "
             "re-order model's due dates read and the peers do not.", ""]
    for protocol, metric in PROTOCOLS.items():
        lines += [f"### {TITLES[protocol]}: {metric}", ""]
        for name, ds in results.get("datasets", {}).items():
            section = ds.get(protocol) if isinstance(ds, dict) else None
            if section is None:
                continue
            size = f"{ds['n_interactions']:,} lines, {ds['n_users']:,} users, {ds['n_items']:,} items"
            lines += [f"**{name}** ({size}{', scale ' + str(ds['scale']) if 'scale' in ds else ''}):", "",
                      "| contender | side | " + " | ".join(COLUMNS[protocol]) + " | tuned params | s |",
                      "|---|---|" + "---:|" * len(COLUMNS[protocol]) + "---|---:|"]
            for side in ("peers", "homerec"):
                for who, e in section[side].items():
                    if "metrics" not in e:
                        lines.append(f"| {who} | {side[:-1] if side == 'peers' else side} | error: {e.get('error')} |")
                        continue
                    cells = " | ".join(f"{e['metrics'].get(c, float('nan')):.4f}" for c in COLUMNS[protocol])
                    lines.append(f"| {who} | {'peer' if side == 'peers' else 'homerec'} | {cells} | "
                                 f"{_params(e.get('best_params'))} | {e.get('seconds', '')} |")
            v = verdict(section, protocol)
            if v:
                ok = "meets" if v[3] >= TARGET else "**misses**"
                lines += ["", f"Best peer: {v[0]} ({v[1]:.4f}); homerec {HEADLINE[protocol]} {v[2]:.4f}: "
                              f"{v[3]:.3f} × ({ok} the ≥ {TARGET:.2f} × target)."]
            lines.append("")
    return "\n".join(lines)


# ---- CLI ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.distributor", description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--protocols", default=",".join(PROTOCOLS))
    ap.add_argument("--scale", type=float, default=1.0, help="scale of the generated data set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/distributor.json"))
    args = ap.parse_args(argv)
    protocols = [p for p in args.protocols.split(",") if p]
    if unknown := [p for p in protocols if p not in PROTOCOLS]:
        ap.error(f"unknown protocol(s) {unknown}; known: {', '.join(PROTOCOLS)}")
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": {**common.machine_note(), "command": "python -m bench.distributor " + " ".join(
        sys.argv[1:] if argv is None else argv), "protocol": "/work/shared/benchmark-protocol.md"}, "datasets": {}}
    for name in [d for d in args.datasets.split(",") if d]:
        try:
            results["datasets"][name] = run_dataset(name, args.scale, args.seed, protocols)
        except (ImportError, FileNotFoundError, OSError) as exc:
            common.log(f"== {name}: not run: {exc!r}")
            results["datasets"][name] = {"error": repr(exc)}
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    common.write_results(results, args.out, distributor_markdown)
    return results


if __name__ == "__main__":
    main()
