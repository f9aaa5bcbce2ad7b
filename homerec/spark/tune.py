# SPDX-License-Identifier: Apache-2.0
"""The popularity mix chosen on the validation split, with the split and the fit on Spark.

The same steps as ``evaluation.autotune.fit_tuned``: train's own 0.9-quantile split, the
validation users (a train event and a new item after the cutoff; the protocol's seeded
sample of MIX_USERS), a probe model fitted on the fit part, and `choose_mix` over MIXES.
Only the sampled users' histories and truths, and their factors, come back to the driver.
"""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.evaluation.autotune import MIX_USERS, choose_mix
from homerec.evaluation.breadth import Breadth
from homerec.evaluation.split import Split, sample_users
from homerec.spark.aggregate import item_stats, user_rows
from homerec.spark.als import SparkALSParams, fit_factors
from homerec.spark.read import ITEM_IDX, USER_IDX, SparkEvents

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def cutoff(frame: "DataFrame", quantile: float = 0.9) -> int:
    """ceil of the linear-interpolated quantile of the timestamps (temporal_split's rule; Spark's exact percentile)."""
    from pyspark.sql import functions as F

    return int(math.ceil(float(frame.agg(F.percentile(Col.ts, quantile)).first()[0])))


def _sample_truth(fit: "DataFrame", held: "DataFrame", ids: np.ndarray) -> tuple[np.ndarray, "DataFrame"]:
    """Sampled validation users (sorted indices) and their novel (user_idx, item_idx) pairs on Spark."""
    fit_pairs = fit.select(USER_IDX, ITEM_IDX).distinct()
    novel = (held.select(USER_IDX, ITEM_IDX).distinct()
             .join(fit_pairs, [USER_IDX, ITEM_IDX], "left_anti")
             .join(fit.select(USER_IDX).distinct(), USER_IDX, "left_semi")
             .cache())
    qualifying = np.sort(novel.select(USER_IDX).distinct().toArrow()[USER_IDX].to_numpy().astype(np.int64))
    return sample_users(qualifying, ids, MIX_USERS), novel


def tune_mix(events: SparkEvents, params: SparkALSParams, k: int = 10,
             say: Callable[[str], None] | None = None, breadth: Breadth | None = None) -> float:
    """The popularity mix for ALS with `params`, chosen on the validation split (0 when it has no user)."""
    from pyspark.sql import functions as F

    spark = events.frame.sparkSession
    at = cutoff(events.frame)
    fit, held = events.frame.where(F.col(Col.ts) < at), events.frame.where(F.col(Col.ts) >= at)
    users, novel = _sample_truth(fit, held, events.users.ids)
    if len(users) == 0:
        return 0.0
    n_items = len(events.items)
    wanted = spark.createDataFrame(pa.table({USER_IDX: pa.array(users.astype(np.int32)), "row": np.arange(len(users))}))
    pairs = novel.join(F.broadcast(wanted), USER_IDX).select("row", ITEM_IDX).toArrow()
    order = np.lexsort((pairs[ITEM_IDX].to_numpy(), pairs["row"].to_numpy()))
    rows, items = pairs["row"].to_numpy()[order], pairs[ITEM_IDX].to_numpy()[order].astype(np.int64)
    bounds = np.searchsorted(rows, np.arange(len(users) + 1))
    truth = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    user_factors, item_factors = fit_factors(fit, len(events.users), n_items, params)
    fit_max = int(fit.agg(F.max(Col.ts)).first()[0] or 0)
    known, fallback = item_stats(fit, n_items, fit_max)
    history = user_rows(spark, fit, users, n_items)
    sampled = IdMap(events.users.ids[users], "user")
    probe = params.model().adopt(sampled, events.items, known, fallback,
                                 {"user_factors": user_factors[users], "item_factors": item_factors}, history, 0.0)
    coo = history.tocoo()
    train = Interactions(coo.row.astype(np.int32), coo.col.astype(np.int32), coo.data.astype(np.float32),
                         np.zeros(coo.nnz, np.int64), sampled, events.items)
    split = Split(train=train, test=Interactions.empty(sampled, events.items), cutoff=at)
    mix, note = choose_mix(probe, split, np.arange(len(users)), truth, k, breadth)
    if say:
        say(f"{probe.name}: {note}")
    return mix
