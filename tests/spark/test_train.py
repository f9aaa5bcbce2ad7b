# SPDX-License-Identifier: Apache-2.0
"""Spark training: the registered version is an ordinary ALS artifact, learned as the single-machine one is."""

import numpy as np
import polars as pl
import pyarrow as pa

from homerec.data.interactions import Interactions
from homerec.evaluation.autotune import MIXES
from homerec.models import load_model
from homerec.models.als import ALS
from homerec.models.registry import Registry
from homerec.pipeline.data import load_training_data
from homerec.spark.aggregate import digest, item_stats
from homerec.spark.als import SparkALSParams, fit_factors
from homerec.spark.read import ITEM_IDX, USER_IDX, WEIGHT, read_events, weighted
from homerec.storage import import_folder, open_store
from tests.models.conftest import checkerboard_frame
from tests.spark.conftest import SPARK_GROUP
from tests.storage.test_postgres_store import _reset

pytestmark = SPARK_GROUP


def test_the_version_is_an_als_artifact_over_the_stores_ids(spark_world):
    registry = Registry(spark_world["artifacts"])
    info = registry.info(spark_world["version"])
    assert info.active and info.meta["engine"] == "spark" and info.meta["model"] == "als"
    model = load_model(info.path / "model")
    assert type(model) is ALS and model.confidence_offset == 1.0 and model.weighted_regularization
    assert model.popularity_mix in MIXES
    store = open_store(spark_world["store_url"])
    try:
        td = load_training_data(store)
    finally:
        store.close()
    data = td.interactions
    assert set(model.users_.ids) == set(data.users.ids) and set(model.items_.ids) == set(data.items.ids)
    assert info.meta["n_interactions"] == len(data)
    # Users and items without events have zero factors; everyone with events has a learned vector.
    active = set(data.users.to_ids(np.unique(data.user_idx)))
    has_vector = np.linalg.norm(model.user_factors_, axis=1) > 0
    assert {u for u, v in zip(model.users_.ids, has_vector) if v} == active
    # item_known and the fallback are what fit() derives from the same events.
    counts = dict(zip(data.items.ids, data.item_counts()))
    assert {i for i, k in zip(model.items_.ids, model.item_known_) if k} == {i for i, c in counts.items() if c > 0}
    expected = ALS(factors=2, iterations=1).fit(data)
    by_id = dict(zip(expected.items_.ids, expected.fallback_))
    assert np.allclose([by_id[i] for i in model.items_.ids], model.fallback_, rtol=1e-4)
    assert np.all(np.diff(model.calibration_) >= 0) and model.calibration_[-1] > model.calibration_[0]


def test_recommendations_of_the_spark_model_are_personal_and_exclude_history(spark_world):
    model = Registry(spark_world["artifacts"]).load()
    store = open_store(spark_world["store_url"])
    try:
        users = store.interactions()["user_id"].unique(maintain_order=True).to_list()[:20]
        lists = {}
        for u in users:
            history = store.history(u)["item_id"].to_list()
            recs = model.recommend(u, 10, history=history)
            assert recs and not {r.item_id for r in recs} & set(history)
            assert all(r.reason == "als" and 0.0 <= r.score10 <= 10.0 for r in recs)
            lists[u] = tuple(r.item_id for r in recs)
    finally:
        store.close()
    assert len(set(lists.values())) > len(lists) // 2  # not one popular list for everyone


def test_fold_in_solves_the_problem_spark_solved(spark, checkerboard):
    """A training row folded in against Spark's item factors gives back Spark's user vector."""
    session, _ = spark
    frame = session.createDataFrame(pa.table({
        USER_IDX: pa.array(checkerboard.user_idx, pa.int32()), ITEM_IDX: pa.array(checkerboard.item_idx, pa.int32()),
        WEIGHT: pa.array(checkerboard.weight, pa.float32()), "ts": pa.array(checkerboard.ts, pa.int64())}))
    params = SparkALSParams(factors=4, iterations=15, regularization=0.05, alpha=5.0)
    users, items = fit_factors(frame, checkerboard.n_users, checkerboard.n_items, params)
    model = params.model().adopt(checkerboard.users, checkerboard.items, np.ones(checkerboard.n_items, bool),
                                 checkerboard.item_counts(), {"user_factors": users, "item_factors": items},
                                 checkerboard.to_csr(), 0.0)
    folded = model.fold_in(checkerboard.to_csr())
    assert np.allclose(folded, users, atol=2e-3)
    # implicit's objective (no offset, fixed regularisation) would not give it back.
    implicit_style = ALS(factors=4, regularization=0.05, alpha=5.0)
    implicit_style.item_factors_, implicit_style._yty = items, None
    assert not np.allclose(implicit_style.fold_in(checkerboard.to_csr()), users, atol=2e-3)


def test_events_read_the_same_from_sqlite_and_postgresql(spark, spark_world, postgres_url):
    """PostgreSQL through JDBC and SQLite through the Parquet export give the same indexed events."""
    session, work = spark
    _reset(postgres_url)
    pg = open_store(postgres_url)
    lite = open_store(spark_world["store_url"])
    try:
        import_folder(pg, spark_world["folder"], spark_world["root"] / "pg-rejects")
        a, b = read_events(session, lite, work), read_events(session, pg, work)
        assert a.frame.count() == b.frame.count() > 0
        assert a.users == b.users and a.items == b.items
        assert digest(a.frame) == digest(b.frame)
        ka, fa = item_stats(a.frame, len(a.items), a.max_ts())
        kb, fb = item_stats(b.frame, len(b.items), b.max_ts())
        assert np.array_equal(ka, kb) and np.allclose(fa, fb)
        until = int(lite.interactions()["ts"].median())
        early = read_events(session, pg, work, until=until)
        assert early.frame.count() == lite.interactions().filter(pl.col("ts") < until).height
    finally:
        pg.close()
        lite.close()


def test_event_weights_follow_the_event_types(spark, tmp_path):
    session, work = spark
    frame = checkerboard_frame().with_columns(pl.Series("event_type", ["Click", "view", "odd"] + ["purchase"] *
                                                        (checkerboard_frame().height - 3)))
    sdf = session.createDataFrame(frame.select("user_id", "item_id", "ts", "event_type").to_arrow())
    got = weighted(sdf, {"click": 0.25, "view": 0.1}, None).toArrow()["weight"].to_pylist()
    expected = Interactions.from_frame(frame, {"click": 0.25, "view": 0.1}).weight.tolist()
    assert np.allclose(got, expected)
