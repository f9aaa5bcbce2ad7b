# SPDX-License-Identifier: Apache-2.0
"""What one serving process runs, built and started in the app's lifespan and stopped at its end.

    store ─ versions (active + pinned models) ─ catalog (items, users, models extended with new items)
          ─ lists (the batch's lists, in memory) ─ freshness (follows the change feed)
    [shared cache: the lists' generation and the change stream, when `cache_url` is set]
    service = RecService(store, versions, catalog, lists, freshness)      reads: cached / scored
    router  = Router(service, experiments, exposures)                      experiments above the service
    writes  = Writes(store, catalog, exposures)                            events, metadata, deletion

The store hands every change this process commits to `Freshness.note` (the user's lists are
stale before the write is answered) and, with a shared cache, to the stream (other replicas).

Start order matters once: the lists are loaded first, then the feed is opened, then every
change after the oldest list is applied (`Freshness.start`), so no change between the batch and
this process's start is missed.
"""

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from homerec.cache import SharedCache, attach
from homerec.data.schema import Col
from homerec.errors import ConfigError, HomerecError
from homerec.models.base import Recommender
from homerec.models.registry import Registry
from homerec.rules.compile import Placement, check_columns, placements_of
from homerec.serving.catalog import Catalog
from homerec.serving.experiments import ExperimentState
from homerec.serving.exposures import ExposureLog
from homerec.serving.freshness import Freshness
from homerec.serving.periodic import Periodic
from homerec.serving.router import Router
from homerec.serving.segments import Segments
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
    shared: SharedCache | None = None
    watcher: Periodic | None = None
    placements: Mapping[str, Placement] = field(default_factory=dict)
    """The configured placements, compiled and checked against the catalogue at start (`homerec.rules`)."""
    segments: Segments | None = None
    """The active version's segment model for the segment routes, loaded on first use."""

    @classmethod
    def start(cls, settings: Settings) -> "Runtime":
        """Open the store, load the active model and the lists, and start every background thread."""
        _warm_up()
        placements = placements_of(settings.rules, settings.placements)  # a bad rule: ConfigError before anything opens
        store = open_store(settings.store_url)
        shared = attach(store, settings.cache_url)
        versions = Versions(Registry(settings.artifact_dir))
        try:
            versions.refresh()
        except HomerecError as err:  # serve (not ready) until a loadable version appears
            log.error("no model loaded at start: %s", err)
        catalog = Catalog(store, settings.catalog_refresh_s, served=lambda: [v.model for v in versions.loaded()])
        if placements:
            try:
                check_columns(placements, [c for c in catalog.items().columns if c != Col.item_id])
            except ConfigError:
                store.close()
                raise
        lists = ServedLists(store, shared=shared)
        freshness = Freshness(store, on_items=catalog.reload_items, on_users=catalog.forget_users,
                              open_feed=(lambda: shared.feed(store)) if shared is not None else None)
        store.on_changes(freshness.note)
        service = RecService(store, versions, catalog, lists, freshness, settings.exploration_refresh_s)
        experiments = ExperimentState(store, versions, settings.reload_interval_s)
        exposures = ExposureLog(store, spool=settings.exposure_spool)
        router = Router(service, experiments, exposures)
        writes = Writes(store, catalog, exposures, settings.max_future_skew_s)
        runtime = cls(store, versions, catalog, lists, freshness, service, experiments, exposures, router, writes,
                      shared, placements=placements, segments=Segments(store, versions))
        freshness.on_recs, freshness.on_model = runtime.reload_lists_soon, runtime.follow_registry_soon
        lists.reload(runtime.models_by_version())
        catalog.prepare()
        catalog.start()
        experiments.start()
        exposures.start()
        if settings.reload_interval_s > 0:
            runtime.watcher = Periodic("homerec-model-watcher", settings.reload_interval_s, runtime.follow_registry)
            runtime.watcher.start()
        return runtime

    def follow(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Apply every change after the oldest loaded list and follow the change feed from there (on
        `loop` where the feed allows it: SQLite's)."""
        self.freshness.start(self.lists.oldest_feed_seq(), loop)
        if self.lists.behind(self.freshness.newest_recs):  # the store got lists after the shared cache's generation
            self.reload_lists()

    def reload_lists_soon(self) -> None:
        """A batch wrote new lists: load them on their own thread (the feed keeps being followed meanwhile)."""
        threading.Thread(target=self.reload_lists, name="homerec-lists", daemon=True).start()

    def reload_lists(self) -> None:
        """Load the batch's lists again; forget the changes no list depends on any more."""
        try:
            self.lists.reload(self.models_by_version(), self.freshness.newest_recs)
        except HomerecError as err:  # the lists loaded before keep serving
            log.warning("cached lists not reloaded: %s", err)
            return
        self.freshness.forget_before(self.lists.oldest_feed_seq())

    def models_by_version(self) -> dict[str, Recommender]:
        """The loaded versions' models: what the lists' 0-10 scores are calibrated with."""
        return {v.version: v.model for v in self.versions.loaded()}

    def follow_registry_soon(self) -> None:
        """A model version was made active somewhere: read the registry now, off the feed's thread."""
        if self.watcher is not None:
            self.watcher.poke()
        else:
            threading.Thread(target=self.follow_registry, name="homerec-model-load", daemon=True).start()

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
        if self.shared is not None:
            self.shared.close()


def _warm_up() -> None:
    """Per-process set-up: one BLAS thread, and imports the first event would pay for (~0.4 s).

    A request scores one user: a BLAS pool per call only adds hand-offs, and N worker
    processes each running a pool of N threads oversubscribe the cores.
    """
    from threadpoolctl import threadpool_limits

    import pyarrow.compute  # noqa: F401  (event ids are built with it)

    threadpool_limits(1)
