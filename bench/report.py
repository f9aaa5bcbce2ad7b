# SPDX-License-Identifier: Apache-2.0
"""Write BENCHMARKS.md from bench/out/speed.json, ingest.json, serving.json, compare.json, spark.json,
personalize.json, quality*.json and distributor.json.

Run: python -m bench.report [--speed bench/out/speed.json] [--ingest bench/out/ingest.json] [--quality …]
"""

import argparse
import json
from pathlib import Path

from bench.quality import quality_markdown

COMMAND = "scripts/bench.sh"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _old_import_rows(imp: dict) -> list[tuple[str, ...]]:
    """The import rows of a speed.json written before bench.ingest existed."""
    return [
        ("Import into SQLite", f"{imp['rows']:,} rows in {imp['sqlite_seconds']:.1f} s",
         f"pyarrow parse {imp['pyarrow_parse_seconds']:.2f} s", f"{imp['ratio']:.1f}×", "≤ 5×",
         _verdict(imp["ratio"] <= imp["target_ratio"])),
        ("  (same import vs a bare SQLite insert)", "", f"executemany into an index-free table "
         f"{imp['bare_sqlite_insert_seconds']:.1f} s", f"{imp['ratio_to_bare_insert']:.1f}×", "(context)", ""),
    ]


def speed_markdown(s: dict, ingest: dict | None = None) -> str:
    """The speed and memory targets, each with its reference from the same run.

    The import rows come from `ingest` (bench.ingest) when given, else from an older speed.json.
    """
    tr, ba, mem = s["train"], s["batch"], s["memory"]
    if ingest is not None:
        from bench.ingest import speed_rows

        rows = speed_rows(ingest)
    else:
        rows = _old_import_rows(s["import"]) if "import" in s else []
    rows += [
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
    if ingest is not None:
        from bench.ingest import speed_notes

        out.append("\n" + speed_notes(ingest))
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
          compare: Path | None = None, spark: Path | None = None, ingest: Path | None = None,
          personalize: Path | None = None, replicas: Path | None = None,
          distributor: Path | None = None,
          rules: Path | None = None,
          exploration: Path | None = None) -> None:
    """Compose BENCHMARKS.md."""
    parts = ["# homerec benchmarks", "",
             f"Reproduce everything with `{COMMAND}` (about 70–90 minutes on 2 cores); `python -m bench.speed`, "
             "`python -m bench.quality`, `python -m bench.distributor` and `python -m bench.report` run the parts. "
             "Every figure stands beside "
             "a reference measured in the same run, because absolute times drift on these shared machines.", ""]
    if speed.exists():
        imports = json.loads(ingest.read_text()) if ingest is not None and ingest.exists() else None
        parts += ["## Speed and memory (generated data)", "", speed_markdown(json.loads(speed.read_text()), imports), ""]
    if serving is not None and serving.exists():
        from bench.serving import serving_section

        parts += ["## Serving (scale 1.0, wrk)", "", serving_section(json.loads(serving.read_text())), ""]
    if compare is not None and compare.exists():
        from bench.compare import compare_section

        parts += [compare_section(json.loads(compare.read_text())), ""]
    if spark is not None and spark.exists():
        from bench.spark import SECTION_TITLE, spark_section

        parts += [SECTION_TITLE, "", spark_section(json.loads(spark.read_text())), ""]
    if personalize is not None and personalize.exists():
        from bench.personalize import SECTION_TITLE as PERSONALIZE_TITLE, personalize_section

        parts += [PERSONALIZE_TITLE, "", personalize_section(json.loads(personalize.read_text())), ""]
    if replicas is not None and replicas.exists():
        from bench.replicas import TITLE, replicas_section

        parts += [TITLE, "", replicas_section(json.loads(replicas.read_text())), ""]
    if rules is not None and rules.exists():
        from bench.rules import rules_markdown

        parts += [rules_markdown(json.loads(rules.read_text()))]
    if exploration is not None and exploration.exists():
        from bench.exploration import TITLE as EXPLORATION_TITLE, exploration_section

        parts += [EXPLORATION_TITLE, "", exploration_section(json.loads(exploration.read_text())), ""]
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
                    default=[Path("bench/out/quality-real.json"), Path("bench/out/quality-real-2.json"),
                             Path("bench/out/quality-generated.json")],
                    help="quality runs, merged in order (a later run's data set replaces an earlier one's)")
    ap.add_argument("--serving", type=Path, default=Path("bench/out/serving.json"))
    ap.add_argument("--ingest", type=Path, default=Path("bench/out/ingest.json"))
    ap.add_argument("--compare", type=Path, default=Path("bench/out/compare.json"))
    ap.add_argument("--spark", type=Path, default=Path("bench/out/spark.json"))
    ap.add_argument("--personalize", type=Path, default=Path("bench/out/personalize.json"))
    ap.add_argument("--replicas", type=Path, default=Path("bench/out/replicas.json"))
    ap.add_argument("--distributor", type=Path, default=Path("bench/out/distributor.json"))
    ap.add_argument("--rules", type=Path, default=Path("bench/out/rules.json"))
    ap.add_argument("--exploration", type=Path, default=Path("bench/out/exploration.json"))
    ap.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = ap.parse_args()
    write(args.speed, args.quality, args.out, serving=args.serving, compare=args.compare, spark=args.spark,
          ingest=args.ingest, personalize=args.personalize, replicas=args.replicas, distributor=args.distributor,
          rules=args.rules, exploration=args.exploration)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
