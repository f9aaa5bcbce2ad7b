# SPDX-License-Identifier: Apache-2.0
"""A/B experiments in the serving process: the running experiment, its variants' sources, the exposure log.

`ExperimentState` re-reads the store's experiments every `refresh_s` on a background thread,
so `homerec experiment set-traffic | stop | rollback` reach every worker and replica without a
restart, and loads the model versions the variants name ahead of the first request. It also
calls external Personalize-compatible endpoints (boto3, imported only when a variant needs
it; `homerec.experiments.source.runtime_client`) with the variant's timeout and no retries.

`ExposureLog` buffers served lists in memory and writes them to the store in batches on its
own thread: a request only appends one tuple under a lock. Exposures still in the buffer
when a process is killed are lost (they are a measurement, not user data); a clean shutdown
flushes them.
"""

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import polars as pl

from homerec.data.schema import EXPOSURE_FRAME_COLUMNS, Col
from homerec.errors import HomerecError
from homerec.experiments.source import runtime_client
from homerec.experiments.spec import Experiment, Variant, routing_experiment
from homerec.models.registry import Registry
from homerec.serving.periodic import Periodic
from homerec.serving.state import Loaded, load_version
from homerec.storage.base import Store
from homerec.types import Recommendation

log = logging.getLogger(__name__)


class EndpointError(HomerecError):
    """An external variant's endpoint failed or timed out (the control is served instead)."""


class ExperimentState:
    """The running experiment (or None) and the models and clients its variants need."""

    def __init__(self, store: Store, registry: Registry, refresh_s: float = 2.0) -> None:
        self.store, self.registry, self.refresh_s = store, registry, refresh_s
        self.current: Experiment | None = None
        self._versions: dict[str, Loaded] = {}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._refresher: Periodic | None = None

    def reload(self) -> Experiment | None:
        """Read the running experiment from the store and load the model versions it names."""
        experiment = routing_experiment(self.store.experiments())
        if experiment is not None:
            for variant in experiment.variants:
                version = variant.model_version
                if version not in (None, "active") and variant.share > 0:
                    self.model(version)
        self.current = experiment
        return experiment

    def model(self, version: str) -> Loaded:
        """A registry version other than the active one, loaded once per process."""
        loaded = self._versions.get(version)
        if loaded is None:
            with self._lock:
                loaded = self._versions.get(version)
                if loaded is None:
                    loaded = load_version(self.registry, version)
                    self._versions[version] = loaded
        return loaded

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


MAX_BUFFERED = 200_000
"""Exposures a process keeps while the store refuses writes (~60 MB); older ones are dropped past it."""


class ExposureLog:
    """Served lists, buffered and written to the store in batches by a background thread."""

    def __init__(self, store: Store, flush_s: float = 2.0, max_rows: int = 20_000) -> None:
        self.store, self.flush_s, self.max_rows = store, flush_s, max_rows
        self._rows: list[tuple[str, str, str, str, list[str], int, bool]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed = 0

    def append(self, recommendation_id: str, experiment: str, variant: str, user_id: str,
               items: Sequence[str], served: bool) -> None:
        """Queue one exposure (cheap: no I/O on the caller's thread)."""
        row = (recommendation_id, experiment, variant, user_id, list(items), int(time.time()), served)
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.max_rows
        if full:
            self._wake.set()

    def forget(self, user_id: str) -> int:
        """Drop the buffered exposures of one user (deleted); returns how many went."""
        with self._lock:
            kept = [row for row in self._rows if row[3] != user_id]
            dropped, self._rows = len(self._rows) - len(kept), kept
        return dropped

    def flush(self) -> int:
        """Write what is buffered now; returns rows written.

        On a store error (a locked or unreachable database) the rows go back to the buffer for
        the next flush; only past `MAX_BUFFERED` rows are the oldest dropped (and counted).
        """
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        columns = list(zip(*rows))  # column by column: several times cheaper than row tuples
        frame = pl.DataFrame({name: list(values) for name, values in zip(EXPOSURE_FRAME_COLUMNS, columns)},
                             schema={Col.recommendation_id: pl.String, Col.experiment: pl.String,
                                     Col.variant: pl.String, Col.user_id: pl.String,
                                     Col.ranked: pl.List(pl.String), Col.ts: pl.Int64, Col.served: pl.Boolean})
        try:
            written = self.store.add_exposures(frame)
        except Exception:
            log.exception("could not log %d exposures (kept for the next try)", len(rows))
            with self._lock:
                self._rows = rows + self._rows
                overflow = len(self._rows) - MAX_BUFFERED
                if overflow > 0:
                    del self._rows[:overflow]
                    self.failed += overflow
            return 0
        self.written += written
        return written

    def start(self) -> None:
        """Flush every `flush_s` (or when `max_rows` are waiting) on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="homerec-exposures", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            self.flush()
