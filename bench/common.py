# SPDX-License-Identifier: Apache-2.0
"""Benchmark helpers: BLAS environment hygiene, data-set loading, median timings.

Import this module before numpy (``bench.quality`` does): OpenBLAS reads
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` once, when the library loads. Some hosts
export them to pin a kernel or a cache size that does not match the CPU the benchmark runs
on, which silently slows every dense product and solve (EASE, ALS) and makes timings
incomparable across machines; the benchmark therefore unsets them and lets OpenBLAS detect
the CPU. Thread counts are pinned explicitly instead (2 on the benchmark machines).
"""

import os

BLAS_VARS_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
UNSET_AT_IMPORT = {v: os.environ.pop(v) for v in BLAS_VARS_UNSET if v in os.environ}

import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

THREADS = 2
REAL_DATASETS = ("ml-100k", "ml-latest-small", "completejourney-sample")
GENERATED = "generated"
MOVIELENS = ("ml-100k", "ml-latest-small")


def data_root() -> Path:
    """The shared real data sets: $HOMEREC_DATA_DIR, else ../shared/data next to the repository."""
    env = os.environ.get("HOMEREC_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def load_dataset(name: str, scale: float = 1.0, seed: int = 0, layout: str = "personalize") -> Any:
    """A `homerec.evaluation.dataset.Dataset`: a shared real set, or `generated` (synthetic).

    `layout` names the real set's folder: `personalize`, or `personalize-orders` where the set
    also has ORDER_ID and QUANTITY columns.
    """
    from homerec.evaluation.dataset import read_folder

    if name == GENERATED:
        from homerec.synth.generate import generate

        with tempfile.TemporaryDirectory(prefix="homerec-gen-") as tmp:
            generate(tmp, scale=scale, seed=seed)
            folder = Path(tmp)
            if not (folder / "interactions.csv").exists() and (folder / "personalize").is_dir():
                folder = folder / "personalize"
            return read_folder(folder)
    folder = data_root() / name / layout
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found (set HOMEREC_DATA_DIR to the shared data folder)")
    return read_folder(folder)


def median_seconds(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Median wall seconds of `repeats` calls of `fn`."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine_note() -> dict[str, Any]:
    """What the timings depend on: CPU count, BLAS threads and library, the unset variables."""
    from threadpoolctl import threadpool_info

    blas = [
        {k: i.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
        for i in threadpool_info() if i.get("user_api") == "blas"
    ]
    return {
        "cpus": os.cpu_count(),
        "threads": THREADS,
        "python": sys.version.split()[0],
        "blas": blas,
        "unset_env": sorted(UNSET_AT_IMPORT),
    }


def write_results(results: dict[str, Any], out: Path, markdown: Callable[[dict[str, Any]], str]) -> None:
    """Write a benchmark's JSON to `out` and its Markdown next to it (`.md`), and print the Markdown."""
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = markdown(results)
    out.with_suffix(".md").write_text(md + "\n")
    print(md)
    log(f"wrote {out} and {out.with_suffix('.md')} ({results['meta'].get('seconds')} s)")


def log(msg: str) -> None:
    """Progress to stderr, flushed (the JSON goes to a file)."""
    print(msg, file=sys.stderr, flush=True)
