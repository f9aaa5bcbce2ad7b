# SPDX-License-Identifier: Apache-2.0
"""The distributor models trained with every version: re-orders, basket completion and segments."""

import time
from collections.abc import Callable
from typing import Any

import polars as pl

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.basket import fit_basket
from homerec.evaluation.buy_again import fit_reorder
from homerec.evaluation.segments import fit_segments
from homerec.models.base import Recommender
from homerec.models.segments import attribute_matrices


def fit_parts(
    data: Interactions, features: ItemFeatures | None, items: pl.DataFrame, model: Recommender,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The companion models of `model` (fitted on `data`), each tuned on data's validation split,
    and the seconds each took."""
    say = progress or (lambda _m: None)
    parts: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    steps: dict[str, Callable[[], Any]] = {
        "reorder": lambda: fit_reorder(data, model, features, say),
        "basket": lambda: fit_basket(data, progress=say),
        "segments": lambda: fit_segments(data, attribute_matrices(items if items.height else None, data.items), say),
    }
    for name, fit in steps.items():
        started = time.perf_counter()
        say(f"fitting the {name} model")
        parts[name] = fit()
        seconds[name] = round(time.perf_counter() - started, 2)
    return parts, seconds
