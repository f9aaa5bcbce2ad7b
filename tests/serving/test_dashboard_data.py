# SPDX-License-Identifier: Apache-2.0
"""The dashboard's data helpers: event-rate buckets, the TTL cache, model and history summaries."""

import time
from pathlib import Path

import polars as pl

from homerec.data.schema import Col
from homerec.models.registry import VersionInfo
from homerec.serving.dashboard_data import (
    TTLCache,
    event_rate,
    models_summary,
    user_history,
)

NOW = 1_800_000_000


def _events(ts: list[int], types: list[str | None] | None = None) -> pl.DataFrame:
    n = len(ts)
    return pl.DataFrame({Col.user_id: ["u10"] * n, Col.item_id: [f"i{i}" for i in range(n)], Col.ts: ts,
                         Col.event_type: types or ["click"] * n, Col.event_value: [None] * n},
                        schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64,
                                Col.event_type: pl.String, Col.event_value: pl.Float64})


def test_event_rate_buckets_by_minute_oldest_first():
    frame = _events([NOW - 3600, NOW - 3599, NOW - 3539, NOW - 299, NOW - 61, NOW - 59, NOW, NOW + 5],
                    ["view", "view", "click", "click", None, "click", "purchase", "click"])
    rate = event_rate(frame, NOW)
    # NOW - 3600 is outside the hour and NOW + 5 is in the future: neither counts
    assert rate["last_hour"] == 6 and rate["last_5min"] == 4
    assert rate["per_minute"][0] == 1 and rate["per_minute"][1] == 1
    assert rate["per_minute"][55] == 1 and rate["per_minute"][58] == 1 and rate["per_minute"][59] == 2
    assert sum(rate["per_minute"]) == 6
    assert rate["by_type"] == {"click": 3, "view": 1, "": 1, "purchase": 1}


def test_event_rate_of_no_events():
    rate = event_rate(_events([]), NOW)
    assert rate == {"last_hour": 0, "last_5min": 0, "per_minute": [0] * 60, "by_type": {}}


def test_ttl_cache_reuses_a_value_until_it_expires():
    calls = []
    cache = TTLCache(0.2)
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get("a", compute) == 1 and cache.get("a", compute) == 1
    assert cache.get("b", compute) == 2
    time.sleep(0.25)
    assert cache.get("a", compute) == 3


def test_ttl_cache_keeps_slow_values_longer():
    cache = TTLCache(0.0)
    calls = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.02)
        return len(calls)

    assert cache.get("a", slow) == 1 and cache.get("a", slow) == 1  # kept ~0.2 s (10x its 0.02 s)


def test_models_summary_newest_first_with_the_model_s_own_metric():
    infos = [
        VersionInfo("v1", Path("v1"), {"model": "hybrid", "validation_ndcg": {"hybrid": 0.2, "als": 0.1}}, False),
        VersionInfo("v2", Path("v2"), {"model": "als", "validation_ndcg": {"als": float("nan")}}, True),
        VersionInfo("v3", Path("v3"), {"model": "popularity"}, False),
    ]
    out = models_summary(infos)
    assert [m["version"] for m in out] == ["v3", "v2", "v1"]
    assert [m["active"] for m in out] == [False, True, False]
    assert [m["validation_ndcg"] for m in out] == [None, None, 0.2]  # NaN is not JSON: None
    assert out[2]["parts"] == {"hybrid": 0.2, "als": 0.1}


def test_user_history_is_the_newest_events_first():
    frame = _events([NOW - 30, NOW - 20, NOW - 10]).with_columns(pl.Series(Col.event_value, [None, 2.5, None]))
    assert user_history(frame, 2) == [
        {"item_id": "i2", "ts": NOW - 10, "event_type": "click", "event_value": None},
        {"item_id": "i1", "ts": NOW - 20, "event_type": "click", "event_value": 2.5},
    ]
