# SPDX-License-Identifier: Apache-2.0
"""bench.replicas: the section's verdicts."""

from bench.replicas import replicas_section


def _doc(event_p99: float, two: float, failed: int) -> dict:
    rnd = lambda rps: {"requests_per_s": rps, "p99_ms": 5.0, "failed": 0, "rounds": [{"requests_per_s": rps}]}  # noqa: E731
    return {"command": "python -m bench.replicas", "scale": 1.0, "users": 100, "targets": {"event_p99_ms": 100.0,
            "two_replicas_ratio": 0.9, "refresh_failed": 0}, "prepared_seconds": {"train": 60.0},
            "machine": {"cpus": 2, "unset_env": []},
            "load": {"connections": 64, "seconds": 10, "warmup_seconds": 2, "rounds": 1},
            "throughput": {"one_replica": rnd(1000.0), "two_replicas": rnd(two), "one_replica_no_cache": rnd(1000.0)},
            "events": {"users": 200, "never_reflected": 0, "reflected_next": 190, "median_ms": 5.0,
                       "p99_ms": event_p99, "max_ms": event_p99},
            "refresh": {"failed": failed, "requests": 5000, "batch_seconds": 30.0, "p99_ms": 50.0},
            "promote": {"failed": 0, "requests": 4000, "command_seconds": 3.0, "switch_seconds": {"a": 0.4, "b": 0.5}}}


def test_the_section_gives_a_verdict_per_target():
    assert replicas_section(_doc(40.0, 950.0, 0)).count("| met |") == 3
    text = replicas_section(_doc(140.0, 850.0, 2))
    assert text.count("**missed**") == 3 and "0.85×" in text and "2 failed of 5,000" in text

