# SPDX-License-Identifier: Apache-2.0
"""The catalogue as the serving process sees it: items and users read from the store once, not per request.

Filter expressions on `Items.*` and `Users.*` fields, and products added since training, need
the items and users tables. Reading them on every request would cost milliseconds each, so a
`Catalog` keeps a snapshot. It is read again when the store's change feed says an item or a
user changed (`homerec.serving.freshness`), after an upsert in this process, and every
`refresh_s` as a safety net. The users table is only read once a request has needed it
(Users filters are rare and the table is the big one).

It also holds each served model version extended with the products that version has not
seen (`homerec.models.new_items`), rebuilt off the request path when the catalogue changes
(`refresh`), and when this process first saw each version's current new products
(`new_since`): cached lists older than that are not served, the new products may belong in them.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import polars as pl

from homerec.data.schema import ACCOUNT_ID, Col
from homerec.models.base import Recommender
from homerec.models.new_items import WithNewItems, with_new_items
from homerec.serving.periodic import Periodic
from homerec.storage.base import Store

log = logging.getLogger(__name__)


class Catalog:
    """Snapshots of the items and users tables, and the served models extended with new items."""

    def __init__(self, store: Store, refresh_s: float = 5.0,
                 served: Callable[[], Iterable[Recommender]] = lambda: ()) -> None:
        """`served` gives the models being served, so a catalogue change re-extends them off the request path."""
        self.store, self.refresh_s, self.served = store, refresh_s, served
        self._lock = threading.Lock()
        self._items: pl.DataFrame | None = None
        self._users: dict[str, dict[str, str | None]] | None = None
        self._accounts: dict[str, tuple[str, ...]] = {}
        """ACCOUNT_ID → its buyers' user ids (from the users snapshot)."""
        self._extended: dict[int, tuple[Recommender, Recommender, frozenset[str]]] = {}
        """id(base model) → (base, served model, its new item ids), for the current items snapshot."""
        self._new_ids: dict[int, frozenset[str]] = {}
        self._new_since: dict[int, float] = {}
        self._item_ids: dict[int, tuple[Recommender, frozenset[str]]] = {}
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
        """Read the items table again; the served models are extended anew from it."""
        items = self.store.items()
        with self._lock:
            if self._items is None or not items.equals(self._items):
                self._items, self._extended = items, {}
        self.prepare()
        return items

    def reload_users(self) -> dict[str, dict[str, str | None]]:
        """Read the users table again."""
        frame = self.store.users()
        users = {r[Col.user_id]: r for r in frame.to_dicts()} if Col.user_id in frame.columns else {}
        accounts: dict[str, list[str]] = {}
        if ACCOUNT_ID in frame.columns:
            for row in frame.select(Col.user_id, ACCOUNT_ID).drop_nulls().iter_rows():
                accounts.setdefault(row[1], []).append(row[0])
        self._users, self._accounts = users, {a: tuple(b) for a, b in accounts.items()}
        return users

    # -- accounts: users that share an ACCOUNT_ID ---------------------------------------------------
    def user_account(self, user_id: str) -> str | None:
        """The bill-to account a buyer orders for (users' ACCOUNT_ID), or None."""
        row = self.user(user_id)
        value = row.get(ACCOUNT_ID) if row is not None else None
        return value or None

    def account_buyers(self, account_id: str) -> tuple[str, ...]:
        """The user ids of an account's buyers (empty: no user carries that ACCOUNT_ID)."""
        if self._users is None:
            self.reload_users()
        return self._accounts.get(account_id, ())

    def account(self, account_id: str) -> Mapping[str, str | None] | None:
        """An account's metadata, as `user()` gives a user's: ACCOUNT_ID and every users column on which all
        its buyers agree (a segment, a price list, an entitled assortment); None for an unknown account."""
        buyers = self.account_buyers(account_id)
        if not buyers:
            return None
        rows = [self.user(b) or {} for b in buyers]
        columns = [c for c in rows[0] if c not in (Col.user_id, ACCOUNT_ID)]
        shared = {c: rows[0][c] for c in columns if all(r.get(c) == rows[0][c] for r in rows)}
        return {ACCOUNT_ID: account_id, **shared}

    def forget_users(self) -> None:
        """Drop the users snapshot (after an upsert): the next lookup reads the table again."""
        self._users = None

    # -- the served models ----------------------------------------------------------------------
    def model(self, base: Recommender) -> Recommender:
        """`base` extended with the catalogue's items it has never seen (built now if needed: off the event loop)."""
        found = self._extended.get(id(base))
        if found is not None and found[0] is base:
            return found[1]
        items = self.items()
        with self._lock:
            found = self._extended.get(id(base))
            if found is not None and found[0] is base:
                return found[1]
            served = with_new_items(base, items)
            new_ids = frozenset(served.new.ids) if isinstance(served, WithNewItems) else frozenset()
            if new_ids - self._new_ids.get(id(base), frozenset()):
                self._new_since[id(base)] = time.time()
                log.info("%d product(s) unknown to the model served through their metadata", len(new_ids))
            self._new_ids[id(base)] = new_ids
            if self._items is items:
                self._extended[id(base)] = (base, served, new_ids)
            return served

    def new_since(self, base: Recommender) -> float:
        """When this process first saw the current new items of `base` (0: none): memory only."""
        return self._new_since.get(id(base), 0.0)

    def item_ids(self, model: Recommender) -> frozenset[str]:
        """Every item id `model` can recommend (computed once per model)."""
        found = self._item_ids.get(id(model))
        if found is not None and found[0] is model:
            return found[1]
        ids = getattr(model, "items_", None)
        if ids is not None:
            universe = frozenset(ids.to_ids(np.arange(len(ids))))
        else:  # a model without an item index: the catalogue
            universe = frozenset(self.items()[Col.item_id].to_list())
        self._item_ids[id(model)] = (model, universe)
        return universe

    def prepare(self) -> None:
        """Extend every served model from the current snapshot (off the request path), and let go
        of models no longer served (a version replaced by a promotion must not stay in memory)."""
        served = list(self.served())
        keep = {id(m) for m in served}
        with self._lock:
            for cache in (self._extended, self._item_ids, self._new_ids, self._new_since):
                for key in [k for k in cache if k not in keep]:
                    del cache[key]
        for base in served:
            self.model(base)

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
        """Re-read what has been read before; extend the served models off the request path."""
        if self._items is not None:
            self.reload_items()
        else:
            self.prepare()
        if self._users is not None:
            self.reload_users()
