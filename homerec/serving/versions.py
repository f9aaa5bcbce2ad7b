# SPDX-License-Identifier: Apache-2.0
"""The model versions a serving process holds: the active one, and any pinned version asked for.

One holder serves the native routes, the Personalize adapter (a campaign mapped to `v3`) and
experiment variants (`model:v3`). Each version is an immutable `Loaded` snapshot. The active
one follows the registry: `refresh()` (called by a watcher thread, and by POST
/v1/admin/reload) loads a newly promoted version completely before swapping it in with one
attribute assignment, so a request that took `active` keeps its snapshot to the end and no
answer ever mixes two versions. Pinned versions are loaded once, on first use, off the event
loop (`load`); the event loop only ever reads what is loaded (`get`).
"""

import logging
import threading
from dataclasses import dataclass

from homerec.errors import HomerecError
from homerec.models.base import Recommender
from homerec.models.basket import BasketModel
from homerec.models.registry import Registry
from homerec.models.reorder import ReorderModel
from homerec.serving.periodic import Periodic

log = logging.getLogger(__name__)

ACTIVE = "active"


class NotReady(HomerecError):
    """No model version is loaded yet (train one, or wait for the load to finish)."""


@dataclass(frozen=True)
class Loaded:
    """A loaded version: the model and what serving needs from its metadata."""

    version: str
    model: Recommender
    trained_until: int | None
    """Timestamp of the newest training event; later events are folded in at request time."""
    reorder: ReorderModel | None = None
    """The version's re-order model (buy-again lists), when it was trained with one."""
    basket: BasketModel | None = None
    """The version's basket model (a cart's complements), when it was trained with one."""


def load_version(registry: Registry, version: str) -> Loaded:
    """Load one registry version; any failure is a HomerecError naming the version."""
    try:
        info = registry.info(version)
        model = registry.load(version)
        parts = registry.parts(version)
        reorder = registry.load_part("reorder", version, discovery=model) if "reorder" in parts else None
        basket = registry.load_part("basket", version) if "basket" in parts else None
    except HomerecError:
        raise
    except Exception as err:  # a corrupt artifact must not take the server down
        raise HomerecError(f"cannot load model {version}: {err}") from err
    ts = info.meta.get("trained_until")
    return Loaded(version, model, int(ts) if ts is not None else None, reorder, basket)


class Versions:
    """The active version (swapped atomically) and pinned versions, loaded once each."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.current: Loaded | None = None
        """The active version being served (None until one loads)."""
        self.last_error: str | None = None
        self._pinned: dict[str, Loaded] = {}
        self._lock = threading.Lock()  # one load at a time

    def active(self) -> Loaded:
        """The active snapshot for one request. Raises NotReady before any version loaded."""
        current = self.current
        if current is None:
            raise NotReady(self.last_error or "no model is loaded: run `homerec train` first")
        return current

    def get(self, version: str | None) -> Loaded | None:
        """A version already in memory (None/`active`: the active one), or None; never loads."""
        if version is None or version == ACTIVE:
            return self.current
        current = self.current
        if current is not None and current.version == version:
            return current
        return self._pinned.get(version)

    def load(self, version: str | None) -> Loaded:
        """A version, loaded now if needed (call off the event loop). Raises NotReady or HomerecError."""
        if version is None or version == ACTIVE:
            return self.active()
        loaded = self.get(version)
        if loaded is not None:
            return loaded
        with self._lock:
            loaded = self._pinned.get(version)
            if loaded is None:
                loaded = load_version(self.registry, version)
                self._pinned[version] = loaded
                log.info("pinned model %s loaded", version)
        return loaded

    def loaded(self) -> list[Loaded]:
        """Every version in memory, the active one first."""
        out = [self.current] if self.current is not None else []
        return out + [v for v in self._pinned.values() if v not in out]

    def refresh(self, force: bool = False) -> bool:
        """Load the registry's active version if it differs from the one served (or `force`).

        Returns:
            True when a new snapshot was swapped in.

        Raises:
            HomerecError: the active version cannot be loaded (the old one keeps serving).
        """
        with self._lock:
            version = self.registry.active()
            current = self.current
            if version is None or (not force and current is not None and current.version == version):
                return False
            try:
                loaded = self._pinned.pop(version, None) if not force else None
                loaded = loaded or load_version(self.registry, version)
            except HomerecError as err:
                self.last_error = str(err)
                raise
            self.current = loaded
            self.last_error = None
            log.info("serving model %s", version)
            return True

    def watch(self, interval_s: float) -> Periodic:
        """Start a daemon thread that calls refresh() every `interval_s` seconds (see `stop()`)."""
        watcher = Periodic("homerec-model-watcher", interval_s, self.refresh)
        watcher.start()
        return watcher
