# SPDX-License-Identifier: Apache-2.0
"""Write BENCHMARKS.md from bench/out/speed.json, quality.json, serving.json, compare.json and distributor.json.

Run: python -m bench.report [--speed bench/out/speed.json] [--quality bench/out/quality.json] ...
"""

import argparse
import json
from pathlib import Path

from bench.quality import quality_markdown

COMMAND = "scripts/bench.sh"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def speed_markdown(s: dict) -> str:
    """The speed and memory targets, each with its reference from the same run."""
    imp, tr, ba, mem = s["import"], s["train"], s["batch"], s["memory"]
    rows = [
        ("Import into SQLite", f"{imp['rows']:,} rows in {imp['sqlite_seconds']:.1f} s",
         f"pyarrow parse {imp['pyarrow_parse_seconds']:.2f} s", f"{imp['ratio']:.1f}×", "≤ 5×",
         _verdict(imp["ratio"] <= imp["target_ratio"])),
        ("  (same import vs a bare SQLite insert)", "", f"executemany into an index-free table "
         f"{imp['bare_sqlite_insert_seconds']:.1f} s", f"{imp['ratio_to_bare_insert']:.1f}×", "(context)", ""),
        ("homerec ALS fit (64 f, 15 it, 2 threads)", f"{tr['homerec_als_seconds']:.1f} s",
         f"implicit ALS alone {tr['implicit_als_seconds']:.1f} s", f"{tr['als_ratio']:.2f}×", "≤ 1.1×",
         _verdict(tr["als_ratio"] <= tr["target_als_ratio"])),
        ("Whole hybrid fit (all parts, no tuning)", f"{tr['hybrid_seconds']:.1f} s",
         f"implicit ALS alone {tr['implicit_als_seconds']:.1f} s", f"{tr['hybrid_ratio']:.2f}×", "≤ 3×",
         _verdict(tr["hybrid_ratio"] <= tr["target_hybrid_ratio"])),
        ("Batch: top-10 all users + similar items all items (hybrid)",
         f"{ba['users']:,} users + {ba['items']:,} items in {ba['homerec_seconds']:.1f} s",
         f"bare float32 GEMM + argpartition {ba['gemm_floor_seconds']:.1f} s", f"{ba['ratio']:.2f}×", "≤ 3×",
         _verdict(ba["ratio"] <= ba["target_ratio"])),
        ("Peak RSS of `homerec train` (tuned blend)", f"{mem['train_peak_rss_mb']:,.0f} MB "
         f"({mem['train_seconds']:.0f} s)", "4 GB limit", f"{mem['train_peak_rss_mb'] / 4096:.2f}×", "< 1×",
         _verdict(mem["train_peak_rss_mb"] < mem["target_mb"])),
    ]
    out = ["| target | homerec | reference (same run) | ratio | target | |", "|---|---|---|---|---|---|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in tr["hybrid_parts_seconds"].items())
    out.append(f"\nHybrid part fit times (each includes its calibration pass): {parts}.")
    out.append(f"\nGenerated data at scale {s['scale']}: {tr['n_interactions']:,} interactions; generation "
               f"took {s['generate_seconds']:.1f} s. Machine: {s['machine']['cpus']} CPUs, BLAS "
               f"{s['machine']['blas']}; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for the benchmark "
               f"process only ({', '.join(s['machine']['unset_env']) or 'none were set'}).")
    return "\n".join(out)


def merge_quality(paths: list[Path]) -> dict | None:
    """One quality document from several runs (e.g. the real sets and the generated set run apart)."""
    docs = [json.loads(p.read_text()) for p in paths if p.exists()]
    if not docs:
        return None
    merged = {"meta": docs[0]["meta"], "datasets": {}}
    for doc in docs:
        merged["datasets"].update(doc["datasets"])
    merged["meta"]["command"] = " ; ".join(d["meta"].get("command", "") for d in docs)
    return merged


def write(speed: Path, quality: list[Path], out: Path, serving: Path | None = None,
          compare: Path | None = None, distributor: Path | None = None) -> None:
    """Compose BENCHMARKS.md."""
    parts = ["# homerec benchmarks", "",
             f"Reproduce everything with `{COMMAND}` (about 70–90 minutes on 2 cores); `python -m bench.speed`, "
             "`python -m bench.quality`, `python -m bench.distributor` and `python -m bench.report` run the parts. "
             "Every figure stands beside "
             "a reference measured in the same run, because absolute times drift on these shared machines.", ""]
    if speed.exists():
        parts += ["## Speed and memory (generated data)", "", speed_markdown(json.loads(speed.read_text())), ""]
    if serving is not None and serving.exists():
        from bench.serving import serving_section

        parts += ["## Serving (scale 1.0, wrk)", "", serving_section(json.loads(serving.read_text())), ""]
    if compare is not None and compare.exists():
        from bench.compare import compare_section

        parts += [compare_section(json.loads(compare.read_text())), ""]
    merged = merge_quality(quality)
    if merged is not None:
        parts += [quality_markdown(merged), ""]
    if distributor is not None and distributor.exists():
        from bench.distributor import distributor_markdown

        parts += [distributor_markdown(json.loads(distributor.read_text())), ""]
    notes = Path(__file__).with_name("notes.md")
    if notes.exists():
        parts += [notes.read_text()]
    out.write_text("\n".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=Path, default=Path("bench/out/speed.json"))
    ap.add_argument("--quality", type=Path, nargs="+",
                    default=[Path("bench/out/quality-real.json"), Path("bench/out/quality-generated.json")])
    ap.add_argument("--serving", type=Path, default=Path("bench/out/serving.json"))
    ap.add_argument("--compare", type=Path, default=Path("bench/out/compare.json"))
    ap.add_argument("--distributor", type=Path, default=Path("bench/out/distributor.json"))
    ap.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = ap.parse_args()
    write(args.speed, args.quality, args.out, args.serving, args.compare, args.distributor)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
