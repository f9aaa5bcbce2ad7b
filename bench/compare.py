# SPDX-License-Identifier: Apache-2.0
"""`homerec compare` on the reference workload: the active model vs a Personalize fallback file, all users.

Generates scale 1.0 (180,483 customers), imports it into SQLite and trains the default model
with the `homerec` command (as bench.speed does), writes a Personalize batch-inference file
that is a popularity fallback (the ten best-sellers, score 0, for every customer), then times
`homerec compare --a model:active --b file:… --k 10 --since <the 0.9 quantile of timestamps>`
as a fresh process, from start to exit (interpreter start, store read, scoring, metrics,
JSON and HTML included).

Run: python -m bench.compare [--scale 1.0] [--workdir DIR] [--out bench/out/compare.json]
(`--workdir` keeps the store and model, and reuses them when run again.)
"""

from bench import common  # noqa: F401  (unsets OPENBLAS_* before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import log, machine_note  # noqa: E402

TARGET_S = 60.0
REFERENCE_USERS = 180_483
CMD = [sys.executable, "-m", "homerec.cli.main"]


def prepare(work: Path, scale: float) -> None:
    """Generate, import and train in `work` unless a trained store is already there."""
    if (work / "homerec.db").exists() and (work / "artifacts" / "ACTIVE").exists():
        log(f"reusing the store and model in {work}")
        return
    from homerec.synth.generate import generate

    log(f"generate scale {scale} …")
    generate(work / "data", scale, 0)
    log("import …")
    subprocess.run([*CMD, "import", str(work / "data"), "--store", f"sqlite:///{work}/homerec.db",
                    "--rejects-dir", str(work / "rejects")], check=True, capture_output=True)
    log("train …")
    subprocess.run([*CMD, "train", "--store", f"sqlite:///{work}/homerec.db", "--artifacts", str(work / "artifacts")],
                   check=True, capture_output=True)


def fallback_file(work: Path) -> tuple[Path, int, int]:
    """A Personalize output where every customer gets the ten best-sellers with score 0; (path, users, since)."""
    import polars as pl

    from homerec.storage import open_store

    store = open_store(f"sqlite:///{work}/homerec.db")
    try:
        users = store.users()["user_id"]
        frame = store.interactions()
    finally:
        store.close()
    users = pl.concat([users, frame["user_id"]]).unique(maintain_order=True).to_list()
    top = frame.group_by("item_id").len().sort(["len", "item_id"], descending=[True, False])["item_id"].head(10).to_list()
    since = int(frame["ts"].quantile(0.9))
    path = work / "personalize-fallback.json.out"
    tail = json.dumps({"recommendedItems": top, "scores": [0.0] * len(top)}, separators=(",", ":"))
    with path.open("w") as fh:
        for u in users:
            fh.write(f'{{"input":{{"userId":{json.dumps(u)}}},"output":{tail},"error":null}}\n')
    return path, len(users), since


def run(work: Path, scale: float) -> dict:
    """Prepare the workload, then time one `homerec compare` process."""
    prepare(work, scale)
    path, n_users, since = fallback_file(work)
    args = [*CMD, "compare", "--store", f"sqlite:///{work}/homerec.db", "--artifacts", str(work / "artifacts"),
            "--a", "model:active", "--b", f"file:{path}", "--k", "10", "--since", str(since),
            "--json", str(work / "compare.json"), "--html", str(work / "compare.html")]
    log(f"homerec compare on {n_users:,} users …")
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"homerec compare failed:\n{done.stdout}\n{done.stderr}")
    doc = json.loads((work / "compare.json").read_text())
    return {
        "seconds": round(seconds, 2), "users": doc["n_users"], "target_s": TARGET_S, "scale": scale,
        "in_process_seconds": doc["seconds"], "k": doc["k"], "since": doc["since_date"],
        "fallback_flagged": {"model": doc["a"]["fallback_suspected"], "file": doc["b"]["fallback_suspected"]},
        "overlap_at_k": doc["pair"]["overlap_at_k"], "html_bytes": (work / "compare.html").stat().st_size,
        "machine": machine_note(),
    }


def compare_section(result: dict) -> str:
    """The BENCHMARKS.md section for `homerec compare` on the reference workload."""
    met = result["seconds"] < result["target_s"]
    flags = result["fallback_flagged"]
    return "\n".join([
        "## homerec compare (reference workload)",
        "",
        "| target | homerec | target | |",
        "|---|---|---|---|",
        f"| `homerec compare` active model vs a Personalize batch file, {result['users']:,} users, k = {result['k']} "
        f"| {result['seconds']:.1f} s ({result['in_process_seconds']:.1f} s reading, scoring and measuring) "
        f"| < {result['target_s']:.0f} s | {'met' if met else '**missed**'} |",
        "",
        f"One fresh `homerec compare` process at scale {result['scale']}: reading the SQLite store, scoring every "
        "user with the trained model, parsing the Personalize file (the ten best-sellers with score 0 for everyone), "
        f"the metrics (purchases since {result['since']} held out) and the JSON and HTML reports. "
        f"The file was flagged as a popularity fallback: {'yes' if flags['file'] else 'NO'}; "
        f"the model: {'yes' if flags['model'] else 'no'}. Reproduce with `python -m bench.compare`.",
    ])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the store and model here")
    ap.add_argument("--out", type=Path, default=Path("bench/out/compare.json"))
    args = ap.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.workdir, args.scale)
    else:
        with tempfile.TemporaryDirectory(prefix="homerec-compare-") as tmp:
            result = run(Path(tmp), args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(compare_section(result))


if __name__ == "__main__":
    main()
