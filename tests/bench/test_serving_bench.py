# SPDX-License-Identifier: Apache-2.0
"""The serving benchmark's wrk helpers: the report parser, the Lua script, the user file, the section."""

import pytest

from bench import wrk
from bench.serving import serving_section
from homerec.errors import InputError

# Captured from `wrk -t2 -c8 -d2s --latency -s script.lua` against bench/trivial_app.py on uvicorn.
SAMPLE = """Running 2s test @ http://127.0.0.1:8931
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.11ms    2.46ms  22.64ms   90.67%
    Req/Sec     2.51k     0.91k    3.97k    64.29%
  Latency Distribution
     50%    1.21ms
     75%    2.07ms
     90%    4.28ms
     99%   14.59ms
  10500 requests in 2.11s, 2.47MB read
Requests/sec:   4972.41
Transfer/sec:      1.17MB
"""

# The lines wrk adds under overload: microsecond and second units, socket errors, error statuses.
OVERLOADED = """Running 10s test @ http://127.0.0.1:8000
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   850.12us    1.20ms   1.99s    98.00%
    Req/Sec    20.10k     1.00k   22.00k    70.00%
  Latency Distribution
     50%  612.00us
     75%  800.50us
     90%    1.10ms
     99%    1.50s
  401234 requests in 10.00s, 60.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 17
  Non-2xx or 3xx responses: 42
Requests/sec:  40123.40
Transfer/sec:      6.00MB
"""


def test_parse_reads_throughput_and_percentiles_in_ms():
    r = wrk.parse(SAMPLE)
    assert r["requests"] == 10500 and r["seconds"] == pytest.approx(2.11)
    assert r["requests_per_s"] == pytest.approx(4972.41)
    assert r["latency_ms"] == pytest.approx({"avg": 2.11, "p50": 1.21, "p75": 2.07, "p90": 4.28, "p99": 14.59})
    assert r["non_2xx"] == 0 and sum(r["socket_errors"].values()) == 0


def test_parse_converts_units_and_counts_errors():
    r = wrk.parse(OVERLOADED)
    assert r["latency_ms"]["p50"] == pytest.approx(0.612)
    assert r["latency_ms"]["p99"] == pytest.approx(1500.0)
    assert r["latency_ms"]["avg"] == pytest.approx(0.85012)
    assert r["socket_errors"] == {"connect": 0, "read": 3, "write": 0, "timeout": 17}
    assert r["non_2xx"] == 42


def test_parse_rejects_a_report_without_latency_distribution():
    without = "\n".join(line for line in SAMPLE.splitlines() if "%" not in line or "Stdev" in line)
    with pytest.raises(ValueError, match="--latency"):
        wrk.parse(without)


def test_user_file_quotes_ids_one_a_line(tmp_path):
    path = tmp_path / "users.txt"
    assert wrk.write_user_file(["C000001", "a b/c", "é"], path) == 3
    assert path.read_text().splitlines() == ["C000001", "a%20b%2Fc", "%C3%A9"]
    with pytest.raises(InputError):
        wrk.write_user_file([], path)


def test_lua_script_reads_the_file_and_fills_the_path(tmp_path):
    script = wrk.lua_script(tmp_path / "users.txt")
    assert f'io.lines("{tmp_path / "users.txt"}")' in script
    assert 'wrk.format("GET", "/v1/users/" .. user .. "/recommendations?num_results=10")' in script
    assert "function request()" in script and "math.random(#ids)" in script
    custom = wrk.lua_script(tmp_path / "u.txt", "/x/{user}")
    assert '"/x/" .. user .. ""' in custom


@pytest.mark.parametrize("template", ["/v1/users/recs", "/{user}/{user}"])
def test_lua_script_needs_one_user_slot(tmp_path, template):
    with pytest.raises(InputError):
        wrk.lua_script(tmp_path / "u.txt", template)


def _load(rps: float, p99: float, ratio: float | None = None) -> dict:
    out = {"requests_per_s": rps, "latency_ms": {"p99": p99}, "non_2xx": 0, "idle": {"median_ms": 1.0},
           "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
           "workers_memory_mb": [{"rss_mb": 900.0, "hwm_mb": 950.0}]}
    return out if ratio is None else {**out, "ratio": ratio}


def test_serving_section_gives_a_verdict_per_target_and_stack():
    events = {"users": 200, "warmup_users": 10, "reflected_next": 200, "median_ms": 6.0, "p99_ms": 12.0,
              "max_ms": 15.0}
    fast = {"trivial": _load(10000, 5.0), "cached": {**_load(8000, 8.0, 0.8), "sources": {"cache": 100}},
            "live": {**_load(5000, 15.0, 0.5), "sources": {"model": 90, "fallback": 10}}, "events": events}
    slow = {**fast, "cached": {**_load(8000, 8.0, 0.8), "non_2xx": 3},
            "events": {**events, "reflected_next": 199}}
    result = {"targets": {"cached_ratio": 0.7, "cached_p99_ms": 10.0, "live_ratio": 0.3, "live_p99_ms": 20.0,
                          "event_ms": 50.0, "worker_rss_mb": 1536.0},
              "stacks": {"granian": fast, "uvicorn": slow}, "scale": 1.0,
              "load": {"connections": 64, "wrk_threads": 2, "seconds": 10, "warmup_seconds": 2, "workers": 2,
                       "users": 74000, "cached_users": 180000},
              "machine": {"cpus": 2, "unset_env": []}, "command": "python -m bench.serving",
              "prepared": {"steps_seconds": {"train": 60.0}}}
    text = serving_section(result)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["Cached recommendations (granian)"].endswith("| met |")
    assert "0.80×" in rows["Cached recommendations (granian)"]
    live = rows["Live hybrid scoring, cache bypassed (granian)"]
    assert "10/100 sampled answers not from the model" in live and live.endswith("| **missed** |")
    assert rows["Event acknowledged by one process → reflected in the next recommendation of another (granian)"].endswith("| met |")
    assert rows["Serving RSS per worker, scale 1 (granian)"].endswith("| met |")
    assert rows["Cached recommendations (uvicorn)"].endswith("| **missed** |")  # 3 error answers
    assert rows["Event acknowledged by one process → reflected in the next recommendation of another (uvicorn)"].endswith("| **missed** |")
    assert "`python -m bench.serving`" in text
