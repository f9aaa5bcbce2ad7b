# SPDX-License-Identifier: Apache-2.0
"""Which dataset group, store and model version an ARN or trackingId an application sends belongs to.

The configuration is `Settings.personalize_groups()` (`homerec.campaigns`); what the control
plane created since (filters, a campaign switched to a pinned version) is read from the
group's store and kept for `TTL_S`, so every replica sees another's CreateFilter at once (a
miss is read through) and a DeleteFilter within a second. Calls may read the store: make them
off the event loop.

Nothing an application writes is dropped: a trackingId or dataset ARN that no group lists
goes to the first group (logged once, counted in `unmapped`). Reads of an unknown campaign
are ResourceNotFoundException only when the groups list campaigns at all (zero config: every
ARN is served by the active model).
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from homerec.campaigns import DATASET_TYPES, DatasetGroup, Serving, Solution, parse_arn
from homerec.data.schema import Resource
from homerec.serving.errors import invalid, not_found
from homerec.settings import Settings
from homerec.storage.base import Store

log = logging.getLogger(__name__)

TTL_S = 1.0
"""How long a store-backed lookup (a filter, a campaign's pinned version) is reused."""


@dataclass(frozen=True)
class Target:
    """A campaign or recommender: its group and how it answers."""

    group: DatasetGroup
    serving: Serving
    listed: bool
    """Whether the configuration names it (else: zero-config defaults)."""


class Groups:
    """ARN resolution over the configured dataset groups and their stores."""

    def __init__(self, settings: Settings, store_of: Callable[[DatasetGroup], Store]) -> None:
        self.groups = settings.personalize_groups()
        self.configured = bool(settings.dataset_groups)
        """False: one default group of the server's store, which every dataset-group ARN names."""
        self.store_of = store_of
        self.unmapped = 0
        """Writes accepted for a trackingId or dataset ARN that no group lists."""
        self._warned: set[str] = set()
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}
        self._lock = threading.Lock()

    @property
    def first(self) -> DatasetGroup:
        """The group that takes what no other names."""
        return self.groups[0]

    def by_name(self, name: str) -> DatasetGroup | None:
        """The group of that name, or None."""
        return next((g for g in self.groups if g.name == name), None)

    def by_arn(self, arn: str) -> DatasetGroup:
        """The group of a dataset-group ARN; ResourceNotFoundException otherwise."""
        for g in self.groups:
            if g.arn == arn:
                return g
        if not self.configured:
            return self.first
        raise not_found(f"dataset group {arn} is not configured (dataset_groups)")

    # -- reads ------------------------------------------------------------------------------------
    def campaign(self, arn: str, what: str = "campaign") -> Target:
        """The group and serving settings of a campaign or recommender ARN."""
        for g in self.groups:
            listed = (g.campaigns if what == "campaign" else g.recommenders).get(arn)
            if listed is not None:
                return Target(g, self._pinned(g, arn, listed), True)
        if any(g.campaigns or g.recommenders for g in self.groups):
            raise not_found(f"{what} {arn} not found (it is not configured in dataset_groups / HOMEREC_CAMPAIGNS)")
        return Target(self.first, self._pinned(self.first, arn, Serving()), False)

    def _pinned(self, group: DatasetGroup, arn: str, serving: Serving) -> Serving:
        """The configured settings, with the version an UpdateCampaign pinned (a campaign not on `active`)."""
        if serving.version == "active":
            return serving
        row = self._stored(group, arn, Resource.campaign)
        pinned = row.get("version") if isinstance(row, dict) else None
        return serving.model_copy(update={"version": pinned}) if pinned else serving

    def filter(self, arn: str) -> tuple[DatasetGroup, str]:
        """The group and expression of a filter ARN (configured, or created with CreateFilter)."""
        for g in self.groups:
            if arn in g.filters:
                return g, g.filters[arn]
        for g in self.groups:
            doc = self._stored(g, arn, Resource.filter)
            if isinstance(doc, dict) and doc.get("status") == "ACTIVE":
                return g, str(doc["filterExpression"])
        raise not_found(f"filter {arn} not found")

    def solution(self, arn: str) -> tuple[DatasetGroup, Solution]:
        """The group and training settings of a solution ARN (unlisted: the first group's defaults)."""
        for g in self.groups:
            if arn in g.solutions:
                return g, g.solutions[arn]
        if any(g.solutions for g in self.groups):
            raise not_found(f"solution {arn} not found (it is not configured in dataset_groups)")
        return self.first, Solution()

    # -- writes: never refused for want of configuration -----------------------------------------
    def tracker(self, tracking_id: str) -> DatasetGroup:
        """The group of an event tracker (unlisted: the first group, logged once)."""
        for g in self.groups:
            if tracking_id in g.event_trackers:
                return g
        if any(g.event_trackers for g in self.groups):
            self._unmapped(f"trackingId {tracking_id}")
        return self.first

    def dataset(self, arn: str, kind: str) -> DatasetGroup:
        """The group of a dataset ARN (`…:dataset/<group>/<TYPE>`), checked against the operation's type."""
        _, _, resource, path = parse_arn(arn)
        name, _, dataset_type = path.rpartition("/")
        if resource == "dataset" and dataset_type in (*DATASET_TYPES, "ACTIONS") and dataset_type != kind:
            raise invalid(f"{arn} is a {dataset_type} dataset, not {kind}")
        group = self.by_name(name) if resource == "dataset" else None
        if group is None:
            if self.configured:
                self._unmapped(f"dataset {arn}")
            return self.first
        return group

    def _unmapped(self, what: str) -> None:
        with self._lock:
            self.unmapped += 1
            if what not in self._warned:
                self._warned.add(what)
                log.warning("%s belongs to no configured dataset group: its data goes to %s", what, self.first.arn)

    # -- the store's records -----------------------------------------------------------------------
    def _stored(self, group: DatasetGroup, arn: str, kind: str) -> object:
        """A resource's stored document (with its status), from the TTL cache or the group's store."""
        key = (group.arn, arn)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = self.store_of(group).resource(arn)
        value = None if row is None or row.kind != kind else {**row.doc, "status": row.status}
        self._cache[key] = (now + TTL_S, value)
        return value

    def forget(self, arn: str) -> None:
        """Drop cached lookups of an ARN (this process changed it)."""
        for key in [k for k in self._cache if k[1] == arn]:
            self._cache.pop(key, None)

