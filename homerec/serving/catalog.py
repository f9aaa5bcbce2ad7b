# SPDX-License-Identifier: Apache-2.0
"""The catalogue as the serving process sees it: items and users read from the store once, not per request.

Filter expressions on `Items.*` and `Users.*` fields, and products added since training, need
the items and users tables. Reading them on every request would cost milliseconds each, so a
`Catalog` keeps a snapshot, refreshed by a background thread every `refresh_s` (other workers'
and replicas' upserts show up within that time) and at once after an upsert in this process.
The users table is only read once a request has needed it (Users filters are rare and the
table is the big one).

It also holds the served model extended with the products the model has not seen
(`homerec.models.new_items`): rebuilt when the catalogue or the model changes.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping

import polars as pl

from homerec.data.schema import Col
from homerec.models.base import Recommender
from homerec.models.new_items import WithNewItems, with_new_items
from homerec.serving.periodic import Periodic
from homerec.storage.base import Store

log = logging.getLogger(__name__)


class Catalog:
    """Snapshots of the items and users tables, and the model extended with new items."""

    def __init__(self, store: Store, refresh_s: float = 5.0,
                 served: Callable[[], Recommender | None] = lambda: None) -> None:
        """`served` gives the model being served, so a catalogue change re-extends it off the request path."""
        self.store, self.refresh_s, self.served = store, refresh_s, served
        self._lock = threading.Lock()
        self._items: pl.DataFrame | None = None
        self._users: dict[str, dict[str, str | None]] | None = None
        self._extended: tuple[Recommender, Recommender] | None = None  # (base model, served model)
        self.new_items_since = 0.0
        """When this process first saw the current set of new items (cached lists older than it are stale)."""
        self._new_ids: frozenset[str] = frozenset()
        self._refresher: Periodic | None = None

    # -- snapshots ------------------------------------------------------------------------------
    def items(self) -> pl.DataFrame:
        """Every item with its metadata (the snapshot; loaded on first use)."""
        items = self._items
        if items is None:
            items = self.reload_items()
        return items

    def user(self, user_id: str) -> Mapping[str, str | None] | None:
        """One user's metadata row, or None."""
        users = self._users
        if users is None:
            users = self.reload_users()
        return users.get(user_id)

    def reload_items(self) -> pl.DataFrame:
        """Read the items table again (after an upsert here, or on the refresh timer)."""
        items = self.store.items()
        with self._lock:
            self._items = items
            self._extended = None
        return items

    def reload_users(self) -> dict[str, dict[str, str | None]]:
        """Read the users table again."""
        frame = self.store.users()
        users = {r[Col.user_id]: r for r in frame.to_dicts()} if Col.user_id in frame.columns else {}
        self._users = users
        return users

    def forget_users(self) -> None:
        """Drop the users snapshot (after an upsert here): the next lookup reads the table again."""
        self._users = None

    # -- the served model -----------------------------------------------------------------------
    def model(self, base: Recommender) -> Recommender:
        """`base` extended with the catalogue's items it has never seen (or `base` when there are none)."""
        extended = self._extended
        if extended is not None and extended[0] is base:
            return extended[1]
        items = self.items()
        with self._lock:
            if self._extended is not None and self._extended[0] is base:
                return self._extended[1]
            served = with_new_items(base, items)
            new_ids = frozenset(served.new.ids) if isinstance(served, WithNewItems) else frozenset()
            if new_ids - self._new_ids:
                self.new_items_since = time.time()
                log.info("%d product(s) unknown to the model served through their metadata", len(new_ids))
            self._new_ids = new_ids
            if self._items is items:
                self._extended = (base, served)
            return served

    # -- background refresh ----------------------------------------------------------------------
    def start(self) -> None:
        """Refresh the snapshots every `refresh_s` on a daemon thread."""
        if self.refresh_s <= 0 or self._refresher is not None:
            return
        self._refresher = Periodic("homerec-catalog", self.refresh_s, self.refresh)
        self._refresher.start()

    def stop(self) -> None:
        """Stop the refresh thread."""
        if self._refresher is not None:
            self._refresher.stop()

    def refresh(self) -> None:
        """Re-read what has been read before; extend the served model off the request path."""
        if self._items is not None:
            fresh = self.store.items()
            if not fresh.equals(self._items):
                with self._lock:
                    self._items, self._extended = fresh, None
        base = self.served()
        if base is not None:
            self.model(base)  # build the extension here, not in a request
        if self._users is not None:
            self.reload_users()
