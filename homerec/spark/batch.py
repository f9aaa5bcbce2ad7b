# SPDX-License-Identifier: Apache-2.0
"""homerec batch --engine spark: every user's top-k scored on the cluster, written as the single-machine batch writes.

The executors get the item side of the ALS artifact by broadcast (item factors, popularity,
calibration, and the products added since training with their metadata neighbours); each
user's row carries their factors (when the model learned them) and current history, so no
executor holds every user. Each partition scores its users in chunks with the very
`recommend_batch` the single-machine batch calls: one top-k per chunk, seen items
excluded, cold users on the popularity fallback. The driver streams the lists in user order
into the same Personalize JSON lines (or CSV) and the same serving cache (same namespaces,
model version and computed_at) through `pipeline.batch.write_lists`; similar items (one row
per product) are scored on the driver.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from homerec.batch.inference import Lists
from homerec.data.ids import IdMap
from homerec.data.schema import Col
from homerec.errors import ConfigError
from homerec.models.als import ALS
from homerec.models.base import Recommender
from homerec.models.new_items import NewItems, WithNewItems, find_new_items
from homerec.models.registry import Registry
from homerec.models.relative import log_partition
from homerec.pipeline.batch import BatchJob, BatchReport, Progress, check_format, read_user_file, write_lists
from homerec.spark.read import ITEM_IDX, WEIGHT, id_frame, listed_ids, raw_events, weighted
from homerec.storage.base import Store

POS = "pos"
FACTORS = "factors"
OUT_SCHEMA = f"{Col.user_id} string, {POS} long, idx array<int>, scores array<float>, cold boolean, log_z double"


@dataclass
class ItemSide:
    """What every executor needs (broadcast): the model without its user factors, and the new items."""

    model: ALS
    new: NewItems

    def scorer(self) -> Recommender:
        """The model batch scores with: the ALS, wrapped with the new products when there are some."""
        return WithNewItems(self.model, self.new) if self.new.ids else self.model

    def score(self, batch: pa.RecordBatch, k: int, include_seen: bool, chunk: int) -> Iterator[pa.RecordBatch]:
        """Top-k of each user of an Arrow batch (user_id, pos, item_idx[], weight[], factors[])."""
        scorer = self.scorer()
        n_items, rank = len(scorer.items_), self.model.item_factors_.shape[1]
        for lo in range(0, batch.num_rows, chunk):
            part = batch.slice(lo, chunk)
            has = part[FACTORS].is_valid().to_numpy(zero_copy_only=False)
            factors = part[FACTORS].filter(pa.array(has)).flatten().to_numpy(zero_copy_only=False)
            self.model.user_factors_ = factors.astype(np.float32).reshape(int(has.sum()), rank)
            uidx = np.where(has, np.cumsum(has) - 1, -1)
            items = [x or [] for x in part[ITEM_IDX].to_pylist()]
            weights = [x or [] for x in part[WEIGHT].to_pylist()]
            indptr = np.concatenate([[0], np.cumsum([len(x) for x in items])])
            hist = sp.csr_matrix((np.fromiter(chain.from_iterable(weights), np.float32, int(indptr[-1])),
                                  np.fromiter(chain.from_iterable(items), np.int64, int(indptr[-1])), indptr),
                                 shape=(part.num_rows, n_items))
            hist.sum_duplicates()
            idx, vals, cold = scorer.recommend_batch(uidx, hist, k, None if include_seen else hist)
            log_z = np.full(len(uidx), -np.inf)  # the Personalize-scale normaliser, as the runtime computes it
            warm = np.flatnonzero(~cold)
            if len(warm):
                log_z[warm] = log_partition(scorer, scorer.score(uidx[warm], hist[warm]))
            keep = idx >= 0
            yield pa.RecordBatch.from_pydict({
                Col.user_id: part[Col.user_id], POS: part[POS],
                "idx": pa.array([row[m].tolist() for row, m in zip(idx, keep)], pa.list_(pa.int32())),
                "scores": pa.array([row[m].tolist() for row, m in zip(vals, keep)], pa.list_(pa.float32())),
                "cold": pa.array(cold.tolist(), pa.bool_()),
                "log_z": pa.array(log_z, pa.float64()),
            })


def item_side(model: ALS, catalog) -> ItemSide:
    """The broadcast half of the artifact (user factors dropped) and the catalogue's new products."""
    slim = ALS(**model.params())
    slim.users_, slim.items_ = IdMap([], "user"), model.items_
    slim.item_known_, slim.fallback_, slim.calibration_ = model.item_known_, model.fallback_, model.calibration_
    slim._set_arrays({"user_factors": np.zeros((0, model.item_factors_.shape[1]), np.float32),
                      "item_factors": model.item_factors_})
    return ItemSide(slim, find_new_items(model, catalog))


def _lists(rows: Iterator, width: int, chunk: int) -> Iterator[Lists]:
    """Driver side: the scored rows, in user order, as the writers' chunks."""
    def flush(buf: list) -> Lists:
        idx = np.full((len(buf), width), -1, dtype=np.int64)
        vals = np.full((len(buf), width), -np.inf, dtype=np.float32)
        for r, row in enumerate(buf):
            idx[r, : len(row["idx"])] = row["idx"]
            vals[r, : len(row["scores"])] = row["scores"]
        return Lists([row[Col.user_id] for row in buf], idx, vals, np.asarray([row["cold"] for row in buf]),
                     np.asarray([row["log_z"] for row in buf], dtype=np.float64))

    buf: list = []
    for row in rows:
        buf.append(row)
        if len(buf) == chunk:
            yield flush(buf)
            buf = []
    if buf:
        yield flush(buf)


def run_batch_on_spark(
    spark, work_dir: str, store: Store, registry: Registry, out: Path | None, fmt: str = "personalize", k: int = 10,
    users_file: Path | None = None, similar_items: bool = False, include_seen: bool = False, chunk: int = 2048,
    workers: int = 2, event_weights: dict[str, float] | None = None, progress: Progress | None = None,
) -> BatchReport:
    """`pipeline.batch.run_batch` with the users scored on Spark (ALS artifacts)."""
    from pyspark.sql import functions as F

    check_format(fmt, out, include_seen)
    tick = progress or (lambda _t, _d, _n: None)
    started = time.perf_counter()
    version = registry.active()
    model = registry.load(version)
    if not isinstance(model, ALS):
        raise ConfigError(f"Spark batch scores ALS models (homerec train --engine spark, or --models als); "
                          f"{version} is {model.name}: run homerec batch without --engine spark")
    side = item_side(model, store.items())
    scorer = side.scorer()
    position = store.change_position()  # before the events: a later change makes its user's list stale
    snapshot = int(time.time())
    events = weighted(raw_events(spark, store, work_dir), event_weights, None)
    user_ids = read_user_file(users_file) if users_file else \
        listed_ids(events, Col.user_id, store.users()[Col.user_id].to_list(), "user").ids.tolist()
    users = spark.createDataFrame(pa.table({Col.user_id: user_ids, POS: np.arange(len(user_ids))}))
    history = (events.join(F.broadcast(id_frame(spark, scorer.items_, Col.item_id, ITEM_IDX)), Col.item_id)
               .groupBy(Col.user_id, ITEM_IDX).agg(F.sum(WEIGHT).alias(WEIGHT))
               .groupBy(Col.user_id).agg(F.collect_list(ITEM_IDX).alias(ITEM_IDX), F.collect_list(WEIGHT).alias(WEIGHT)))
    factors = spark.createDataFrame(pa.table({
        Col.user_id: model.users_.ids.tolist(),
        FACTORS: pa.FixedSizeListArray.from_arrays(pa.array(model.user_factors_.ravel()), model.factors).cast(
            pa.list_(pa.float32())),
    }))
    shared = spark.sparkContext.broadcast(side)
    width, parts = min(k, len(scorer.items_)), max(1, spark.sparkContext.defaultParallelism)

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from shared.value.score(batch, k, include_seen, chunk)

    scored = (users.join(history, Col.user_id, "left").join(factors, Col.user_id, "left")
              .repartition(parts).mapInArrow(score, OUT_SCHEMA).orderBy(POS))
    job = BatchJob(store, scorer, version, snapshot, position, None if out is None else Path(out), fmt, k, include_seen,
                   similar_items, workers)
    n_cold, n_items = write_lists(job, _lists(scored.toLocalIterator(prefetchPartitions=True), width, chunk),
                                  len(user_ids), tick)
    shared.unpersist()
    return BatchReport(version, len(user_ids), n_cold, n_items, job.out, time.perf_counter() - started)
