# SPDX-License-Identifier: Apache-2.0
"""A/B experiments in the serving process: the running experiment and its variants' sources.

`ExperimentState` re-reads the store's experiments every `refresh_s` on a background thread,
so `homerec experiment set-traffic | stop | rollback` reach every worker and replica without a
restart, and loads the model versions the variants name (into the process's `Versions`)
ahead of the first request. It also calls external Personalize-compatible endpoints (boto3,
imported only when a variant needs it; `homerec.experiments.source.runtime_client`) with the
variant's timeout and no retries.
"""

import logging
from typing import Any

from homerec.errors import HomerecError
from homerec.experiments.source import runtime_client
from homerec.experiments.spec import Experiment, Variant, routing_experiment
from homerec.serving.periodic import Periodic
from homerec.serving.versions import ACTIVE, Versions
from homerec.storage.base import Store
from homerec.types import Recommendation

log = logging.getLogger(__name__)


class EndpointError(HomerecError):
    """An external variant's endpoint failed or timed out (the control is served instead)."""


class ExperimentState:
    """The running experiment (or None) and the models and clients its variants need."""

    def __init__(self, store: Store, versions: Versions, refresh_s: float = 2.0) -> None:
        self.store, self.versions, self.refresh_s = store, versions, refresh_s
        self.current: Experiment | None = None
        self._clients: dict[str, Any] = {}
        self._refresher: Periodic | None = None

    def reload(self) -> Experiment | None:
        """Read the running experiment from the store and load the model versions it names."""
        experiment = routing_experiment(self.store.experiments())
        if experiment is not None:
            for variant in experiment.variants:
                version = variant.model_version
                if version not in (None, ACTIVE) and variant.share > 0:
                    self.versions.load(version)
        self.current = experiment
        return experiment

    def call_endpoint(self, variant: Variant, user_id: str, k: int) -> list[Recommendation]:
        """GetRecommendations on the variant's endpoint; EndpointError on any failure or timeout."""
        endpoint = variant.endpoint
        assert endpoint is not None
        url, arn = endpoint
        try:
            client = self._client(url, variant.timeout_ms)
            answer = client.get_recommendations(campaignArn=arn, userId=user_id, numResults=min(k, 500))
        except Exception as err:
            raise EndpointError(f"variant {variant.name}: {type(err).__name__}: {err}") from err
        return [Recommendation(r["itemId"], float(r.get("score", 0.0)), round(10.0 * float(r.get("score", 0.0)), 3),
                               f"endpoint {arn}") for r in answer.get("itemList", [])]

    def _client(self, url: str, timeout_ms: int) -> Any:
        key = f"{url}#{timeout_ms}"
        client = self._clients.get(key)
        if client is None:
            client, _ = runtime_client(url, timeout_ms / 1000.0)
            self._clients[key] = client
        return client

    # -- background refresh ------------------------------------------------------------------
    def start(self) -> None:
        """Read once now, then every `refresh_s` on a daemon thread."""
        try:
            self.reload()
        except HomerecError as err:
            log.error("experiments: %s", err)
        if self.refresh_s > 0 and self._refresher is None:
            self._refresher = Periodic("homerec-experiments", self.refresh_s, self.reload)
            self._refresher.start()

    def stop(self) -> None:
        """Stop the refresh thread."""
        if self._refresher is not None:
            self._refresher.stop()
