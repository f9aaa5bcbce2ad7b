# SPDX-License-Identifier: Apache-2.0
"""Serving replicas with a shared cache (Redis): the targets of issue 9, point 1, in one run.

Run: python -m bench.replicas [--scale 1.0] [--out bench/out/replicas.json]

PostgreSQL (a throwaway cluster from the Debian package) and redis-server start for the run;
generated data is imported, the hybrid trained (v1, active) with a popularity version beside it
(v2, for the promote), and `homerec batch --cache` publishes every list. Then, with wrk (Debian)
and every server on this machine's 2 cores:

- **two replicas vs one**: one `homerec serve --cache` with 2 workers, and two with 1 worker
  each (wrk split over them), cached answers for random users with a history; alternated
  `--rounds` times, medians compared. One replica with 2 workers and no shared cache is
  measured beside them (what the cache costs).
- **event on replica A → next answer on replica B**: per user, a purchase of its top item is
  POSTed to one replica, then the other is asked until the item is gone; from the POST's send
  to that answer, and whether the very next answer already showed it.
- **batch refresh under load**: wrk on both replicas for as long as `homerec batch --cache` runs;
  failed requests (non-2xx and socket errors).
- **promote under load** (context): wrk on both replicas, `homerec models promote v2`; seconds
  until each replica answers v2, failed requests.

The load generator and the servers share the cores, so only ratios mean anything across machines.
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset for the benchmark and its servers (bench.common).
"""

from bench import common  # noqa: F401  (unsets OPENBLAS_* before numpy loads, for the servers too)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench import servers, wrk  # noqa: E402
from bench.common import log, machine_note  # noqa: E402
from bench.serving_probe import Client, reflect_one  # noqa: E402
from homerec.data.schema import INTERACTIONS_TABLE, REC_CACHE_TABLE, USER_RECS, Col  # noqa: E402
from tests.live import RedisServer  # noqa: E402
from tests.postgres import postgres_server  # noqa: E402

COMMAND = "python -m bench.replicas"
TARGETS = {"event_p99_ms": 100.0, "two_replicas_ratio": 0.9, "refresh_failed": 0}
TITLE = "## Serving replicas with a shared cache (Redis, issue 9)"


def _cli(work: Path, env: dict[str, str], *args: str) -> float:
    """One homerec command; its wall seconds."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "homerec.cli.main", *args], cwd=work, env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"homerec {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def prepare(work: Path, env: dict[str, str], scale: float, seed: int) -> dict:
    """Generate, import, train v1 (hybrid) and v2 (popularity, inactive), batch into the store and Redis."""
    data = str(work / "data")
    steps = {"generate": _cli(work, env, "generate", data, "--scale", str(scale), "--seed", str(seed))}
    steps["import"] = _cli(work, env, "import", data, "--rejects-dir", str(work / "rejects"))
    steps["train"] = _cli(work, env, "train")
    steps["train_v2"] = _cli(work, env, "train", "--models", "popularity", "--no-activate")
    steps["batch"] = _cli(work, env, "batch", "--similar-items")
    return {k: round(v, 1) for k, v in steps.items()}


def active_users(store_url: str) -> list[str]:
    """Users with events and a cached list: the ones whose answers are personalised."""
    engine = sa.create_engine(sa.make_url(store_url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        users = [r[0] for r in conn.exec_driver_sql(
            f"SELECT DISTINCT i.{Col.user_id} FROM {INTERACTIONS_TABLE} i JOIN {REC_CACHE_TABLE} c "
            f"ON c.{Col.namespace} = %s AND c.{Col.key} = i.{Col.user_id} ORDER BY 1", (USER_RECS,))]
    engine.dispose()
    return users


@contextlib.contextmanager
def replicas(run: Path, name: str, store_url: str, artifacts: Path, workers: int, count: int,
             cache: str | None) -> Iterator[list[servers.Server]]:
    """`count` × `homerec serve --workers N [--cache URL]`, started side by side, ready, then stopped."""
    with contextlib.ExitStack() as stack:
        procs = []
        for i in range(count):
            port = servers.free_port()
            cmd = [sys.executable, "-m", "homerec.cli.main", "serve", "--host", servers.HOST, "--port", str(port),
                   "--workers", str(workers), "--store", store_url, "--artifacts", str(artifacts),
                   *(["--cache", cache] if cache else [])]
            procs.append(stack.enter_context(servers.serve(cmd, run / f"{name}-{i}.log", port)))
        yield procs


def load(urls: list[str], script: Path, connections: int, seconds: float) -> dict:
    """wrk on every URL at once (connections and 2 wrk threads split over them): summed requests/s, worst p99."""
    per = max(1, connections // len(urls))
    threads = max(1, 2 // len(urls))
    results: list[dict] = [{}] * len(urls)

    def one(i: int) -> None:
        results[i] = wrk.run(urls[i], script, per, threads, seconds)

    workers = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return {"requests_per_s": sum(r["requests_per_s"] for r in results),
            "p99_ms": max(r["latency_ms"]["p99"] for r in results),
            "failed": sum(r["non_2xx"] + sum(r["socket_errors"].values()) for r in results),
            "per_replica": [r["requests_per_s"] for r in results]}


def throughput_rounds(run: Path, store_url: str, artifacts: Path, cache: str, script: Path, args) -> dict:
    """One replica × 2 workers (with and without the cache) and two × 1 worker, alternated; medians."""
    setups = {"one_replica": (2, 1, cache), "two_replicas": (1, 2, cache), "one_replica_no_cache": (2, 1, None)}
    rounds: dict[str, list[dict]] = {name: [] for name in setups}
    for r in range(args.rounds):
        for name, (workers, count, url) in setups.items():
            log(f"throughput: {name}, round {r + 1} of {args.rounds} …")
            with replicas(run, f"{name}-{r}", store_url, artifacts, workers, count, url) as procs:
                urls = [p.url for p in procs]
                load(urls, script, args.connections, args.warmup)
                rounds[name].append(load(urls, script, args.connections, args.seconds))
    out = {}
    for name, xs in rounds.items():
        out[name] = {"requests_per_s": float(statistics.median(x["requests_per_s"] for x in xs)),
                     "p99_ms": float(statistics.median(x["p99_ms"] for x in xs)),
                     "failed": sum(x["failed"] for x in xs), "rounds": xs}
    return out


def cross_reflection(url_a: str, url_b: str, users: list[str], give_up_s: float = 5.0) -> dict:
    """Per user: POST a purchase of its top item to one replica, GET the other until it is gone.

    Directions alternate (A→B, B→A). The span runs from sending the POST to receiving the first
    answer without the item; `reflected_next` counts users whose very next answer showed it.
    """
    clients = [Client(url_a), Client(url_b)]
    latencies, next_hits, sources = [], 0, {}
    try:
        for n, user in enumerate(users):
            writer, reader = clients[n % 2], clients[1 - n % 2]
            _, took, next_hit, source = reflect_one(writer, reader, user, give_up_s)
            latencies.append(took)
            next_hits += next_hit
            sources[source] = sources.get(source, 0) + 1
    finally:
        for c in clients:
            c.close()
    return {"users": len(users), "reflected_next": int(next_hits),
            "never_reflected": latencies.count(float("inf")), "median_ms": statistics.median(latencies),
            "p99_ms": float(np.percentile(latencies, 99)), "max_ms": max(latencies), "sources_after": sources}


def start_wrk(url: str, script: Path, connections: int) -> subprocess.Popen:
    """wrk for up to an hour; `stop_wrk` ends it (SIGINT: wrk then prints its report)."""
    cmd = [wrk.wrk_binary(), "-t1", f"-c{connections}", "-d3600s", "--latency", "-s", str(script), url]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_wrk(procs: list[subprocess.Popen]) -> dict:
    """SIGINT every wrk, parse their reports: requests and failures summed."""
    reports = []
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        out, _err = p.communicate(timeout=60)
        reports.append(wrk.parse(out))
    return {"requests": sum(r["requests"] for r in reports),
            "failed": sum(r["non_2xx"] + sum(r["socket_errors"].values()) for r in reports),
            "p99_ms": max(r["latency_ms"]["p99"] for r in reports)}


def _version(url: str, user: str) -> str:
    client = Client(url)
    try:
        return client.recommendations(user)["model_version"]
    finally:
        client.close()


def under_load(urls: list[str], script: Path, connections: int, action) -> tuple[dict, object]:
    """Run `action()` while wrk loads every URL; wrk's totals and what the action returned."""
    procs = [start_wrk(u, script, max(1, connections // len(urls))) for u in urls]
    time.sleep(2)
    try:
        result = action()
        time.sleep(1)
    finally:
        totals = stop_wrk(procs)
    return totals, result


def run_benchmark(args) -> dict:
    """Everything above, in one run."""
    wrk.wrk_binary()
    args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="homerec-bench-replicas-", dir=args.work) as tmp, \
            postgres_server(["fsync=off", "full_page_writes=off"], "homerec_bench") as pg_url, \
            RedisServer(Path(tmp)) as redis_server:
        work, run = Path(tmp), Path(tmp) / "run"
        run.mkdir()
        cache = redis_server.url()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOMEREC_")},
               "HOMEREC_STORE_URL": pg_url, "HOMEREC_ARTIFACT_DIR": str(work / "artifacts"), "HOMEREC_CACHE_URL": cache}
        log(f"preparing scale {args.scale:g} in PostgreSQL with Redis (generate, import, train, batch) …")
        steps = prepare(work, env, args.scale, args.seed)
        users = active_users(pg_url)
        ids, script = run / "users.txt", run / "recommendations.lua"
        wrk.write_user_file(users, ids)
        script.write_text(wrk.lua_script(ids))
        result = {"scale": args.scale, "machine": machine_note(), "command": COMMAND, "targets": TARGETS,
                  "prepared_seconds": steps, "users": len(users),
                  "load": {"connections": args.connections, "seconds": args.seconds, "warmup_seconds": args.warmup,
                           "rounds": args.rounds}}
        result["throughput"] = throughput_rounds(run, pg_url, work / "artifacts", cache, script, args)
        picked = random.Random(2).sample(users, args.events + 10)
        with replicas(run, "pair", pg_url, work / "artifacts", 1, 2, cache) as (a, b):
            log(f"event on one replica → next answer on the other, {args.events} users …")
            cross_reflection(a.url, b.url, picked[:10])  # untimed: lazy imports on each worker's first event
            result["events"] = {"warmup_users": 10, **cross_reflection(a.url, b.url, picked[10:])}
            log("batch refresh while wrk runs on both replicas …")
            t0 = time.perf_counter()
            totals, _ = under_load([a.url, b.url], script, args.connections,
                                   lambda: _cli(work, env, "batch", "--similar-items"))
            result["refresh"] = {**totals, "batch_seconds": time.perf_counter() - t0 - 3}
            log("promote under load …")

            def promote() -> tuple[float, dict]:
                command_s = _cli(work, env, "models", "promote", "v2")  # a new process: imports, under load
                t0, switched = time.perf_counter(), {}
                while len(switched) < 2 and time.perf_counter() - t0 < 120:
                    for name, url in (("a", a.url), ("b", b.url)):
                        if name not in switched and _version(url, users[0]) == "v2":
                            switched[name] = time.perf_counter() - t0
                    time.sleep(0.02)
                return command_s, switched

            totals, (command_s, switched) = under_load([a.url, b.url], script, args.connections, promote)
            result["promote"] = {**totals, "command_seconds": command_s, "switch_seconds": switched}
            _cli(work, env, "models", "rollback")
    return result


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def replicas_section(doc: dict) -> str:
    """The BENCHMARKS.md section: each target beside its same-run reference, and the command."""
    t, th, ev, rf, pr = doc["targets"], doc["throughput"], doc["events"], doc["refresh"], doc["promote"]
    one, two, plain = th["one_replica"], th["two_replicas"], th["one_replica_no_cache"]
    ratio = two["requests_per_s"] / one["requests_per_s"]
    cost = one["requests_per_s"] / plain["requests_per_s"]
    rounds = lambda x: ", ".join(f"{r['requests_per_s']:,.0f}" for r in x["rounds"])  # noqa: E731
    switch = ", ".join(f"{s:.2f} s" for s in sorted(pr["switch_seconds"].values())) or "did not switch"
    spread = max((max(r["requests_per_s"] for r in x["rounds"]) - min(r["requests_per_s"] for r in x["rounds"]))
                 / x["requests_per_s"] for x in th.values())
    rows = [
        ("Event on replica A → next answer on replica B",
         f"median {ev['median_ms']:.1f} ms, p99 {ev['p99_ms']:.1f} ms, max {ev['max_ms']:.1f} ms; "
         f"{ev['users'] - ev['never_reflected']}/{ev['users']} reflected, {ev['reflected_next']}/{ev['users']} in the "
         f"very next answer", "POST to one replica, GETs on the other, one keep-alive connection each",
         f"{ev['p99_ms'] / t['event_p99_ms']:.2f}×", f"p99 ≤ {t['event_p99_ms']:g} ms, every event reflected",
         _verdict(ev["p99_ms"] <= t["event_p99_ms"] and ev["never_reflected"] == 0)),
        ("Two replicas × 1 worker, cached answers (wrk split over both)",
         f"{two['requests_per_s']:,.0f} req/s, p99 {two['p99_ms']:.1f} ms (rounds: {rounds(two)})",
         f"one replica × 2 workers {one['requests_per_s']:,.0f} req/s, p99 {one['p99_ms']:.1f} ms "
         f"(rounds: {rounds(one)})", f"{ratio:.2f}×", f"≥ {t['two_replicas_ratio']:g}×",
         _verdict(ratio >= t["two_replicas_ratio"] and not two["failed"] and not one["failed"])),
        ("  (one replica with the shared cache vs without)", f"{one['requests_per_s']:,.0f} req/s",
         f"no --cache {plain['requests_per_s']:,.0f} req/s (rounds: {rounds(plain)})", f"{cost:.2f}×", "(context)",
         ""),
        ("Batch refresh (`homerec batch --cache`) while wrk runs on both replicas",
         f"{rf['failed']:,} failed of {rf['requests']:,} requests", f"batch {rf['batch_seconds']:.0f} s, p99 "
         f"{rf['p99_ms']:.1f} ms", "", f"{t['refresh_failed']} failed", _verdict(rf["failed"] == t["refresh_failed"])),
        ("  `homerec models promote` while wrk runs on both replicas", f"{pr['failed']:,} failed of {pr['requests']:,} "
         f"requests", f"the command took {pr['command_seconds']:.1f} s; then each replica answered v2 after {switch}",
         "", "(context: within a few seconds)", ""),
    ]
    out = ["| target | homerec | reference (same run) | ratio | target | |", "|---|---|---|---|---|---|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    m, ld = doc["machine"], doc["load"]
    out.append(
        f"\nGenerated data at scale {doc['scale']:g} in PostgreSQL, Redis 7 (Debian), the tuned hybrid; wrk "
        f"{ld['connections']} connections in all, {ld['seconds']:g} s after {ld['warmup_seconds']:g} s of warm-up, "
        f"random users among the {doc['users']:,} with a history; throughput medians of {ld['rounds']} alternated "
        f"rounds. wrk, PostgreSQL, Redis and every server share this machine's {m['cpus']} CPUs, so only the ratios "
        f"carry to other machines; rounds of one setup lie up to {spread:.0%} of their median apart. A cached "
        f"answer does not touch Redis (the lists are in each worker's memory), so the with/without-cache "
        f"difference lies within that spread. The event figure includes the POST's own round trip; the reading "
        f"replica then scores the user live from the store. The promote command is a new Python process started "
        f"under that load; the replicas switch once it has announced the switch. Preparation: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in doc["prepared_seconds"].items())
        + f". OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset ({', '.join(m['unset_env']) or 'none were set'}).")
    out.append(f"\nReproduce: `{doc['command']}`.")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("bench/out/replicas-work"))
    ap.add_argument("--out", type=Path, default=Path("bench/out/replicas.json"))
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, default=200)
    args = ap.parse_args()
    args.work = args.work.resolve()
    result = run_benchmark(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(replicas_section(result))


if __name__ == "__main__":
    main()
