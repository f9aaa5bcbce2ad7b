# SPDX-License-Identifier: Apache-2.0
"""Above the service: which experiment variant answers a user, and the exposure log.

Both adapters get every answer through `answer(router, req)`: `router.cached(req)` on the
event loop (memory only), else `router.scored(req)` on a worker thread. Without a running
experiment the router passes the request to the service unchanged. With one, a user's
recommendations go through the user's variant (a salted hash, `homerec.experiments.assign`):

- `split`: the user's variant is served; `shadow`: the control is served, and for users
  assigned to another variant that variant's list is also computed, on a background thread so
  the request does not wait, and logged as not served. When the shadow backlog is full, shadow
  lists are skipped (and counted), never queued without bound.
- A variant is a model version (`model:active`, `model:vN`: the request is pinned to it) or an
  external Personalize-compatible endpoint. An endpoint that fails or times out is answered by
  the control instead; the exposure keeps the assigned variant (intent to treat, so the split
  the report checks stays the configured one) and the failure is counted.

A request already pinned to a version (a Personalize campaign mapped to `v3`) and requests for
similar items or rankings are not part of experiments. Every served list of an experiment is
an exposure (`ExposureLog.append`: no I/O), unless the request is a look (`logged=False`); so is
every list served for a placement (`req.placement`), with the experiment left empty outside one.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from homerec.data.schema import NO_EXPERIMENT
from homerec.experiments.assign import route
from homerec.experiments.spec import Experiment, Variant
from homerec.serving.experiments import EndpointError, ExperimentState
from homerec.serving.exploration import LOG_NAME, LOG_VARIANT, explored_ids
from homerec.serving.exposures import ExposureLog
from homerec.serving.request import ENDPOINT, USER, Answer, Request
from homerec.serving.service import RecService
from homerec.serving.versions import ACTIVE

log = logging.getLogger(__name__)

MAX_SHADOW_BACKLOG = 64
_Found = TypeVar("_Found", Answer, Answer | None)


async def answer(router: "Router", req: Request) -> Answer:
    """The one way an adapter answers a read: from memory at once, else scored on a worker thread."""
    return router.cached(req) or await run_in_threadpool(router.scored, req)


class Router:
    """Experiment routing and exposure logging over a `RecService`."""

    def __init__(self, service: RecService, experiments: ExperimentState, exposures: ExposureLog) -> None:
        self.service, self.experiments, self.exposures = service, experiments, exposures
        self._shadow = ThreadPoolExecutor(1, thread_name_prefix="homerec-shadow")
        self._backlog = threading.BoundedSemaphore(MAX_SHADOW_BACKLOG)
        self.endpoint_failures = 0
        self.shadow_skipped = 0

    def _experiment(self, req: Request) -> Experiment | None:
        if req.kind != USER or req.version is not None:
            return None
        return self.experiments.current

    def cached(self, req: Request) -> Answer | None:
        """The answer from memory (None: score it), routed and logged when an experiment runs."""
        experiment = self._experiment(req)
        if experiment is None:
            found = self.service.cached(req)
            return found if req.placement is None else self._placed(req, found)
        served, shadow = route(experiment, req.user_id or "")
        variant = experiment.variant(served)
        if variant.endpoint is not None:
            return None
        found = self.service.cached(_pinned(req, variant))
        return None if found is None else self._served(experiment, served, shadow, req, found)

    def scored(self, req: Request) -> Answer:
        """The answer, scored as needed (call off the event loop), routed and logged when an experiment runs."""
        experiment = self._experiment(req)
        if experiment is None:
            found = self._log_explored(req, self.service.scored(req))
            return found if req.placement is None else self._placed(req, found)
        served, shadow = route(experiment, req.user_id or "")
        found = self._variant_answer(experiment, experiment.variant(served), req)
        return self._served(experiment, served, shadow, req, self._log_explored(req, found))

    def _log_explored(self, req: Request, found: Answer) -> Answer:
        """Log the exploration slots of a served list: how often a young product was shown lowers its share."""
        explored = explored_ids(found.items) if req.explores and req.logged else []
        if explored:
            self.exposures.append(f"{found.recommendation_id}:x", LOG_NAME, LOG_VARIANT, req.user_id or req.account_id or "",
                                  explored, served=True)
        return found

    def _placed(self, req: Request, found: _Found) -> _Found:
        """Log a placement's list outside experiments (so its CTR, conversion and revenue can be reported)."""
        if found is not None and req.logged:
            self.exposures.append(found.recommendation_id, NO_EXPERIMENT, NO_EXPERIMENT, req.user_id or "",
                                  [r.item_id for r in found.items], served=True, placement=req.placement)
        return found

    def _served(self, experiment: Experiment, served: str, shadow: str | None, req: Request, found: Answer) -> Answer:
        """Stamp the answer with its variant, log it, and start the shadow list."""
        found = replace(found, experiment=experiment.name, variant=served)
        if not req.logged:
            return found
        self.exposures.append(found.recommendation_id, experiment.name, served, req.user_id or "",
                              [r.item_id for r in found.items], served=True, placement=req.placement)
        if shadow is not None:
            if self._backlog.acquire(blocking=False):
                self._shadow.submit(self._log_shadow, experiment, shadow, req)
            else:
                self.shadow_skipped += 1
        return found

    def _variant_answer(self, experiment: Experiment, variant: Variant, req: Request) -> Answer:
        if variant.endpoint is None:
            pinned = _pinned(req, variant)
            return self.service.cached(pinned) or self.service.scored(pinned)
        try:
            return self._endpoint_answer(variant, req)
        except EndpointError as err:
            self.endpoint_failures += 1
            log.warning("%s; serving the control", err)
            control = experiment.variant(experiment.control)
            if control.endpoint is not None or control is variant:
                return self.service.scored(req)
            return self._variant_answer(experiment, control, req)

    def _endpoint_answer(self, variant: Variant, req: Request) -> Answer:
        assert req.user_id is not None
        items, _ = self.service.store.user_items(req.user_id)
        banned = set(req.exclude) | set(items)
        recs = self.experiments.call_endpoint(variant, req.user_id, min(500, req.k + len(banned)))
        kept = [r for r in recs if r.item_id not in banned and (req.min_score is None or r.score10 >= req.min_score)]
        return Answer(kept[: req.k], ENDPOINT, variant.source)

    def _log_shadow(self, experiment: Experiment, name: str, req: Request) -> None:
        try:
            found = self._variant_answer(experiment, experiment.variant(name), req)
            self.exposures.append(found.recommendation_id, experiment.name, name, req.user_id or "",
                                  [r.item_id for r in found.items], served=False, placement=req.placement)
        except Exception:
            log.exception("shadow list of variant %s failed for %r", name, req.user_id)
        finally:
            self._backlog.release()

    def close(self) -> None:
        """Finish the shadow work in flight."""
        self._shadow.shutdown(wait=True)


def _pinned(req: Request, variant: Variant) -> Request:
    """The request as the variant's model version answers it (`model:active`: unchanged)."""
    version = variant.model_version
    return req if version in (None, ACTIVE) else req._replace(version=version)
