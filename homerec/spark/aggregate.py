# SPDX-License-Identifier: Apache-2.0
"""What fit() derives from the events besides the factors, computed on Spark and collected small.

Per item: whether it has events and its trending popularity (the fallback and the
popularity mix's prior); per listed user: their summed weights as CSR rows (for the
validation users and the calibration sample, never for everyone).
"""

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from homerec.data.schema import Col
from homerec.models.base import FALLBACK_HALF_LIFE_DAYS
from homerec.spark.read import ITEM_IDX, USER_IDX, WEIGHT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CALIBRATION_USERS = 300
"""Users with history the 0-10 calibration is computed on (as Recommender._calibrate draws)."""


def item_stats(frame: "DataFrame", n_items: int, max_ts: int) -> tuple[np.ndarray, np.ndarray]:
    """(item_known, fallback) as Recommender.fit() computes them from the same events.

    fallback = the weight decayed with FALLBACK_HALF_LIFE_DAYS from the latest event,
    plus 1e-6 × the summed weight (ties go to the all-time popular item).
    """
    from pyspark.sql import functions as F

    age_days = (F.lit(max_ts) - F.col(Col.ts)) / 86400.0
    rows = frame.groupBy(ITEM_IDX).agg(
        F.sum(F.col(WEIGHT) * F.pow(F.lit(2.0), -age_days / FALLBACK_HALF_LIFE_DAYS)).alias("trend"),
        F.sum(WEIGHT).alias("total"),
    ).toArrow()
    idx = rows[ITEM_IDX].to_numpy()
    known = np.zeros(n_items, dtype=bool)
    known[idx] = True
    trend = np.zeros(n_items, dtype=np.float32)
    trend[idx] = rows["trend"].to_numpy().astype(np.float32)
    total = np.zeros(n_items, dtype=np.float32)
    total[idx] = rows["total"].to_numpy().astype(np.float32)
    return known, trend + np.float32(1e-6) * total


def user_rows(spark: "SparkSession", frame: "DataFrame", users: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Summed weights (len(users) × n_items) of the given user indices, rows in their order."""
    from pyspark.sql import functions as F

    users = np.asarray(users, dtype=np.int64)
    wanted = spark.createDataFrame(pa.table({USER_IDX: pa.array(users.astype(np.int32)), "row": np.arange(len(users))}))
    rows = (frame.join(F.broadcast(wanted), USER_IDX)
            .groupBy("row", ITEM_IDX).agg(F.sum(WEIGHT).alias(WEIGHT)).toArrow())
    return sp.csr_matrix(
        (rows[WEIGHT].to_numpy().astype(np.float32), (rows["row"].to_numpy(), rows[ITEM_IDX].to_numpy())),
        shape=(len(users), n_items), dtype=np.float32,
    )


def calibration_sample(frame: "DataFrame", seed: int = 0) -> np.ndarray:
    """Up to CALIBRATION_USERS user indices with events, drawn with numpy's generator like fit()."""
    users = np.sort(frame.select(USER_IDX).distinct().toArrow()[USER_IDX].to_numpy().astype(np.int64))
    if len(users) <= CALIBRATION_USERS:
        return users
    return np.sort(np.random.default_rng(seed).choice(users, CALIBRATION_USERS, replace=False))


def digest(frame: "DataFrame") -> str:
    """A fingerprint of the events (count and an order-free sum of row hashes) for the version's meta."""
    from pyspark.sql import functions as F

    row = frame.agg(F.count(F.lit(1)).alias("n"),
                    F.sum(F.xxhash64(USER_IDX, ITEM_IDX, WEIGHT, Col.ts).cast("decimal(38,0)")).alias("h")).first()
    return f"spark-{int(row['n']):x}-{int(row['h'] or 0) % 2**64:016x}"
