# SPDX-License-Identifier: Apache-2.0
"""pyspark.ml's implicit ALS → the factor arrays of homerec's ALS artifact.

Confidence is built as the single-machine model builds it: the event weights of a
(user, item) pair are summed, then log1p (``log_confidence``) and × alpha. Spark's implicit
ALS solves Hu et al.'s problem with confidence 1 + alpha × rating and a regularisation
scaled by each user's (item's) number of ratings; the artifact records both
(``confidence_offset=1``, ``weighted_regularization=True``) so that fold-in of a new history
in serving solves the problem Spark solved.
"""

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from homerec.models.als import ALS
from homerec.spark.read import ITEM_IDX, USER_IDX, WEIGHT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

RATING = "rating"


@dataclass(frozen=True)
class SparkALSParams:
    """Hyper-parameters of Spark's ALS, named as homerec's ALS names them.

    ``regularization`` is Spark's regParam, which Spark multiplies by each user's (item's)
    number of ratings. 1.0 was the best of 0.01, 0.05, 0.2, 0.5, 1, 2 and 5 on the validation
    split of the generated data (scale 0.1, validation NDCG@10 0.137 … 0.162 … 0.044);
    bench/spark.py measures the outcome on the test split.
    """

    factors: int = 64
    iterations: int = 15
    regularization: float = 1.0
    alpha: float = 10.0
    log_confidence: bool = True
    random_state: int = 0
    blocks: int = 0
    """User and item blocks of Spark's ALS (0: Spark's default parallelism)."""

    def model(self, popularity_mix: float = 0.0) -> ALS:
        """An unfitted homerec ALS whose params describe these factors."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(ALS) if hasattr(self, f.name)}
        return ALS(**fields, popularity_mix=popularity_mix, confidence_offset=1.0, weighted_regularization=True)


def ratings(frame: "DataFrame", params: SparkALSParams) -> "DataFrame":
    """(user_idx, item_idx, rating): summed weights per pair, log1p'd when asked (alpha is Spark's)."""
    from pyspark.sql import functions as F

    summed = frame.groupBy(USER_IDX, ITEM_IDX).agg(F.sum(WEIGHT).alias(RATING))
    return summed.withColumn(RATING, F.log1p(RATING)) if params.log_confidence else summed


def _dense(factors: "DataFrame", n: int, rank: int) -> np.ndarray:
    """Spark's (id, features) rows as an (n, rank) float32 array; ids without events stay 0."""
    table = factors.toArrow()
    out = np.zeros((n, rank), dtype=np.float32)
    if table.num_rows:
        values = table["features"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        out[table["id"].to_numpy()] = values.reshape(table.num_rows, rank)
    return out


def fit_factors(frame: "DataFrame", n_users: int, n_items: int, params: SparkALSParams) -> tuple[np.ndarray, np.ndarray]:
    """(user_factors, item_factors) of Spark's implicit ALS over the indexed events.

    Users and items without events get zero vectors, as implicit's ALS gives them.
    Intermediate RDDs are checkpointed every 10 iterations (the session sets the folder).
    """
    from pyspark.ml.recommendation import ALS as SparkALS

    spark = frame.sparkSession
    blocks = params.blocks or spark.sparkContext.defaultParallelism
    estimator = SparkALS(
        rank=params.factors, maxIter=params.iterations, regParam=params.regularization, alpha=params.alpha,
        implicitPrefs=True, userCol=USER_IDX, itemCol=ITEM_IDX, ratingCol=RATING, seed=params.random_state,
        numUserBlocks=blocks, numItemBlocks=blocks, checkpointInterval=10, coldStartStrategy="drop",
    )
    fitted = estimator.fit(ratings(frame, params))
    return _dense(fitted.userFactors, n_users, params.factors), _dense(fitted.itemFactors, n_items, params.factors)
