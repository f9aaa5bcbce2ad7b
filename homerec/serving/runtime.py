# SPDX-License-Identifier: Apache-2.0
"""What one serving process runs, built and started in the app's lifespan and stopped at its end.

    store ─ versions (active + pinned models) ─ catalog (items, users, models extended with new items)
          ─ lists (the batch's lists, in memory) ─ freshness (follows the store's change feed)
    service = RecService(store, versions, catalog, lists, freshness)      reads: cached / scored
    router  = Router(service, experiments, exposures)                      experiments above the service
    writes  = Writes(store, catalog, freshness, exposures)                 events, metadata, deletion

Start order matters once: the lists are loaded first, then every change after the oldest list
is applied (`Freshness.catch_up`), then the feed is followed from there, so no change between
the batch and this process's start is missed.
"""

import asyncio
import logging
import threading
from dataclasses import dataclass

from homerec.errors import HomerecError
from homerec.models.base import Recommender
from homerec.models.registry import Registry
from homerec.serving.catalog import Catalog
from homerec.serving.experiments import ExperimentState
from homerec.serving.exposures import ExposureLog
from homerec.serving.freshness import Freshness
from homerec.serving.periodic import Periodic
from homerec.serving.router import Router
from homerec.serving.served_lists import ServedLists
from homerec.serving.service import RecService
from homerec.serving.versions import Versions
from homerec.serving.writes import Writes
from homerec.settings import Settings
from homerec.storage import open_store
from homerec.storage.base import Store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The parts of a serving process, wired together."""

    store: Store
    versions: Versions
    catalog: Catalog
    lists: ServedLists
    freshness: Freshness
    service: RecService
    experiments: ExperimentState
    exposures: ExposureLog
    router: Router
    writes: Writes
    watcher: Periodic | None = None

    @classmethod
    def start(cls, settings: Settings) -> "Runtime":
        """Open the store, load the active model and the lists, and start every background thread."""
        _warm_up()
        store = open_store(settings.store_url)
        versions = Versions(Registry(settings.artifact_dir))
        try:
            versions.refresh()
        except HomerecError as err:  # serve (not ready) until a loadable version appears
            log.error("no model loaded at start: %s", err)
        catalog = Catalog(store, settings.catalog_refresh_s, served=lambda: [v.model for v in versions.loaded()])
        lists = ServedLists(store)
        freshness = Freshness(store, on_items=catalog.reload_items, on_users=catalog.forget_users)
        service = RecService(store, versions, catalog, lists, freshness)
        experiments = ExperimentState(store, versions, settings.reload_interval_s)
        exposures = ExposureLog(store, spool=settings.exposure_spool)
        router = Router(service, experiments, exposures)
        writes = Writes(store, catalog, freshness, exposures, settings.max_future_skew_s)
        runtime = cls(store, versions, catalog, lists, freshness, service, experiments, exposures, router, writes)
        freshness.on_recs = runtime.reload_lists_soon
        lists.reload(runtime.models_by_version())
        freshness.catch_up(lists.oldest_feed_seq())
        catalog.prepare()
        catalog.start()
        experiments.start()
        exposures.start()
        if settings.reload_interval_s > 0:
            runtime.watcher = Periodic("homerec-model-watcher", settings.reload_interval_s, runtime.follow_registry)
            runtime.watcher.start()
        return runtime

    def follow(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start following the store's change feed (on `loop` where the feed allows it: SQLite)."""
        self.freshness.start(loop)

    def reload_lists_soon(self) -> None:
        """A batch wrote new lists: load them on their own thread (the feed keeps being followed meanwhile)."""
        threading.Thread(target=self.reload_lists, name="homerec-lists", daemon=True).start()

    def reload_lists(self) -> None:
        """Load the batch's lists again; forget the changes no list depends on any more."""
        try:
            self.lists.reload(self.models_by_version())
        except HomerecError as err:  # the lists loaded before keep serving
            log.warning("cached lists not reloaded: %s", err)
            return
        self.freshness.forget_before(self.lists.oldest_feed_seq())

    def models_by_version(self) -> dict[str, Recommender]:
        """The loaded versions' models: what the lists' 0-10 scores are calibrated with."""
        return {v.version: v.model for v in self.versions.loaded()}

    def follow_registry(self) -> bool:
        """Swap in a newly promoted version, and extend it with new products before it is asked."""
        swapped = self.versions.refresh()
        if swapped:
            self.catalog.prepare()
            self.reload_lists()  # their 0-10 scores, if the batch already holds the new version's lists
        return swapped

    def stop(self) -> None:
        """Stop every thread, write the buffered exposures, close the store."""
        if self.watcher is not None:
            self.watcher.stop()
        self.freshness.stop()
        self.catalog.stop()
        self.experiments.stop()
        self.router.close()
        self.exposures.stop()
        self.store.close()


def _warm_up() -> None:
    """Per-process set-up: one BLAS thread, and imports the first event would pay for (~0.4 s).

    A request scores one user: a BLAS pool per call only adds hand-offs, and N worker
    processes each running a pool of N threads oversubscribe the cores.
    """
    from threadpoolctl import threadpool_limits

    import pyarrow.compute  # noqa: F401  (event ids are built with it)

    threadpool_limits(1)
