# SPDX-License-Identifier: Apache-2.0
"""Exploration's cost and benefit in an A/B run of the simulator: one variant explores, the other does not.

Run: python -m bench.exploration [--scale 0.05] [--requests 3000] [--weight 0.3] [--out bench/out/exploration.json]

Generated data (its hidden tastes decide clicks) is imported and the hybrid trained once; each
variant then gets its own copy of the store and registry and its own server (`create_app` on
uvicorn, in this process): `control` without exploration, `explore` with explorationWeight
`--weight`. Young products are those launched in the last `--cutoff` days of the data.

1. *Serve*: `homerec simulate` (the same users, the same click seed) against each server; the
   clicks and purchases land in each variant's store.
2. *Retrain*: each variant's model is retrained on its own store (the data plus what its users
   clicked and bought), as the weekly schedule would.
3. *After retraining*: simulate again (new seed); both variants keep their exploration setting.

Per variant and phase: CTR, the click model's expected CTR (low noise), purchases and revenue per
list, the share of shown items that are young products, and the clicks on young products
(what the next model learns new products from). Each figure stands beside the control's from
the same run. Exploration's pool is re-read every 5 s here (`exploration_refresh_s`; default 60)
so that ignored impressions act within the run. The cut-off follows the data: after retraining
on the simulated events (dated now), the same products are young (the cut-off grows by the gap).
"""

from bench import common  # noqa: F401  (unsets OPENBLAS_* before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import polars as pl  # noqa: E402

from bench.common import log, machine_note  # noqa: E402
from homerec.models.registry import Registry  # noqa: E402
from homerec.pipeline.train import train  # noqa: E402
from homerec.serving.exploration import creation_seconds  # noqa: E402
from homerec.settings import Settings  # noqa: E402
from homerec.storage import import_folder, open_store  # noqa: E402
from homerec.synth.generate import generate  # noqa: E402
from homerec.synth.simulate import simulate  # noqa: E402
from tests.live import serve_app  # noqa: E402

COMMAND = "python -m bench.exploration"
TITLE = "## Exploration of new products (simulated A/B, issue 11 point 4)"
VARIANTS = ("control", "explore")
DAY_S = 86_400


def _trained_until(artifacts: Path) -> int:
    registry = Registry(artifacts)
    return int(registry.info(registry.active()).meta["trained_until"])


def prepare(work: Path, scale: float, seed: int) -> Path:
    """Generate, import and train once into work/base; the folder."""
    base = work / "base"
    if (base / "done").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    log(f"generating scale {scale}")
    generate(base / "data", scale=scale, seed=seed)
    store = open_store(f"sqlite:///{base / 'homerec.db'}")
    try:
        import_folder(store, base / "data", base / "rejects")
        log("training")
        train(store, Registry(base / "artifacts"))
    finally:
        store.close()
    (base / "done").write_text("ok")
    return base


def _phase(name: str, folders: dict[str, Path], data: Path, weight: float, cutoff: float, young: set[str],
           requests: int, seed: int, concurrency: int) -> dict:
    """Serve each variant and simulate against it; the figures per variant."""
    out = {}
    for variant, folder in folders.items():
        settings = Settings(store_url=f"sqlite:///{folder / 'homerec.db'}", artifact_dir=folder / "artifacts",
                            reload_interval_s=0, exploration_weight=weight if variant == "explore" else 0.0,
                            exploration_item_age_cutoff=cutoff, exploration_refresh_s=5.0)
        with serve_app(settings) as url:
            log(f"{name}: simulating {requests} requests against {variant}")
            s = simulate(data, url, requests=requests, concurrency=concurrency, seed=seed, duration=1800,
                         new_user_share=0.1)
        shown = sum(s.shown_items.values())
        young_shown = sum(n for i, n in s.shown_items.items() if i in young)
        young_clicks = sum(n for i, n in s.clicked_items.items() if i in young)
        out[variant] = {
            "lists": s.lists, "shown": shown, "clicks": s.clicks, "purchases": s.purchases, "revenue": s.revenue,
            "ctr": s.ctr, "expected_ctr": sum(st.expected_clicks for st in s.by_source.values()) / max(shown, 1),
            "purchases_per_list": s.purchases / max(s.lists, 1), "revenue_per_list": s.revenue / max(s.lists, 1),
            "young_share": young_shown / max(shown, 1), "young_clicks": young_clicks,
            "distinct_young_shown": sum(1 for i in s.shown_items if i in young),
            "explored": sum(st.explored for st in s.by_source.values()),
            "explored_clicks": sum(st.explored_clicks for st in s.by_source.values()),
            "errors": s.n_errors, "seconds": s.seconds,
        }
    return out


def run(work: Path, scale: float, seed: int, requests: int, weight: float, cutoff_days: float,
        concurrency: int) -> dict:
    base = prepare(work, scale, seed)
    folders = {}
    for variant in VARIANTS:
        folder = work / variant
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        shutil.copy(base / "homerec.db", folder / "homerec.db")
        shutil.copytree(base / "artifacts", folder / "artifacts")
        folders[variant] = folder
    until = _trained_until(base / "artifacts")
    items = pl.read_csv(base / "data" / "items.csv", infer_schema_length=0).rename({"ITEM_ID": "item_id"})
    young = {i for i, t in creation_seconds(items).items() if t >= until - cutoff_days * DAY_S}
    log(f"{len(young)} of {items.height} products launched in the last {cutoff_days:g} days of the data")
    t0 = time.time()
    doc: dict = {"meta": {"command": f"{COMMAND} --scale {scale} --requests {requests} --weight {weight} "
                                     f"--cutoff {cutoff_days:g}",
                          "scale": scale, "seed": seed, "weight": weight, "cutoff_days": cutoff_days,
                          "products": items.height, "young_products": len(young), "machine": f"{machine_note()['cpus']} CPUs"},
                 "phases": {}}
    doc["phases"]["serve"] = _phase("serve", folders, base / "data", weight, cutoff_days, young, requests, seed,
                                    concurrency)
    for variant, folder in folders.items():
        log(f"retraining {variant} on its store")
        store = open_store(f"sqlite:///{folder / 'homerec.db'}")
        try:
            train(store, Registry(folder / "artifacts"))
        finally:
            store.close()
    later = {v: _trained_until(f / "artifacts") for v, f in folders.items()}
    cutoff2 = cutoff_days + (max(later.values()) - until) / DAY_S  # the same products stay young
    doc["phases"]["after_retrain"] = _phase("after retrain", folders, base / "data", weight, cutoff2, young,
                                            requests, seed + 1, concurrency)
    doc["meta"]["seconds"] = time.time() - t0
    return doc


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def exploration_section(doc: dict) -> str:
    """The BENCHMARKS.md section: per phase, each variant's figures beside the control's."""
    m = doc["meta"]
    lines = [f"Command: `{m['command']}` ({m['seconds'] / 60:.0f} min; {m['machine']}). Generated data, scale "
             f"{m['scale']}: {m['products']:,} products, {m['young_products']} launched in the data's last "
             f"{m['cutoff_days']:g} days (the young ones). Variant `explore` gives explorationWeight {m['weight']} of "
             "each list to young products with few events; `control` none. Same users and click seed per phase; "
             "each variant has its own store, so after *retrain* each model learned from its own users' clicks.", "",
             "| phase | variant | lists | CTR | expected CTR | purchases / list | revenue / list | young products "
             "in shown items | clicks on young products | explored items (clicks) | young products the model "
             "itself listed |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for phase, variants in doc["phases"].items():
        for name in VARIANTS:
            v = variants[name]
            lines.append(f"| {phase} | {name} | {v['lists']:,} | {_pct(v['ctr'])} | {_pct(v['expected_ctr'])} | "
                         f"{v['purchases_per_list']:.3f} | {v['revenue_per_list']:.2f} | {_pct(v['young_share'])} "
                         f"| {v['young_clicks']:,} | {v['explored']:,} ({v['explored_clicks']:,}) | {_organic(v):,} |")
    serve, after = doc["phases"]["serve"], doc["phases"]["after_retrain"]
    cost = serve["explore"]["ctr"] / max(serve["control"]["ctr"], 1e-12)
    gain = after["explore"]["young_clicks"] / max(after["control"]["young_clicks"], 1)
    lines += ["", f"Cost while exploring: CTR {cost:.2f}× the control's. Benefit: young products get "
              f"{serve['explore']['young_clicks'] / max(serve['control']['young_clicks'], 1):.1f}× the control's "
              f"clicks while serving and {gain:.1f}× after retraining. Read the CTR gaps against the expected CTR "
              "(the click model's probabilities, far less noisy than counted clicks)."]
    mine, theirs = _organic(after["explore"]), _organic(after["control"])
    if mine <= theirs:
        lines += ["", f"**Not shown by this run: a lasting benefit.** After retraining, the explore variant's model "
                  f"listed young products on its own {mine:,} times against the control's {theirs:,}: the "
                  f"{serve['explore']['explored_clicks']:,} clicks exploration gathered on them did not change what "
                  "the model learned, and exploration's slots cost CTR in both phases."]
    else:
        lines += ["", f"After retraining, the explore variant's model listed young products on its own {mine:,} times "
                  f"against the control's {theirs:,}: what exploration gathered changed what the model learned."]
    return "\n".join(lines)


def _organic(v: dict) -> int:
    """Shows of young products in the model's own slots (not exploration's)."""
    return round(v["young_share"] * v["shown"]) - v["explored"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--weight", type=float, default=0.3)
    ap.add_argument("--cutoff", type=float, default=120.0, help="days: products launched this late in the data are young")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--work", type=Path, default=Path("bench/out/exploration-work"))
    ap.add_argument("--out", type=Path, default=Path("bench/out/exploration.json"))
    args = ap.parse_args()
    doc = run(args.work, args.scale, args.seed, args.requests, args.weight, args.cutoff, args.concurrency)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    print(exploration_section(doc))


if __name__ == "__main__":
    main()
