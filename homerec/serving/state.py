# SPDX-License-Identifier: Apache-2.0
"""The model being served: one immutable snapshot, swapped atomically when the active version changes."""

import logging
import threading
from dataclasses import dataclass

from homerec.errors import HomerecError
from homerec.models.base import Recommender
from homerec.models.registry import Registry
from homerec.serving.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """A loaded version: the model and what serving needs from its metadata."""

    version: str
    model: Recommender
    trained_until: int | None
    """Timestamp of the newest training event; later events are folded in at request time."""


def load_version(registry: Registry, version: str) -> Loaded:
    """Load one registry version; any failure is a HomerecError naming the version."""
    try:
        info = registry.info(version)
        model = registry.load(version)
    except HomerecError:
        raise
    except Exception as err:  # a corrupt artifact must not take the server down
        raise HomerecError(f"cannot load model {version}: {err}") from err
    ts = info.meta.get("trained_until")
    return Loaded(version, model, int(ts) if ts is not None else None)


class ModelHolder:
    """Holds the current `Loaded` snapshot; readers take `holder.current` once per request.

    Swapping is one attribute assignment (atomic under the GIL), done only after the new
    version is fully loaded, so the old model keeps serving until then and no request ever
    sees a half-loaded model.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.current: Loaded | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()  # one load at a time

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
                loaded = load_version(self.registry, version)
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
