# SPDX-License-Identifier: Apache-2.0
"""What the API does, free of HTTP: cache → live model → popularity fallback, exclusions, events.

Every answer says where it came from (`source`) and which model version produced it. The
routes (native, and later the Personalize adapter) are thin translations over `RecService`.
"""

import logging
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS, Col
from homerec.errors import HomerecError, InputError
from homerec.models.base import FALLBACK_REASON, Recommender
from homerec.serving.catalog import Catalog
from homerec.serving.filters import BoundFilter, Selection, evaluate, store_data
from homerec.serving.state import Loaded, ModelHolder
from homerec.storage.base import AddResult, Store
from homerec.types import Recommendation

if TYPE_CHECKING:
    from homerec.serving.ab import ABRouter

log = logging.getLogger(__name__)

CACHE = "cache"
MODEL = "model"
FALLBACK = "fallback"
SOURCES = (CACHE, MODEL, FALLBACK)


class NotReady(HomerecError):
    """No model version is loaded yet (train one, or wait for the load to finish)."""


def new_recommendation_id() -> str:
    """A fresh id for a served list (32 hex digits: within Personalize's 40-character limit)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Answer:
    """A ranked list, where it came from, and the id clients echo back with their events."""

    items: list[Recommendation]
    source: str
    model_version: str
    recommendation_id: str = field(default_factory=new_recommendation_id)
    experiment: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class UserState:
    """What the store knows of a user right now."""

    item_ids: list[str]
    last_ts: int | None


class RecService:
    """The serving logic over a store and the model holder."""

    def __init__(self, store: Store, holder: ModelHolder, catalog: Catalog | None = None) -> None:
        self.store, self.holder = store, holder
        self.catalog = catalog or Catalog(store, refresh_s=0)
        self.ab: ABRouter | None = None
        """Set by the app when experiments are on: routes users to variants and logs exposures."""

    def model(self, loaded: Loaded) -> Recommender:
        """The loaded model, extended with catalogue items it has never seen (scored by their metadata)."""
        return self.catalog.model(loaded.model)

    def loaded(self) -> Loaded:
        """The model snapshot to use for one request."""
        current = self.holder.current
        if current is None:
            raise NotReady(self.holder.last_error or "no model is loaded: run `homerec train` first")
        return current

    def user_state(self, user_id: str) -> UserState:
        """The user's stored history (item ids, oldest first) and newest event time."""
        return UserState(*self.store.user_items(user_id))

    # -- reads --------------------------------------------------------------------------------
    def recommend(
        self, user_id: str, k: int, exclude: Collection[str] = (), min_score: float | None = None,
        item_filter: BoundFilter | None = None, cache_only: bool = False,
    ) -> Answer | None:
        """Top-k for a user, seen and excluded items removed; cache, then model, then fallback.

        `item_filter` (a bound Personalize filter expression) is evaluated against the live store
        and removes its items from the candidates before the top-k is taken. While an
        experiment runs, the user's variant decides the source and the list is logged.
        With `cache_only`, None instead of scoring: the caller answers cache hits at once (two
        point reads) and sends the rest to a worker thread.
        """
        if self.ab is not None and self.ab.state.current is not None:
            return self.ab.recommend(self.ab.state.current, user_id, k, exclude, min_score, item_filter, cache_only)
        return self.recommend_with(self.loaded(), user_id, k, exclude, min_score, item_filter, cache_only)

    def recommend_with(
        self, loaded: Loaded, user_id: str, k: int, exclude: Collection[str] = (), min_score: float | None = None,
        item_filter: BoundFilter | None = None, cache_only: bool = False,
    ) -> Answer | None:
        """`recommend` from one given model version (no experiment routing)."""
        self.model(loaded)  # notices products added since training (they make cached lists stale)
        banned = set(exclude)
        if item_filter is not None:
            banned |= self.filtered_out(loaded, item_filter, user_id)
        answer = self._from_cache(loaded, user_id, banned, k)
        if answer is None:
            if cache_only:
                return None
            state = self.user_state(user_id)
            answer = self._from_model(loaded, user_id, state, banned | set(state.item_ids), k)
        if min_score is not None:
            answer = replace(answer, items=[r for r in answer.items if r.score10 >= min_score])
        return answer

    def _from_cache(self, loaded: Loaded, user_id: str, banned: set[str], k: int) -> Answer | None:
        """The batch's list when it is current: same model, no event of the user since (what the
        user had bought then is already left out of it), no product added since."""
        cached = self.store.get_recs(USER_RECS, user_id)
        if cached is None or cached.model_version != loaded.version:
            return None
        last_ts = self.store.last_event_ts(user_id)
        if last_ts is not None and last_ts >= cached.computed_at:
            return None  # events since the batch ran: the list is stale
        if self.catalog.new_items_since >= cached.computed_at:  # computed_at is whole seconds
            return None  # products added since the batch ran: score them live
        model = loaded.model
        kept = [(i, s) for i, s in cached.items if i not in banned][:k]
        if len(kept) < k:
            return None  # the cached list is too short for this request
        reason = f"{model.name} (precomputed)"
        score10 = model.score10_many([s for _, s in kept])
        return Answer([Recommendation(i, float(s), t, reason) for (i, s), t in zip(kept, score10)], CACHE,
                      loaded.version)

    def _from_model(self, loaded: Loaded, user_id: str, state: UserState, banned: set[str], k: int) -> Answer:
        model = self.model(loaded)
        # Events after the training cut-off: fold the user in from the full stored history.
        newer = state.last_ts is not None and (loaded.trained_until is None or state.last_ts > loaded.trained_until)
        try:
            recs = model.recommend(None if newer else user_id, k, exclude=banned, history=state.item_ids)
        except Exception:  # a scoring failure degrades to popularity, never to an error
            log.exception("model %s failed for user %r; serving the fallback", loaded.version, user_id)
            recs = model.recommend(None, k, exclude=banned, history=None)
            return Answer(_as_fallback(recs), FALLBACK, loaded.version)
        cold = bool(recs) and all(r.reason == FALLBACK_REASON for r in recs)
        return Answer(recs, FALLBACK if cold or not recs else MODEL, loaded.version)

    def filtered_out(self, loaded: Loaded, item_filter: BoundFilter, user_id: str | None) -> set[str]:
        """The model's items that `item_filter` removes for this user (evaluated on the live store)."""
        return self.selection(item_filter, user_id).excluded(self._universe(loaded))

    def selection(self, item_filter: BoundFilter, user_id: str | None) -> Selection:
        """What a bound filter keeps and removes for this user, from the store as it is now."""
        return evaluate(item_filter, store_data(self.store, self.catalog, user_id))

    def _universe(self, loaded: Loaded) -> frozenset[str]:
        """Every item id the loaded model can recommend (computed once per model)."""
        model = self.model(loaded)
        cached = getattr(self, "_universe_cache", None)
        if cached is not None and cached[0] is model:
            return cached[1]
        ids = getattr(model, "items_", None)
        if ids is not None:
            universe = frozenset(ids.to_ids(np.arange(len(ids))))
        else:  # a model without an item index: the catalogue
            universe = frozenset(self.catalog.items()[Col.item_id].to_list())
        self._universe_cache = (model, universe)
        return universe

    def similar(
        self, item_id: str, k: int, exclude: Collection[str] = (), item_filter: BoundFilter | None = None,
        user_id: str | None = None,
    ) -> Answer:
        """Items similar to one item. Raises UnknownItem when the model does not know it."""
        loaded = self.loaded()
        banned = set(exclude)
        if item_filter is not None:
            banned |= self.filtered_out(loaded, item_filter, user_id)
        cached = self.store.get_recs(SIMILAR_ITEMS, item_id)
        if cached is not None and cached.model_version == loaded.version:
            reason = f"similar to {item_id} (precomputed)"
            items = [Recommendation(i, float(s), loaded.model.score10(s), reason)
                     for i, s in cached.items if i not in banned and i != item_id]
            if len(items) >= k:
                return Answer(items[:k], CACHE, loaded.version)
        return Answer(self.model(loaded).similar_items(item_id, k, exclude=banned), MODEL, loaded.version)

    def rank(self, user_id: str, item_ids: Sequence[str], item_filter: BoundFilter | None = None) -> Answer:
        """The given items ordered for the user (unknown items last, score 0); filtered ones dropped."""
        loaded = self.loaded()
        if item_filter is not None:
            keep = self.selection(item_filter, user_id)
            item_ids = [i for i in item_ids if keep.keeps(i)]
            if not item_ids:
                return Answer([], MODEL, loaded.version)
        state = self.user_state(user_id)
        newer = state.last_ts is not None and (loaded.trained_until is None or state.last_ts > loaded.trained_until)
        recs = self.model(loaded).rank(None if newer else user_id, list(item_ids), history=state.item_ids)
        cold = any(r.reason == FALLBACK_REASON for r in recs)
        return Answer(recs, FALLBACK if cold else MODEL, loaded.version)

    # -- writes -------------------------------------------------------------------------------
    def add_events(self, events: Sequence[Mapping[str, Any]]) -> AddResult:
        """Commit events (dicts with user_id, item_id, event_type, timestamp, event_value, event_id,
        recommendation_id).

        A missing `timestamp` means now; a missing `event_id` is derived from the event's
        fields by the store, so a retried request does not count twice.
        """
        now = int(time.time())
        frame = pl.DataFrame(
            {
                Col.user_id: [e["user_id"] for e in events],
                Col.item_id: [e["item_id"] for e in events],
                Col.ts: [int(e["timestamp"]) if e.get("timestamp") is not None else now for e in events],
                Col.event_type: [e.get("event_type") for e in events],
                Col.event_value: [e.get("event_value") for e in events],
                Col.event_id: [e.get("event_id") for e in events],
                Col.recommendation_id: [e.get("recommendation_id") for e in events],
            },
            schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64, Col.event_type: pl.String,
                    Col.event_value: pl.Float64, Col.event_id: pl.String,
                    Col.recommendation_id: pl.String},
        )
        return self.store.add_interactions(frame)

    def upsert_item(self, item_id: str, metadata: Mapping[str, Any]) -> int:
        """Insert or replace one item's metadata (recommendable at once); returns 1 when something changed."""
        changed = self.store.upsert_items(_entity_frame(Col.item_id, item_id, metadata))
        self.catalog.reload_items()
        return changed

    def upsert_user(self, user_id: str, metadata: Mapping[str, Any]) -> int:
        """Insert or replace one user's metadata; returns 1 when something changed."""
        changed = self.store.upsert_users(_entity_frame(Col.user_id, user_id, metadata))
        self.catalog.forget_users()
        return changed

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Remove the user's events, user row and cached lists; rows removed per table."""
        return self.store.delete_user(user_id)

    def ready(self) -> tuple[bool, str]:
        """Whether a model is loaded and the store answers, with the reason when not."""
        if self.holder.current is None:
            return False, self.holder.last_error or "no model loaded"
        try:
            # Only whether the read works matters, not what it finds; no "\x00" in the key: PostgreSQL
            # refuses NUL bytes in text and every replica on it reported itself unavailable.
            self.store.get_recs(USER_RECS, " readyz probe ")
        except Exception as err:
            return False, f"store unreachable: {err}"
        return True, "ok"


def _as_fallback(recs: list[Recommendation]) -> list[Recommendation]:
    return [Recommendation(r.item_id, r.score, r.score10, FALLBACK_REASON) for r in recs]


def _entity_frame(id_column: str, entity_id: str, metadata: Mapping[str, Any]) -> pl.DataFrame:
    """A one-row frame of string metadata; lists become `|`-joined values (multi-valued fields)."""
    row: dict[str, str | None] = {id_column: entity_id}
    for key, value in metadata.items():
        if key == id_column:
            raise InputError(f"{id_column} goes in the path, not in the metadata")
        if isinstance(value, list):
            value = "|".join(str(v) for v in value)
        row[key] = None if value is None else str(value)
    return pl.DataFrame([row], schema={c: pl.String for c in row})
