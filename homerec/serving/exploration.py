# SPDX-License-Identifier: Apache-2.0
"""Exploration: a share of a user's list goes to young products with few interactions (Personalize's explorationWeight).

A product is *young* when its `CREATION_TIMESTAMP` (items metadata, seconds or milliseconds
since the epoch) lies less than `age_cutoff_days` before the model's newest training event,
or after it, and every product the model never saw in training (added since: it is served
through its metadata, `homerec.models.new_items`) is young too. Of those, the ones with
fewer than `max_interactions` events in the store are *candidates*.

For one request (`choose`): `slots(k, weight)` slots (k × weight, rounded; 0 turns it off).
The candidates the request may show are scored by the served model, which for products
unknown to it means their metadata similarity to the products the user's history points at
(the new-items content extension). Each candidate's weight is

    w = share / (1 + r),   share = min(1, (clicks + 1) / (1 + EXPECTED_CTR × shown))

where r is its rank among the candidates for this user: the most relevant products are
likeliest; a product shown often without clicks (`shown`: in earlier exploration slots,
logged as exposures, and in PutEvents impressions; `clicks`: its events) gets a lower
share over time. The slots are drawn by weighted sampling without replacement
(Efraimidis-Spirakis keys u^(1/w)) with u from a hash of (user, day, item), and placed at
positions drawn from (user, day): a user sees the same list all day unless the pool changes.

Cheap per request: the pool (candidates and their shown and clicked counts) is read from the
store at most every `refresh_s` by one request thread while the others use the last one; a
request costs one scoring of the user over the candidates.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from homerec.campaigns import Serving
from homerec.data.schema import Col
from homerec.models.base import Recommender
from homerec.models.new_items import WithNewItems
from homerec.models.one_user import UNSCORED
from homerec.serving.catalog import Catalog
from homerec.serving.promotions import interleave
from homerec.serving.request import Exploration
from homerec.settings import Settings
from homerec.storage.base import Store
from homerec.types import Recommendation

log = logging.getLogger(__name__)

REASON = "exploration"
LOG_NAME = "homerec:exploration"
"""The exposure log's experiment name for exploration slots (no experiment can take it: names hold no `:`)."""
LOG_VARIANT = "explored"
EXPECTED_CTR = 0.05
"""Shown this many times per click, a product keeps its full share; shown more without clicks, it loses it."""
CREATION_COLUMN = "CREATION_TIMESTAMP"
DAY_S = 86_400


def slots(k: int, weight: float) -> int:
    """Exploration slots of a list of `k` (k × weight rounded half up, at most k)."""
    return min(k, int(k * weight + 0.5)) if k > 0 and weight > 0 else 0


@lru_cache(maxsize=64)
def _exploration(weight: float, cutoff: float, max_interactions: int) -> Exploration | None:
    return Exploration(weight, cutoff, max_interactions) if weight > 0 else None


def from_settings(settings: Settings) -> Exploration | None:
    """The server's exploration (`exploration_weight`, …), None when off."""
    return _exploration(settings.exploration_weight, settings.exploration_item_age_cutoff,
                        settings.exploration_max_interactions)


def for_campaign(serving: Serving, settings: Settings) -> Exploration | None:
    """A campaign's exploration: its `itemExplorationConfig`, else the server's."""
    config = serving.itemExplorationConfig
    if config is None:
        return from_settings(settings)
    return _exploration(config.explorationWeight, config.explorationItemAgeCutOff, settings.exploration_max_interactions)


def campaign_config(serving: Serving, settings: Settings) -> dict[str, str]:
    """The campaign's `itemExplorationConfig` as DescribeCampaign shows it (the server's when the campaign sets none)."""
    ex = for_campaign(serving, settings)
    weight, cutoff = (ex.weight, ex.age_cutoff_days) if ex else (0.0, settings.exploration_item_age_cutoff)
    return {"explorationWeight": f"{weight:g}", "explorationItemAgeCutOff": f"{cutoff:g}"}


@dataclass(frozen=True)
class Pool:
    """The candidates of one model and exploration setting, with how often each was shown and chosen."""

    ids: tuple[str, ...]
    share: Mapping[str, float]
    """Candidate → its share, (clicks + 1) / (1 + EXPECTED_CTR × shown), at most 1."""
    built_at: float


def creation_seconds(items: pl.DataFrame) -> dict[str, float]:
    """Item → creation time in seconds, from a `CREATION_TIMESTAMP` column (any case; ms are scaled)."""
    column = next((c for c in items.columns if c.upper() == CREATION_COLUMN), None)
    if column is None:
        return {}
    values = items[column].cast(pl.Float64, strict=False)
    seconds = pl.when(values > 1e11).then(values / 1000.0).otherwise(values)  # 1e11 s is the year 5138
    frame = items.select(Col.item_id, seconds.alias("s")).drop_nulls("s")
    return dict(zip(frame[Col.item_id].to_list(), frame["s"].to_list()))


def build_pool(store: Store, catalog: Catalog, model: Recommender, trained_until: int | None,
               ex: Exploration, now: float | None = None) -> Pool:
    """Read the candidates of `model` (young, few events) and their shown and clicked counts from the store."""
    now = time.time() if now is None else now
    reference = float(trained_until) if trained_until is not None else now
    cutoff = reference - ex.age_cutoff_days * DAY_S
    recommendable = catalog.item_ids(model)
    mask = getattr(model, "recommendable_", None)
    if mask is not None:  # non-products (fees, postage) are never explored
        recommendable = frozenset(model.items_.to_ids(np.flatnonzero(mask)))
    young = {i for i, t in creation_seconds(catalog.items()).items() if t >= cutoff and i in recommendable}
    if isinstance(model, WithNewItems):
        young |= set(model.new.ids)
    if not young:
        return Pool((), {}, now)
    events = store.interactions(since=int(cutoff)).get_column(Col.item_id).value_counts()
    counts = dict(zip(events[Col.item_id].to_list(), events["count"].to_list()))
    ids = tuple(sorted(i for i in young if counts.get(i, 0) < ex.max_interactions))
    since = int(now - ex.age_cutoff_days * DAY_S)
    shown: dict[str, int] = {}
    logged = store.exposures(LOG_NAME, since=since)
    if logged.height:
        exploded = logged.select(pl.col(Col.ranked).explode().alias(Col.item_id)).get_column(Col.item_id).value_counts()
        shown.update(zip(exploded[Col.item_id].to_list(), exploded["count"].to_list()))
    impressions = store.impressions(since=since)
    if impressions.height:
        seen = impressions.get_column(Col.item_id).value_counts()
        for item, n in zip(seen[Col.item_id].to_list(), seen["count"].to_list()):
            shown[item] = shown.get(item, 0) + n
    share = {i: min(1.0, (counts.get(i, 0) + 1) / (1 + EXPECTED_CTR * shown.get(i, 0))) for i in ids}
    return Pool(ids, share, now)


class Pools:
    """The current pool of each served model and setting, rebuilt at most every `refresh_s`."""

    def __init__(self, store: Store, catalog: Catalog, refresh_s: float = 60.0) -> None:
        self.store, self.catalog, self.refresh_s = store, catalog, refresh_s
        self._pools: dict[tuple[int, Exploration], tuple[Recommender, Pool]] = {}
        self._building = threading.Lock()

    def get(self, model: Recommender, trained_until: int | None, ex: Exploration) -> Pool:
        """The pool (call off the event loop): built now when there is none, else the last one while
        one thread rebuilds a stale one."""
        key = (id(model), ex)
        found = self._pools.get(key)
        fresh = found is not None and found[0] is model and time.time() - found[1].built_at < self.refresh_s
        if fresh:
            return found[1]  # type: ignore[index]
        if found is not None and found[0] is model and not self._building.acquire(blocking=False):
            return found[1]  # another thread is rebuilding it
        if found is None or found[0] is not model:
            self._building.acquire()
        try:
            pool = build_pool(self.store, self.catalog, model, trained_until, ex)
            if len(self._pools) > 32:  # models no longer served
                self._pools.clear()
            self._pools[key] = (model, pool)
            return pool
        finally:
            self._building.release()

    def invalidate(self) -> None:
        """Forget every pool (tests; after a bulk change): the next request reads the store again."""
        self._pools.clear()


def _unit(*parts: str) -> float:
    """A number in (0, 1) from a hash of the parts: the same parts, the same number."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2.0**64


def day_of(now: float | None = None) -> str:
    """The UTC day number of `now` (default: the time): what keeps a user's exploration stable for a day."""
    return str(int((time.time() if now is None else now) // DAY_S))


def choose(model: Recommender, pool: Pool, user: str | None, user_id: str, history: list[str],
           banned: set[str], n: int, day: str) -> list[Recommendation]:
    """Up to `n` candidates for the user, drawn by relevance × share (deterministic per user and day), tagged."""
    allowed = [i for i in pool.ids if i not in banned]
    if n <= 0 or not allowed:
        return []
    ranked = [r for r in model.rank(user, allowed, history=history) if r.reason != UNSCORED]
    keys = []
    for rank, r in enumerate(ranked):
        weight = pool.share.get(r.item_id, 1.0) / (1.0 + rank)
        keys.append((_unit(user_id, day, r.item_id) ** (1.0 / weight), rank))
    picked = sorted(keys, reverse=True)[:n]
    return [_tagged(ranked[rank]) for _, rank in sorted(picked, key=lambda kr: kr[1])]


def _tagged(r: Recommendation) -> Recommendation:
    return Recommendation(r.item_id, r.score, r.score10, REASON, r.relative, r.promotion, r.metadata, exploration=True)


def merge(main: list[Recommendation], explored: list[Recommendation], k: int, user_id: str, day: str) -> list[Recommendation]:
    """The list with the explored items at positions drawn from (user, day), the best of `main` around them."""
    return interleave(main, explored, k, f"{REASON}\x1f{user_id}\x1f{day}")


def explored_ids(items: list[Recommendation]) -> list[str]:
    """The ids of the items exploration placed."""
    return [r.item_id for r in items if r.exploration]
