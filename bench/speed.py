# SPDX-License-Identifier: Apache-2.0
"""Speed and memory targets on generated data, each beside a floor measured in the same run.

Run: python -m bench.speed [--scale 1.0] [--out bench/out/speed.json]
(The import is measured by `python -m bench.ingest`.)
"""

from bench import common  # noqa: F401  (unsets OPENBLAS_* before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.common import THREADS, machine_note, median_seconds  # noqa: E402


def train_speed(folder: Path) -> dict:
    """Whole hybrid (no tuning) and homerec ALS vs implicit's ALS alone on the same matrix."""
    from implicit.cpu.als import AlternatingLeastSquares

    from homerec.evaluation.dataset import item_features, read_folder
    from homerec.models.als import ALS
    from homerec.models.hybrid import Hybrid

    ds = read_folder(folder)
    data, features = ds.interactions, item_features(ds)
    ref = ALS()
    C = ref._confidence(data.to_csr())

    def implicit_fit():
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(factors=64, iterations=15, num_threads=THREADS, random_state=0,
                                    regularization=ref.regularization).fit(C, show_progress=False)

    implicit_s = median_seconds(implicit_fit, 3)
    ours_s = median_seconds(lambda: ALS(factors=64, iterations=15, num_threads=THREADS).fit(data), 3)
    hybrid = Hybrid()
    t0 = time.perf_counter()
    hybrid.fit(data, features)
    hybrid_s = time.perf_counter() - t0
    return {"n_interactions": len(data), "implicit_als_seconds": implicit_s, "homerec_als_seconds": ours_s,
            "als_ratio": ours_s / implicit_s, "hybrid_seconds": hybrid_s, "hybrid_ratio": hybrid_s / implicit_s,
            "hybrid_parts_seconds": {k: round(v, 2) for k, v in hybrid.part_seconds_.items()},
            "target_als_ratio": 1.1, "target_hybrid_ratio": 3.0}, hybrid, data


def gemm_floor(user_f: np.ndarray, item_f: np.ndarray, k: int = 10, chunk: int = 4096) -> float:
    """Bare chunked float32 GEMM + argpartition: users × items top-k, then items × items top-k."""
    t0 = time.perf_counter()
    for f in (user_f, item_f):
        for lo in range(0, len(f), chunk):
            s = f[lo : lo + chunk] @ item_f.T
            np.argpartition(-s, k, axis=1)[:, :k]
    return time.perf_counter() - t0


def batch_speed(hybrid, data) -> dict:
    """homerec batch (all users, all items, the trained hybrid) vs the bare GEMM floor over its ALS factors."""
    from homerec.batch.inference import recommend_users, similar_all

    als = hybrid.models_["als"]
    floor = median_seconds(lambda: gemm_floor(als.user_factors_, als.item_factors_), 3)
    users = data.users.ids.tolist()
    t0 = time.perf_counter()
    n = sum(len(x.keys) for x in recommend_users(hybrid, data, users, 10, workers=THREADS))
    n_items = sum(len(x.keys) for x in similar_all(hybrid, 10, workers=THREADS))
    t = time.perf_counter() - t0
    return {"users": n, "items": n_items, "homerec_seconds": t, "gemm_floor_seconds": floor,
            "ratio": t / floor, "target_ratio": 3.0}


def train_peak_rss(folder: Path, work: Path) -> tuple[dict, Path]:
    """Peak RSS of `homerec train` (default: tuned blend) in a fresh process, in MB; returns its registry."""
    db = f"sqlite:///{work}/m.db"
    cmd = [sys.executable, "-m", "homerec.cli.main"]
    subprocess.run([*cmd, "import", str(folder), "--store", db, "--rejects-dir", f"{work}/r"],
                   check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([*cmd, "train", "--store", db, "--artifacts", f"{work}/a"], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"train_peak_rss_mb": peak / 1024, "train_seconds": seconds, "target_mb": 4096}, work / "a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/speed.json"))
    args = ap.parse_args()
    from homerec.synth.generate import generate

    out: dict = {"scale": args.scale, "machine": machine_note()}
    with tempfile.TemporaryDirectory(prefix="homerec-speed-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(folder, args.scale, 0)
        out["generate_seconds"] = time.perf_counter() - t0
        print("train …", flush=True)
        out["train"], hybrid, data = train_speed(folder)
        del hybrid
        print("memory (homerec train) …", flush=True)
        out["memory"], registry_dir = train_peak_rss(folder, folder)
        print("batch …", flush=True)
        from homerec.models.registry import Registry

        out["batch"] = batch_speed(Registry(registry_dir).load(), data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
