# SPDX-License-Identifier: Apache-2.0
"""A cart's complements: the one path for the native `POST /v1/baskets/recommendations` and a
Personalize "frequently bought together" recommender (GetRecommendations with an itemId: a
campaign or recommender entry whose `recipe` says so, `homerec.campaigns.Serving.basket`).

Both are answered by the version's basket model (`homerec.models.basket`, trained with every
version by `homerec train`): items bought in the same orders and by the same customers as the
cart's items, the customer's own habits when the customer is known, and popularity. Cart items
the model does not know are ignored (a cart of unknown items gets the popular items). The cart's
items are never listed, nor what the request excludes. A version trained without a basket model
(an older homerec, or a single model) cannot answer: a 409 that says so.
"""

import time
from collections.abc import Collection, Sequence

import polars as pl

from homerec.data.schema import Col
from homerec.models.basket import BasketModel
from homerec.serving.errors import ApiError
from homerec.serving.versions import Loaded
from homerec.types import Recommendation

NO_BASKET = "ResourceInUseException"
"""The AWS error code of a version without a basket model (409: retrain to serve carts)."""


def basket_model(loaded: Loaded) -> BasketModel:
    """The version's basket model. Raises ApiError 409 when the version was trained without one."""
    if loaded.basket is None:
        raise ApiError(409, NO_BASKET, f"model version {loaded.version} has no basket model, so it cannot complete "
                                       "carts: retrain it with `homerec train` (which fits one by default)")
    return loaded.basket


def complements(basket: BasketModel, cart: Sequence[str], k: int, events: pl.DataFrame | None,
                exclude: Collection[str] = (), clock: int | None = None) -> list[Recommendation]:
    """The basket model's top-`k` complements of `cart`, with `events` the customer's stored history
    (`Store.history`; None: an anonymous cart) for the habits signal.

    Habits decay from the clock, never later than the newest event known (training's or the
    customer's own), so data dated in the past does not look abandoned.
    """
    newest = int(events[Col.ts].max()) if events is not None and events.height else 0
    now = min(int(time.time()) if clock is None else clock, max(int(basket.trained_until_), newest + 1))
    history = events.select(Col.item_id, Col.ts) if events is not None else None
    return basket.complete(list(cart), k, history=history, now=now, exclude=exclude)
