# SPDX-License-Identifier: Apache-2.0
"""What every read asks and what it gets back: one frozen `Request` in, one `Answer` out.

The native and the Personalize adapters each translate their wire format into a `Request`;
the experiment router and the service read nothing else. A field the adapter does not set
keeps its default, so adding a knob means adding one field here, not a parameter to a chain
of functions.
"""

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NamedTuple

from homerec.filters import BoundFilter
from homerec.rules import CompiledRules
from homerec.types import Recommendation

Kind = Literal["user", "similar", "rank", "account", "basket"]
USER, SIMILAR, RANK, ACCOUNT, BASKET = "user", "similar", "rank", "account", "basket"
Pooling = Literal["off", "account", "buyer+account"]
POOLING_OFF = "off"
Scale = Literal["raw", "personalize"]
RAW, PERSONALIZE = "raw", "personalize"

CACHE = "cache"
MODEL = "model"
FALLBACK = "fallback"
ENDPOINT = "endpoint"
SOURCES = (CACHE, MODEL, FALLBACK, ENDPOINT)
"""Where an answer came from: the batch's list, the live model, the popularity fallback, an external endpoint."""

_PREFIX = os.urandom(10).hex()
_COUNTER = itertools.count()


def new_recommendation_id() -> str:
    """A fresh 32-hex-digit id (a served list's, a response's): 20 random digits per process, then a
    12-digit counter. Unique across processes and machines with overwhelming probability, within
    Personalize's 40 characters, and about ten times cheaper than a UUID on the request path.
    """
    return f"{_PREFIX}{next(_COUNTER):012x}"


@dataclass(frozen=True, slots=True)
class Promotion:
    """A share of a list's slots filled from a filter's items, ranked by the model (`homerec.serving.promotions`)."""

    name: str
    percent: int
    """Share of the `k` slots, 1-100 (rounded up to whole items)."""
    item_filter: BoundFilter | None = None
    """Which items may be promoted (None: any); the request's own filter does not apply to them."""


@dataclass(frozen=True, slots=True)
class Exploration:
    """A share of a user's list given to young products with few interactions (`homerec.serving.exploration`).

    Personalize's `itemExplorationConfig`: `explorationWeight` and `explorationItemAgeCutOff`.
    """

    weight: float
    """Share of the `k` slots, 0-1 (rounded to whole items; 0: off)."""
    age_cutoff_days: float = 30.0
    """Products created less than this many days before the model's newest training event (or after it) are young."""
    max_interactions: int = 20
    """Young products with fewer events than this are explored."""


class Request(NamedTuple):
    """One read: a user's list, an item's similar items, the ranking of given items for a user, or a
    cart's complements (`basket`: `item_ids` is the cart, `user_id` optional).

    Immutable (a NamedTuple: four times cheaper to build than a frozen dataclass, and this is
    built once per request); `req._replace(version="v3")` gives a changed copy.
    """

    kind: Kind
    user_id: str | None = None
    item_id: str | None = None
    item_ids: tuple[str, ...] = ()
    """`rank`: the candidates, in the caller's order; `basket`: the cart."""
    k: int = 10
    exclude: frozenset[str] = frozenset()
    min_score: float | None = None
    """Only items whose 0-10 score reaches this."""
    item_filter: BoundFilter | None = None
    include_seen: bool = False
    """Keep items the user already has; by default they are left out."""
    buy_again: bool = False
    """With `include_seen`: what the user will buy next, repeats included (the version's re-order model;
    the native `include_seen=true`). Personalize's campaigns without exclusion keep the model's list."""
    version: str | None = None
    """A model version to answer with (a campaign's pinned version, an experiment's variant); None: the active one."""
    unknown_item: Literal["error", "popular"] = "error"
    """`similar` for an item the model does not know: UnknownItem, or the popular items (as Personalize's SIMS)."""
    context: Mapping[str, str] = MappingProxyType({})
    """Contextual metadata sent with the request (Personalize `context`), kept for the exposure log."""
    logged: bool = True
    """False for a look that is not a served list (the dashboard): no exposure is logged."""
    scale: Scale = RAW
    """`personalize`: each item also gets its Personalize-scale score (`Recommendation.relative`)."""
    metadata_columns: tuple[str, ...] = ()
    """Item metadata columns to attach to each item (`Recommendation.metadata`; `homerec.serving.item_metadata`)."""
    promotion: Promotion | None = None
    """Promoted items to mix into the list (`homerec.serving.promotions`)."""
    rules: CompiledRules | None = None
    """A placement's business rules (`homerec.rules`): applied on the scored path to a wider candidate list."""
    placement: str | None = None
    """The placement the list is served for (logged with the exposure); alone it changes nothing else."""
    exploration: Exploration | None = None
    """Young products to mix into a user's list (`homerec.serving.exploration`); None or weight 0: none."""
    account_id: str | None = None
    """`account`: the bill-to account whose buyers' pooled events the list is for (`homerec.serving.accounts`)."""
    account_pooling: Pooling = POOLING_OFF
    """`user`: whether a buyer with an account is scored from the account's pooled events too."""

    @property
    def plain(self) -> bool:
        """Whether the batch's list alone can answer (no filter, rules, promotion, exploration, metadata or
        Personalize scores)."""
        return (self.item_filter is None and not self.include_seen and self.kind in (USER, SIMILAR)
                and self.scale == RAW and not self.metadata_columns and self.promotion is None and self.rules is None
                and not self.explores and self.account_pooling == POOLING_OFF)

    @property
    def explores(self) -> bool:
        """Whether exploration takes slots of this (user or account) list."""
        return self.exploration is not None and self.exploration.weight > 0 and self.kind in (USER, ACCOUNT)


@dataclass(frozen=True, slots=True)
class Answer:
    """A ranked list, where it came from, and the id clients echo back with their events."""

    items: list[Recommendation]
    source: str
    model_version: str
    recommendation_id: str = field(default_factory=new_recommendation_id)
    experiment: str | None = None
    variant: str | None = None
