# SPDX-License-Identifier: Apache-2.0
"""bench/personalize.py's helpers: percentiles of timed calls, and the section that states met or missed."""

import time

from bench.personalize import _timed, personalize_section


def test_timed_calls_skip_the_warm_up_and_give_percentiles():
    calls = [lambda: time.sleep(0.05)] * 3 + [lambda: None] * 100
    got = _timed(calls, warmup=3)
    assert got["requests"] == 100 and got["p50_ms"] < 5 and got["p99_ms"] < 40


def test_the_section_says_met_or_missed_against_the_target():
    doc = {"command": "python -m bench.personalize --scale 1.0", "scale": 1.0, "users": 400, "machine": "2 CPUs",
           "latency": {"native_cached": {"p50_ms": 1.0, "p99_ms": 3.0, "requests": 400},
                       "get_recommendations": {"p50_ms": 9.0, "p99_ms": 40.0, "requests": 400},
                       "put_events": {"p50_ms": 20.0, "p99_ms": 140.0, "requests": 400}},
           "agreement": {"pairs": 5000, "same": 5000, "share": 1.0}}
    text = personalize_section(doc)
    assert "| native cached | 1.0 | 3.0 | peer |" in text
    assert "| get recommendations | 9.0 | 40.0 | met |" in text
    assert "| put events | 20.0 | 140.0 | **missed** |" in text
    assert "5,000 of 5,000" in text and "python -m bench.personalize --scale 1.0" in text
