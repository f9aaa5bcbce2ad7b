# SPDX-License-Identifier: Apache-2.0
"""Buy-again lists: the one path for a native `include_seen=true` read and for a filter that keeps
only the user's own items (`INCLUDE ItemID WHERE Interactions.…`).

Personalize leaves exclusion to filters, so `INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN
("purchase")` asks for the products a customer bought, best first; the native API asks for what
the customer will buy next, repeats included, with `include_seen=true`. Both are answered by the
version's re-order model (`homerec.models.reorder`, trained with every version by `homerec
train`): due dates, suggested quantities and, for the native list, discoveries from the version's
model in the proportion tuned on validation. A version trained without one (an older homerec, or
a single model) ranks the user's own items by its own scores, seen items included.
"""

from collections.abc import Collection, Sequence

import polars as pl

from homerec.data.schema import Col
from homerec.models.base import Recommender
from homerec.models.reorder import ReorderModel
from homerec.types import Recommendation

UNSCORED = "not scored"
"""How `Recommender.rank` starts the reason of an item the model cannot score."""


def only_bought(universe: Collection[str], banned: Collection[str], history: Sequence[str]) -> set[str] | None:
    """The items a filter keeps when all of them are the user's own (None: it keeps others too)."""
    kept = set(universe) - set(banned)
    return kept if kept <= set(history) else None


def reorder_list(reorder: ReorderModel, model: Recommender, user_id: str, events: pl.DataFrame, k: int,
                 exclude: Collection[str] = (), only: Collection[str] | None = None) -> list[Recommendation]:
    """The re-order model's list for one user from their stored `events` (as `Store.history` gives them),
    its discoveries drawn from `model` (the version's model with the products added since training).

    Args:
        exclude: items never listed (the request's exclusions and filter).
        only: list nothing else (the user's own items kept by a buy-again filter).
    """
    newest = int(events[Col.ts].max()) if events.height else None
    return reorder.with_discovery(model).recommend(user_id, events, now=reorder.now(newest), k=k, exclude=exclude,
                                                   only=only)


def rank_bought(model: Recommender, user_id: str | None, history: Sequence[str], bought: Collection[str],
                k: int) -> list[Recommendation]:
    """Without a re-order model: the user's own items ranked by the model, best first, at most `k`
    (items the model cannot score last)."""
    ranked = model.rank(user_id, sorted(bought), history=list(history))
    return ranked[:k]

