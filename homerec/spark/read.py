# SPDX-License-Identifier: Apache-2.0
"""The store's events on Spark: PostgreSQL through JDBC, SQLite through a Parquet export.

Events become (user_idx, item_idx, weight, ts) over the id maps the artifact keeps: the
store's users and catalogue first, then ids that only occur in events (as the
single-machine trainer builds them), with each event weighted by its type.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from sqlalchemy.engine import make_url

from homerec.data.ids import IdMap
from homerec.data.schema import DEFAULT_EVENT_WEIGHTS, INTERACTIONS_TABLE, Col
from homerec.errors import ConfigError, InputError
from homerec.storage.base import Store

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

WEIGHT = "weight"
USER_IDX = "user_idx"
ITEM_IDX = "item_idx"
JDBC_PARTITIONS = 8
"""Parallel JDBC reads of the interactions table, split on its timestamp range."""


@dataclass(frozen=True)
class SparkEvents:
    """Events on Spark in index space (cached), with the artifact's id maps."""

    frame: "DataFrame"
    users: IdMap
    items: IdMap

    def max_ts(self) -> int:
        """Latest timestamp (0 without events), as Interactions.max_ts."""
        from pyspark.sql import functions as F

        return int(self.frame.agg(F.max(Col.ts)).first()[0] or 0)


def jdbc_options(store_url: str) -> dict[str, str]:
    """Spark JDBC options (url, user, password, driver) for a SQLAlchemy PostgreSQL URL."""
    url = make_url(store_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError(f"JDBC reads PostgreSQL stores, not {url.get_backend_name()}")
    if not url.host:
        raise ConfigError("Spark reaches PostgreSQL over TCP: give the store URL a host (…@HOST:PORT/DB)")
    query = "&".join(f"{k}={v}" for k, v in url.query.items() if isinstance(v, str))
    jdbc = f"jdbc:postgresql://{url.host}:{url.port or 5432}/{url.database or ''}" + (f"?{query}" if query else "")
    options = {"url": jdbc, "driver": "org.postgresql.Driver"}
    if url.username:
        options["user"] = url.username
    if url.password is not None:
        options["password"] = str(url.password)
    return options


def raw_events(spark: "SparkSession", store: Store, work_dir: str) -> "DataFrame":
    """The interactions table on Spark: (user_id, item_id, ts, event_type)."""
    columns = [Col.user_id, Col.item_id, Col.ts, Col.event_type]
    if store.url.startswith("postgresql"):
        options = jdbc_options(store.url)
        bounds = (spark.read.format("jdbc").options(**options)
                  .option("query", f"select min({Col.ts}) lo, max({Col.ts}) hi from {INTERACTIONS_TABLE}").load().first())
        reader = spark.read.format("jdbc").options(**options).option("dbtable", INTERACTIONS_TABLE)
        if bounds is not None and bounds["lo"] is not None and bounds["hi"] > bounds["lo"]:
            reader = (reader.option("partitionColumn", Col.ts).option("numPartitions", JDBC_PARTITIONS)
                      .option("lowerBound", int(bounds["lo"])).option("upperBound", int(bounds["hi"]) + 1))
        return reader.load().select(*columns)
    # SQLite (one file, one machine): one export of the rows to Parquet, which Spark then reads.
    path = Path(work_dir) / "export" / "interactions.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    store.interactions().select(columns).write_parquet(path)
    return spark.read.parquet(str(path))


def weighted(frame: "DataFrame", event_weights: dict[str, float] | None, until: int | None) -> "DataFrame":
    """(user_id, item_id, ts, weight): each event weighted by its type (unknown types 1.0), before `until`."""
    from pyspark.sql import functions as F

    weights = DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights
    # As Interactions.from_frame: the event type lower-cased, looked up among the keys as written.
    lookup = F.create_map(*[F.lit(x) for kv in weights.items() for x in (kv[0], float(kv[1]))])
    out = frame.select(
        F.col(Col.user_id).cast("string").alias(Col.user_id), F.col(Col.item_id).cast("string").alias(Col.item_id),
        F.col(Col.ts).cast("long").alias(Col.ts),
        F.coalesce(lookup[F.lower(F.col(Col.event_type))], F.lit(1.0)).cast("float").alias(WEIGHT),
    )
    return out.where(F.col(Col.ts) < until) if until is not None else out


def id_frame(spark: "SparkSession", ids: IdMap, name: str, idx: str) -> "DataFrame":
    """A two-column frame (name, idx) of an id map."""
    table = pa.table({name: pa.array(ids.ids.tolist(), pa.string()), idx: pa.array(np.arange(len(ids)), pa.int32())})
    return spark.createDataFrame(table)


def listed_ids(frame: "DataFrame", column: str, known: list[str], kind: str) -> IdMap:
    """The store's ids (`known`, in its order), then the ids only events have (sorted)."""
    seen = frame.select(column).distinct().toArrow()[column].to_pylist()
    return IdMap.from_ids(known + sorted(seen), kind)


def index_events(spark: "SparkSession", frame: "DataFrame", store: Store) -> SparkEvents:
    """Events over the artifact's id maps: the store's users and items, then ids only events have."""
    from pyspark.sql import functions as F

    users = listed_ids(frame, Col.user_id, store.users()[Col.user_id].to_list(), "user")
    items = listed_ids(frame, Col.item_id, store.items()[Col.item_id].to_list(), "item")
    indexed = (
        frame.join(F.broadcast(id_frame(spark, items, Col.item_id, ITEM_IDX)), Col.item_id)
        .join(id_frame(spark, users, Col.user_id, USER_IDX), Col.user_id)
        .select(USER_IDX, ITEM_IDX, WEIGHT, Col.ts)
        .cache()
    )
    if indexed.isEmpty():
        raise InputError(f"the store {store.url} holds no interactions to train on: run `homerec import DIR` first")
    return SparkEvents(indexed, users, items)


def read_events(
    spark: "SparkSession", store: Store, work_dir: str, event_weights: dict[str, float] | None = None,
    until: int | None = None,
) -> SparkEvents:
    """The store's events (before `until`) on Spark, weighted and indexed."""
    return index_events(spark, weighted(raw_events(spark, store, work_dir), event_weights, until), store)
