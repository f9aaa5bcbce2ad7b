# SPDX-License-Identifier: Apache-2.0
"""Import at volume: `homerec import` of the generated events into SQLite and PostgreSQL, against
pyarrow's parse of the same CSV, in one run.

Run: python -m bench.ingest [--scale 1.0] [--out bench/out/ingest.json]

Measured on generated data (scale 1.0: ~1.97M order lines in an 82 MB interactions.csv):
- pyarrow's `read_csv` of the file (type inference, its default threads): the reference;
- `import_interactions` into a new SQLite store and again into the same store (every row a
  duplicate: the idempotent re-import);
- the same into PostgreSQL (a server started from the Debian package with its default
  settings, fsync on; one run each);
- the same events as a folder of 8 Parquet files, into SQLite;
- peak RSS of a fresh `homerec import` process, for the CSV and for the Parquet folder;
- where the time of one SQLite import goes (cProfile, cumulative seconds per phase);
- the floor of any SQLite import: parse, then `executemany` into an index-free table.

Timed in-process runs (the parse, the SQLite imports, the floor) are repeated and the best
run counts, for the reference and for homerec alike: on a shared machine other processes
only ever add time. The CPU seconds of this process (all its threads) are kept beside the
wall-clock seconds: they move much less with the machine's load.
"""

from bench import common  # noqa: F401  (unsets OPENBLAS_* before numpy loads)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import log, machine_note  # noqa: E402

TARGET_RATIO = 5.0
PARQUET_FILES = 8
PHASES = {  # (module file, function) → phase, for the cProfile breakdown
    ("csvfile.py", "read_csv"): "read the CSV (encoding, pyarrow parse as text, line numbers)",
    ("validate.py", "check_interactions"): "validate (id rule, numbers, future skew)",
    ("bulk.py", "stage_rows"): "table layout (types, store rules, event ids)",
    ("staging.py", "add"): "stage through ADBC",
    ("bulk.py", "_merge_range"): "INSERT … SELECT … ON CONFLICT, users, change feed",
    ("bulk.py", "create_indexes"): "build the (user_id, ts) index",
    ("~", "<method 'commit' of 'sqlite3.Connection' objects>"): "commit (write-ahead log, checkpoint)",
}


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process, every thread) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(fn: Callable[[], object], runs: int) -> dict:
    """The fastest of `runs` calls (wall-clock and CPU seconds each), and every run's wall-clock seconds."""
    times = [timed(fn) for _ in range(runs)]
    return {"seconds": min(w for w, _ in times), "cpu_seconds": min(c for _, c in times),
            "runs": [round(w, 2) for w, _ in times]}


def _import(url: str, source: Path, rejects: Path) -> dict:
    """One `import_interactions` into the store at `url`: its seconds and its report's counts."""
    from homerec.storage import open_store
    from homerec.storage.load import import_interactions

    store = open_store(url)
    try:
        reports = []
        wall, cpu = timed(lambda: reports.append(import_interactions(store, source, rejects)))
        report = reports[0]
        return {"seconds": wall, "cpu_seconds": cpu, "rows": report.rows_read, "imported": report.imported,
                "duplicates": report.duplicates, "rejected": report.rejected}
    finally:
        store.close()


def _fresh_and_again(url: str, source: Path, rejects: Path) -> dict:
    first = _import(url, source, rejects)
    again = _import(url, source, rejects)
    assert again["imported"] == 0, again
    return {**first, "reimport_seconds": again["seconds"]}


def sqlite_imports(source: Path, work: Path, runs: int = 3) -> dict:
    """The best of `runs` imports into new SQLite stores (and of their re-imports)."""
    results = []
    for n in range(runs):
        results.append(_fresh_and_again(f"sqlite:///{work}/sqlite-{n}.db", source, work / "rejects.csv"))
        for path in work.glob(f"sqlite-{n}.db*"):
            path.unlink()
    return {**results[-1], **{k: min(r[k] for r in results) for k in ("seconds", "cpu_seconds", "reimport_seconds")},
            "runs": [round(r["seconds"], 2) for r in results]}


def postgres_import(source: Path, work: Path) -> dict:
    """One import into an empty PostgreSQL database and one re-import (server defaults, fsync on)."""
    from tests.postgres import bindir, postgres_server

    with postgres_server(database="bench") as url:
        result = _fresh_and_again(url, source, work / "rejects.csv")
    result.pop("cpu_seconds")  # the server's work is not this process's
    return {**result, "server": f"PostgreSQL {bindir().parts[-2]}, default settings"}


def breakdown(source: Path, work: Path) -> dict[str, float]:
    """Cumulative seconds per phase (`PHASES`) of one profiled import into a new SQLite store."""
    profile = cProfile.Profile()
    profile.enable()
    _import(f"sqlite:///{work}/profiled.db", source, work / "rejects.csv")
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out = dict.fromkeys(PHASES.values(), 0.0)
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        phase = PHASES.get((Path(filename).name, name))
        if phase is not None and ("homerec" in filename or filename == "~"):
            out[phase] += cumulative
    out["total"] = sum(tt for _cc, _nc, tt, _ct, _callers in stats.values())
    return {k: round(v, 3) for k, v in out.items()}


PEAK_MARK = "homerec-peak-rss-kib"
_MEASURED = (  # the CLI in a fresh interpreter that reports its own high-water mark as it exits
    "import atexit, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    f"    print('{PEAK_MARK}', status.split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from homerec.cli.main import main\n"
    "sys.argv = ['homerec', *sys.argv[1:]]\n"
    "main()\n"
)


def peak_rss_mb(args: list[str]) -> float:
    """Peak RSS (MB) of `homerec ARGS` in a fresh process.

    The process reads its own VmHWM as it exits: the rusage of a child (`wait4`,
    RUSAGE_CHILDREN) would count the parent's high-water mark too, which the child's
    memory map carries until exec.
    """
    done = subprocess.run([sys.executable, "-c", _MEASURED, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    marks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith(PEAK_MARK)]
    if done.returncode != 0 or not marks:
        raise RuntimeError(f"homerec {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return int(marks[-1]) / 1024


def write_parquet_folder(csv: Path, folder: Path, parts: int = PARQUET_FILES) -> None:
    """The CSV's rows as `parts` Parquet files (ids kept as text)."""
    import polars as pl

    frame = pl.read_csv(csv, infer_schema=False).with_columns(
        pl.col("TIMESTAMP").cast(pl.Int64), pl.col("EVENT_VALUE").cast(pl.Float64))
    folder.mkdir(parents=True)
    step = -(-frame.height // parts)
    for n, piece in enumerate(frame.iter_slices(step)):
        piece.write_parquet(folder / f"part-{n:03d}.parquet")


def bare_sqlite_insert(csv: Path) -> None:
    """The floor of any SQLite import: parse, then executemany into an index-free table, one transaction."""
    import sqlite3

    import pyarrow.csv as pacsv

    table = pacsv.read_csv(csv)
    rows = zip(*(table.column(i).to_pylist() for i in range(5)))
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(f"{tmp}/floor.db")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("CREATE TABLE t (u TEXT, i TEXT, ts INTEGER, e TEXT, v REAL)")
        with con:
            con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
        con.close()


def run(scale: float, step: Callable[[str], None] = log) -> dict:
    """Every measurement of the module docstring, on data generated at `scale`."""
    import pyarrow.csv as pacsv

    from homerec.synth.generate import generate

    out: dict = {"scale": scale, "machine": machine_note(), "target_ratio": TARGET_RATIO,
                 "load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="homerec-ingest-") as tmp:
        work = Path(tmp)
        generate(work / "data", scale, 0)
        csv = work / "data" / "interactions.csv"
        out["csv_mb"] = csv.stat().st_size / 1e6
        step("pyarrow parse …")
        out["pyarrow_parse"] = best(lambda: pacsv.read_csv(csv), 5)
        out["pyarrow_parse_seconds"] = out["pyarrow_parse"]["seconds"]
        step("SQLite imports …")
        out["sqlite"] = sqlite_imports(csv, work)
        step("PostgreSQL import …")
        out["postgres"] = postgres_import(csv, work)
        step("Parquet folder …")
        write_parquet_folder(csv, work / "parquet")
        folder = _import(f"sqlite:///{work}/parquet.db", work / "parquet", work / "rejects.csv")
        out["parquet_folder"] = {"files": PARQUET_FILES, "seconds": folder["seconds"], "cpu_seconds": folder["cpu_seconds"]}
        step("peak memory …")
        out["memory"] = {
            f"{name}_peak_rss_mb": peak_rss_mb(["import", "--interactions", str(source), "--store",
                                                f"sqlite:///{work}/rss-{name}.db", "--rejects-dir", str(work / "r")])
            for name, source in (("csv", csv), ("parquet_folder", work / "parquet"))
        }
        out["memory"]["idle_cli_rss_mb"] = peak_rss_mb(["--help"])
        step("breakdown …")
        out["breakdown"] = breakdown(csv, work)
        step("bare SQLite insert …")
        out["bare_sqlite_insert_seconds"] = best(lambda: bare_sqlite_insert(csv), 3)["seconds"]
    out["load_average_after"] = os.getloadavg()[0]
    parse = out["pyarrow_parse_seconds"]
    out["sqlite"]["ratio"] = out["sqlite"]["seconds"] / parse
    out["sqlite"]["cpu_ratio"] = out["sqlite"]["cpu_seconds"] / out["pyarrow_parse"]["cpu_seconds"]
    out["postgres"]["ratio"] = out["postgres"]["seconds"] / parse
    return out


def speed_rows(d: dict) -> list[tuple[str, ...]]:
    """Rows of the speed table (target, homerec, reference, ratio, target, verdict) for `ingest.json`."""
    parse, sq, pg = d["pyarrow_parse_seconds"], d["sqlite"], d["postgres"]
    reference = f"pyarrow parse {parse:.2f} s"
    verdict = "met" if sq["ratio"] <= d["target_ratio"] else "**missed**"
    mem = d["memory"]
    return [
        ("Import into SQLite (bulk path)", f"{sq['rows']:,} rows in {sq['seconds']:.1f} s", reference,
         f"{sq['ratio']:.1f}×", f"≤ {d['target_ratio']:g}×", verdict),
        ("  the same in CPU seconds (this process, all threads)", f"{sq['cpu_seconds']:.1f} s",
         f"pyarrow parse {d['pyarrow_parse']['cpu_seconds']:.2f} s", f"{sq['cpu_ratio']:.1f}×", "(context)", ""),
        ("  (same import vs a bare SQLite insert)", "", f"executemany into an index-free table "
         f"{d['bare_sqlite_insert_seconds']:.1f} s", f"{sq['seconds'] / d['bare_sqlite_insert_seconds']:.1f}×",
         "(context)", ""),
        ("  re-import of the same file into SQLite (all duplicates)", f"{sq['reimport_seconds']:.1f} s", reference,
         f"{sq['reimport_seconds'] / parse:.1f}×", "(context)", ""),
        ("Import into PostgreSQL (COPY path)", f"{pg['seconds']:.1f} s; re-import {pg['reimport_seconds']:.1f} s",
         reference, f"{pg['ratio']:.1f}×", "(measured beside)", ""),
        (f"  the same events as {d['parquet_folder']['files']} Parquet files, into SQLite",
         f"{d['parquet_folder']['seconds']:.1f} s", reference, f"{d['parquet_folder']['seconds'] / parse:.1f}×",
         "(context)", ""),
        (f"Peak RSS of `homerec import` (scale {d['scale']:g})", f"CSV {mem['csv_peak_rss_mb']:,.0f} MB; Parquet folder "
         f"{mem['parquet_folder_peak_rss_mb']:,.0f} MB", f"the CSV file {d['csv_mb']:.0f} MB; `homerec --help` "
         f"{mem['idle_cli_rss_mb']:,.0f} MB", "", "(reported)", ""),
    ]


def speed_notes(d: dict) -> str:
    """The paragraph under the speed table: where one import's time goes, and how it was measured."""
    b = dict(d["breakdown"])
    total = b.pop("total")
    parts = "; ".join(f"{name} {seconds:.2f} s" for name, seconds in b.items())
    runs = ", ".join(f"{t:.1f}" for t in d["sqlite"]["runs"])
    parses = ", ".join(f"{t:.2f}" for t in d["pyarrow_parse"]["runs"])
    return (f"Import: `python -m bench.ingest` (best runs: SQLite {runs} s, pyarrow {parses} s; "
            f"PostgreSQL: {d['postgres']['server']}, one run; load average {d['load_average_before']:.1f} before "
            f"and {d['load_average_after']:.1f} after the run, on {d['machine']['cpus']} CPUs). Where one SQLite "
            f"import's time goes (cProfile, {total:.1f} s profiled): {parts}.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/ingest.json"))
    args = ap.parse_args()
    result = run(args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
