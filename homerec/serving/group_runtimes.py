# SPDX-License-Identifier: Apache-2.0
"""The serving runtime of each dataset group: the server's own, plus one per other store and registry.

A dataset group configured with its own `store_url` or `artifact_dir` (`homerec.campaigns`) is
served by a `Runtime` of its own in the same process (its store, model versions, lists and
change feed), started and stopped with the app; groups without one share the server's.
"""

import logging
from pathlib import Path

from homerec.campaigns import DatasetGroup
from homerec.serving.groups import Groups
from homerec.serving.runtime import Runtime
from homerec.settings import Settings

log = logging.getLogger(__name__)


class GroupRuntimes:
    """Dataset groups (`groups`) and the runtime serving each."""

    def __init__(self, settings: Settings, main: Runtime) -> None:
        self.settings, self.main = settings, main
        self._runtimes: dict[tuple[str, str], Runtime] = {self._key(None): main}
        self.groups = Groups(settings, store_of=lambda g: self.of(g).store)

    def _key(self, group: DatasetGroup | None) -> tuple[str, str]:
        store = (group.store_url if group else None) or self.settings.store_url
        artifacts = (group.artifact_dir if group else None) or str(self.settings.artifact_dir)
        return store, str(Path(artifacts).resolve())

    @classmethod
    def start(cls, settings: Settings, main: Runtime) -> "GroupRuntimes":
        """Start a runtime for every group that has a store or registry of its own."""
        runtimes = cls(settings, main)
        for group in runtimes.groups.groups:
            key = runtimes._key(group)
            if key not in runtimes._runtimes:
                own = settings.model_copy(update={"store_url": key[0], "artifact_dir": Path(key[1]),
                                                  "exposure_spool": None})
                runtimes._runtimes[key] = Runtime.start(own)
                log.info("dataset group %s served from its own store", group.arn)
        return runtimes

    def of(self, group: DatasetGroup) -> Runtime:
        """The runtime serving a group."""
        return self._runtimes[self._key(group)]

    def stop(self) -> None:
        """Stop the groups' own runtimes (the server's is stopped by the app)."""
        for runtime in self._runtimes.values():
            if runtime is not self.main:
                runtime.stop()
