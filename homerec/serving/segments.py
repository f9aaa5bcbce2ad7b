# SPDX-License-Identifier: Apache-2.0
"""Segments for sales reps over HTTP: the customers likeliest to buy an item, or any item matching
an attribute expression (`GET /v1/segments/items/{item_id}`, `POST /v1/segments`).

The active version's segment model (`homerec.models.segments`, trained with every version by
`homerec train`) is loaded on the first segment request, its customer profiles refreshed from
the store's events as `homerec segments` does, and kept for `MAX_AGE_S` (a refresh reads every
event: far too slow for each request; a segment is a sales rep's list, not a live one). A new
active version is picked up on the next request. A version trained without a segment model
answers 409. A customer deleted meanwhile (`DELETE /v1/users/{id}`) can stay in these lists
until the next refresh (at most `MAX_AGE_S`) or a restart.
"""

import threading
import time
from dataclasses import dataclass

from homerec.data.interactions import Interactions
from homerec.errors import InputError
from homerec.models.segments import SegmentModel
from homerec.serving.errors import ApiError
from homerec.serving.versions import Versions
from homerec.storage.base import Store

MAX_AGE_S = 600.0
"""How long a refreshed segment model answers before the store's events are read again."""
NO_SEGMENTS = "ResourceInUseException"


@dataclass(frozen=True)
class Held:
    """A segment model refreshed from the store, for one model version."""

    version: str
    model: SegmentModel
    loaded_at: float


class Segments:
    """The active version's segment model, refreshed from the store at most every `max_age_s`."""

    def __init__(self, store: Store, versions: Versions, max_age_s: float = MAX_AGE_S) -> None:
        self.store, self.versions, self.max_age_s = store, versions, max_age_s
        self._held: Held | None = None
        self._lock = threading.Lock()  # one refresh at a time; others wait for it

    def current(self) -> Held:
        """The segment model of the active version (call off the event loop: it may read every event).

        Raises:
            NotReady: no version is loaded.
            ApiError: 409 when the active version was trained without a segment model.
        """
        version = self.versions.active().version
        with self._lock:
            held = self._held
            if held is None or held.version != version or time.monotonic() - held.loaded_at > self.max_age_s:
                held = self._held = Held(version, self._load(version), time.monotonic())
        return held

    def _load(self, version: str) -> SegmentModel:
        registry = self.versions.registry
        if "segments" not in registry.parts(version):
            raise ApiError(409, NO_SEGMENTS, f"model version {version} has no segment model: retrain it with "
                                             "`homerec train` (which fits one by default)")
        model: SegmentModel = registry.load_part("segments", version)
        frame = self.store.interactions()
        if frame.height:
            model.refresh(Interactions.from_frame(frame, users=model.users_, items=model.items_))
        return model

    def for_item(self, item_id: str, k: int, include_buyers: bool = False) -> tuple[str, list[tuple[str, float]]]:
        """(model version, the k likeliest buyers of an item with their probability). Raises UnknownItem."""
        held = self.current()
        return held.version, held.model.for_items([item_id], k, include_buyers)

    def for_attribute(self, expression: str, k: int,
                      include_buyers: bool = False) -> tuple[str, list[tuple[str, float]]]:
        """(model version, the k likeliest buyers of any item matching `Items.…` expression).

        Raises:
            InputError: a bad expression, or no known item matches it.
        """
        if not expression.strip().upper().startswith("ITEMS."):
            raise InputError(f"attribute must be an Items.<COLUMN> expression, e.g. Items.CATEGORY IN (\"Gloves\"), "
                             f"not {expression[:100]!r}")
        held = self.current()
        return held.version, held.model.likeliest_users(expression, k, self.store.items(), include_buyers)
