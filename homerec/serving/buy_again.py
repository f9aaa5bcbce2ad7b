# SPDX-License-Identifier: Apache-2.0
"""Buy-again lists: a filter that keeps only the user's own items (`INCLUDE ItemID WHERE Interactions.…`).

Personalize leaves exclusion to filters, so `INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN
("purchase")` asks for the products a customer bought, best first. Which of them to re-order
is a ranking question of its own: the buy-again model of the distributor work (due dates,
quantities) answers it best. Until a model version carries one, the version's own scores rank
them, seen items included.

Hook: `rank_bought` is the one place to switch to that model (look it up on the version here).
"""

from collections.abc import Collection, Sequence

from homerec.models.base import Recommender
from homerec.types import Recommendation

UNSCORED = "not scored"
"""How `Recommender.rank` starts the reason of an item the model cannot score."""


def only_bought(universe: Collection[str], banned: Collection[str], history: Sequence[str]) -> set[str] | None:
    """The items a filter keeps when all of them are the user's own (None: it keeps others too)."""
    kept = set(universe) - set(banned)
    return kept if kept <= set(history) else None


def rank_bought(model: Recommender, user_id: str | None, history: Sequence[str], bought: Collection[str],
                k: int) -> list[Recommendation]:
    """The user's own items ranked for re-ordering, best first, at most `k` (items the model cannot score last)."""
    ranked = model.rank(user_id, sorted(bought), history=list(history))
    return ranked[:k]
