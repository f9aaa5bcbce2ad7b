# SPDX-License-Identifier: Apache-2.0
"""Serving under an experiment: route each user to a variant, answer from its source, log the exposure.

- `split`: the user's variant (a salted hash, `homerec.experiments.assign`) is served.
- `shadow`: the control is served; for users assigned to another variant that variant's list
  is also computed, on a background thread so the request does not wait, and logged as not
  served. When the shadow backlog is full, shadow lists are skipped (and counted), never queued
  without bound.
- A variant is a model version (`model:active`, `model:vN`) or an external
  Personalize-compatible endpoint. An endpoint that fails or times out is answered by the
  control instead; the exposure keeps the assigned variant (intent to treat, so the split the
  report checks stays the configured one) and the failure is counted.
"""

import logging
import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from homerec.experiments.assign import route
from homerec.experiments.spec import Experiment, Variant
from homerec.serving.experiments import EndpointError, ExperimentState, ExposureLog
from homerec.filters import BoundFilter
from homerec.serving.service import Answer, RecService

log = logging.getLogger(__name__)

ENDPOINT = "endpoint"
MAX_SHADOW_BACKLOG = 64


class ABRouter:
    """Experiment-aware `recommend` over a RecService."""

    def __init__(self, service: RecService, state: ExperimentState, exposures: ExposureLog) -> None:
        self.service, self.state, self.exposures = service, state, exposures
        self._shadow = ThreadPoolExecutor(1, thread_name_prefix="homerec-shadow")
        self._backlog = threading.BoundedSemaphore(MAX_SHADOW_BACKLOG)
        self.endpoint_failures = 0
        self.shadow_skipped = 0

    def recommend(
        self, experiment: Experiment, user_id: str, k: int, exclude: Collection[str] = (),
        min_score: float | None = None, item_filter: BoundFilter | None = None, cache_only: bool = False,
        log_exposure: bool = True,
    ) -> Answer | None:
        """The list of the variant the user is routed to, logged as an exposure (unless told not to).

        With `cache_only`, None (and nothing logged) when the list is not a cache hit.
        """
        served, shadow = route(experiment, user_id)
        variant = experiment.variant(served)
        if cache_only:
            if variant.endpoint is not None:
                return None
            answer = self._model_answer(variant, user_id, k, exclude, min_score, item_filter, cache_only=True)
            if answer is None:
                return None
        else:
            answer = self._variant_answer(experiment, variant, user_id, k, exclude, min_score, item_filter)
        answer = replace(answer, experiment=experiment.name, variant=served)
        if not log_exposure:
            return answer
        self.exposures.append(answer.recommendation_id, experiment.name, served, user_id,
                              [r.item_id for r in answer.items], served=True)
        if shadow is not None:
            if self._backlog.acquire(blocking=False):
                self._shadow.submit(self._log_shadow, experiment, shadow, user_id, k, tuple(exclude), min_score,
                                    item_filter)
            else:
                self.shadow_skipped += 1
        return answer

    def _variant_answer(
        self, experiment: Experiment, variant: Variant, user_id: str, k: int, exclude: Collection[str],
        min_score: float | None, item_filter: BoundFilter | None,
    ) -> Answer:
        svc = self.service
        if variant.endpoint is not None:
            try:
                return self._endpoint_answer(variant, user_id, k, exclude, min_score)
            except EndpointError as err:
                self.endpoint_failures += 1
                log.warning("%s; serving the control", err)
                control = experiment.variant(experiment.control)
                if control.endpoint is not None or control is variant:
                    return svc.recommend_with(svc.loaded(), user_id, k, exclude, min_score, item_filter)
                return self._variant_answer(experiment, control, user_id, k, exclude, min_score, item_filter)
        answer = self._model_answer(variant, user_id, k, exclude, min_score, item_filter)
        assert answer is not None
        return answer

    def _model_answer(self, variant: Variant, user_id: str, k: int, exclude: Collection[str],
                      min_score: float | None, item_filter: BoundFilter | None, cache_only: bool = False) -> Answer | None:
        svc = self.service
        version = variant.model_version
        loaded = svc.loaded() if version in (None, "active") else self.state.model(version)
        return svc.recommend_with(loaded, user_id, k, exclude, min_score, item_filter, cache_only)

    def _endpoint_answer(self, variant: Variant, user_id: str, k: int, exclude: Collection[str],
                         min_score: float | None) -> Answer:
        banned = set(exclude) | set(self.service.user_state(user_id).item_ids)
        recs = self.state.call_endpoint(variant, user_id, min(500, k + len(banned)))
        items = [r for r in recs if r.item_id not in banned and (min_score is None or r.score10 >= min_score)]
        return Answer(items[:k], ENDPOINT, variant.source)

    def _log_shadow(self, experiment: Experiment, name: str, user_id: str, k: int, exclude: tuple[str, ...],
                    min_score: float | None, item_filter: BoundFilter | None) -> None:
        try:
            answer = self._variant_answer(experiment, experiment.variant(name), user_id, k, exclude, min_score,
                                          item_filter)
            self.exposures.append(answer.recommendation_id, experiment.name, name, user_id,
                                  [r.item_id for r in answer.items], served=False)
        except Exception:
            log.exception("shadow list of variant %s failed for %r", name, user_id)
        finally:
            self._backlog.release()

    def close(self) -> None:
        """Finish the shadow work in flight."""
        self._shadow.shutdown(wait=True)
