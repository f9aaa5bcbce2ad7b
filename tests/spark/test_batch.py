# SPDX-License-Identifier: Apache-2.0
"""Spark batch writes what the single-machine batch writes, for the same artifact and store."""

import json
from pathlib import Path

import polars as pl
import pytest

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS
from homerec.errors import ConfigError
from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.pipeline.train import train
from homerec.spark.batch import run_batch_on_spark
from homerec.storage import open_store
from tests.serving.conftest import copy_store as copy_world_store
from tests.spark.conftest import SPARK_GROUP

pytestmark = SPARK_GROUP


def copy_store(url: str, target: Path) -> str:
    """A private copy of a SQLite store; its URL."""
    return copy_world_store({"store_url": url}, target)


@pytest.fixture(scope="module")
def changed_store(spark_world, tmp_path_factory) -> str:
    """The world's store after training: a new product with metadata, a new user, and new events of a known one."""
    root = tmp_path_factory.mktemp("spark-batch")
    url = copy_store(spark_world["store_url"], root / "homerec.db")
    store = open_store(url)
    try:
        items = store.items()
        template = items.row(0, named=True)
        store.upsert_items(pl.DataFrame([{**template, "item_id": "P-NEW-1"}]))
        known_user = store.interactions()["user_id"][0]
        some = items["item_id"].to_list()[:3]
        store.add_interactions(pl.DataFrame({
            "user_id": ["newcomer", "newcomer", known_user], "item_id": [some[0], "P-NEW-1", some[1]],
            "ts": [1_900_000_000] * 3, "event_type": ["purchase", "click", "purchase"], "event_value": [None] * 3,
        }))
    finally:
        store.close()
    return url


def _cache(url: str, namespace: str, keys: list[str]) -> dict:
    store = open_store(url)
    try:
        return {k: store.get_recs(namespace, k) for k in keys}
    finally:
        store.close()


def test_spark_batch_writes_the_single_machine_lines_and_cache(spark, spark_world, changed_store, tmp_path):
    session, work = spark
    registry = Registry(spark_world["artifacts"])
    single_url = copy_store(changed_store, tmp_path / "single.db")
    spark_url = copy_store(changed_store, tmp_path / "spark.db")
    single_store, spark_store = open_store(single_url), open_store(spark_url)
    try:
        a = run_batch(single_store, registry, tmp_path / "single.jsonl", k=10, similar_items=True)
        b = run_batch_on_spark(session, work, spark_store, registry, tmp_path / "spark.jsonl", k=10, similar_items=True)
    finally:
        single_store.close()
        spark_store.close()
    lines_a = (tmp_path / "single.jsonl").read_text().splitlines()
    lines_b = (tmp_path / "spark.jsonl").read_text().splitlines()
    assert len(lines_a) == a.n_users + a.n_items and a.n_users > 100
    assert lines_b == lines_a
    assert (b.version, b.n_users, b.n_fallback_users, b.n_items) == (a.version, a.n_users, a.n_fallback_users, a.n_items)
    docs = {json.loads(line)["input"].get("userId"): json.loads(line) for line in lines_b[: a.n_users]}
    assert docs["newcomer"]["output"]["recommendedItems"]  # folded in from two events
    items = [json.loads(line)["input"]["itemId"] for line in lines_b[a.n_users :]]
    assert "P-NEW-1" in items  # the product added after training is scored through its metadata
    users = list(docs)[:50] + ["newcomer"]
    cache_a, cache_b = _cache(single_url, USER_RECS, users), _cache(spark_url, USER_RECS, users)
    assert all(cache_b[u] is not None and cache_b[u].model_version == a.version for u in users if u)
    assert {u: c.items for u, c in cache_a.items()} == {u: c.items for u, c in cache_b.items()}
    item = json.loads(lines_b[-1])["input"]["itemId"]
    assert _cache(single_url, SIMILAR_ITEMS, [item])[item].items == _cache(spark_url, SIMILAR_ITEMS, [item])[item].items


def test_buy_again_lists_and_a_user_file_in_csv(spark, spark_world, tmp_path):
    session, work = spark
    registry = Registry(spark_world["artifacts"])
    store = open_store(copy_store(spark_world["store_url"], tmp_path / "h.db"))
    try:
        users = store.interactions()["user_id"].unique(maintain_order=True).to_list()[:5] + ["nobody"]
        (tmp_path / "users.txt").write_text("\n".join(users))
        run_batch(store, registry, tmp_path / "a.csv", fmt="csv", users_file=tmp_path / "users.txt", include_seen=True)
        r = run_batch_on_spark(session, work, store, registry, tmp_path / "b.csv", fmt="csv",
                               users_file=tmp_path / "users.txt", include_seen=True)
    finally:
        store.close()
    assert r.n_users == 6 and r.n_fallback_users == 1
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "a.csv").read_text()


def test_spark_batch_refuses_a_model_it_cannot_score(spark, spark_world, tmp_path):
    session, work = spark
    store = open_store(copy_store(spark_world["store_url"], tmp_path / "p.db"))
    try:
        registry = Registry(tmp_path / "artifacts")
        train(store, registry, models=["popularity"])
        with pytest.raises(ConfigError, match="Spark batch scores ALS"):
            run_batch_on_spark(session, work, store, registry, tmp_path / "x.jsonl")
    finally:
        store.close()
