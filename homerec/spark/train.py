# SPDX-License-Identifier: Apache-2.0
"""homerec train --engine spark: ALS on Spark, registered as the same artifact the single-machine trainer writes.

On Spark: reading and weighting the events, the validation split and the probe fit that
choose the popularity mix, the final factorisation, the item popularity (the fallback and
the mix's prior) and the data digest. On the driver: the 0-10 calibration over a sample of
300 users (their rows are collected) and the registration. The hybrid's other parts
(item-kNN, EASE, content, user-kNN) and the blend stay on one machine: see docs/scaling.md.
"""

import json
import time
from collections.abc import Callable

from homerec.models.item_rule import NonProductRule
from homerec.models.registry import Registry
from homerec.pipeline.train import TrainReport
from homerec.spark.aggregate import calibration_sample, digest, item_stats, user_rows
from homerec.spark.als import SparkALSParams, fit_factors
from homerec.spark.read import read_events
from homerec.spark.tune import tune_mix
from homerec.storage.base import Store

ENGINE = "spark"


def train_on_spark(
    spark, work_dir: str, store: Store, registry: Registry, params: SparkALSParams = SparkALSParams(),
    event_weights: dict[str, float] | None = None, activate: bool = True,
    progress: Callable[[str], None] | None = None, until: int | None = None, tune_mix_share: bool = True,
    rule: NonProductRule | None = None,
) -> TrainReport:
    """Train ALS on Spark from the store and register it as a new version.

    Args:
        spark: a started SparkSession (see homerec.spark.session.spark_session).
        work_dir: the session's work folder (the SQLite export goes there).
        tune_mix_share: choose the popularity mix on the validation split (a second Spark
            fit); False keeps 0.
        until: train on events before this epoch second only.
        rule: items never to recommend (non-products), kept in the model as a mask, as one machine does.
    """
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    say(f"reading interactions from the store on Spark ({spark.sparkContext.master})")
    events = read_events(spark, store, work_dir, event_weights, until)
    n_users, n_items = len(events.users), len(events.items)
    n_events = events.frame.count()
    say(f"{n_events:,} interactions, {n_users:,} users, {n_items:,} items")
    rule = rule or NonProductRule()
    non_products = rule.non_products(store.items(), events.items.ids.tolist())
    recommendable = None if rule.empty else ~non_products
    mix = tune_mix(events, params, say=say) if tune_mix_share else 0.0
    say("fitting ALS on Spark")
    fit_started = time.perf_counter()
    user_factors, item_factors = fit_factors(events.frame, n_users, n_items, params)
    fit_seconds = time.perf_counter() - fit_started
    max_ts = events.max_ts()
    known, fallback = item_stats(events.frame, n_items, max_ts)
    calibration = user_rows(spark, events.frame, calibration_sample(events.frame), n_items)
    model = params.model(mix).adopt(events.users, events.items, known, fallback,
                                    {"user_factors": user_factors, "item_factors": item_factors},
                                    calibration, fit_seconds, recommendable)
    model.item_rule_ = "" if rule.empty else rule.to_json()
    seconds = time.perf_counter() - started
    meta = {
        "data_digest": digest(events.frame), "n_users": n_users, "n_items": n_items, "n_interactions": n_events,
        "train_seconds": round(seconds, 2), "validation_ndcg": {}, "trained_until": max_ts, "store": store.url,
        "notes": {}, "engine": ENGINE, "spark_master": spark.sparkContext.master,
        "non_products": {"rule": json.loads(rule.to_json()), "n_items": int(non_products.sum())},
    }
    version = registry.register(model, meta, activate=activate)
    events.frame.unpersist()
    return TrainReport(version=version, model=model.name, parts=[model.name], skipped={}, n_users=n_users,
                       n_items=n_items, n_interactions=n_events, seconds=seconds,
                       part_seconds={model.name: round(fit_seconds, 2)}, non_products=int(non_products.sum()))
