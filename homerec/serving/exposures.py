# SPDX-License-Identifier: Apache-2.0
"""The exposure log of a serving worker: an append on the request path, the writing elsewhere.

Every list served under an experiment (and every shadow list), and every list served for a
placement, is an exposure. A request only
appends one tuple to a Python list (atomic under the GIL: no lock, well under a microsecond).
Once a second a thread takes the buffered tuples and either writes them as one spool file for
the shipper process (`homerec.storage.spool`; what `homerec serve` sets up, so inserting into
the store costs the serving workers nothing) or, without a spool folder (tests, an app run in
one process), inserts them into the store itself. A worker killed mid-way loses at most the
last second of exposures; events are never affected (they are committed before their answer).
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from homerec.storage.base import Store
from homerec.storage.experiment_log import EXPOSURE_SCHEMA
from homerec.storage.spool import write_spool

log = logging.getLogger(__name__)

MAX_BUFFERED = 200_000
"""Exposures a worker keeps while they cannot be written (~60 MB); older ones are dropped past it."""

Row = tuple[str, str, str, str, list[str], int, bool, str | None]


class ExposureLog:
    """Buffered exposures of one worker, flushed every `flush_s` to a spool folder or the store."""

    def __init__(self, store: Store, spool: Path | None = None, flush_s: float = 1.0) -> None:
        self.store, self.spool, self.flush_s = store, spool, flush_s
        self._rows: deque[Row] = deque()  # append and popleft are thread-safe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one flush at a time (the thread, and stop())
        self.written = 0
        self.failed = 0

    def append(self, recommendation_id: str, experiment: str, variant: str, user_id: str,
               items: Sequence[str], served: bool, placement: str | None = None) -> None:
        """Queue one exposure: no I/O, no lock."""
        self._rows.append((recommendation_id, experiment, variant, user_id, list(items), int(time.time()), served,
                           placement))

    def _take(self) -> list[Row]:
        queue = self._rows
        return [queue.popleft() for _ in range(len(queue))]

    def _give_back(self, rows: list[Row]) -> None:
        self._rows.extendleft(reversed(rows))

    def forget_user(self, user_id: str) -> int:
        """Drop the user's exposures still buffered (the user was deleted); returns how many."""
        with self._lock:
            rows = self._take()
            kept = [r for r in rows if r[3] != user_id]
            self._give_back(kept)
        return len(rows) - len(kept)

    def flush(self) -> int:
        """Write what is buffered now; returns rows handed on.

        On a failure the rows go back to the buffer for the next flush; past `MAX_BUFFERED`
        the oldest are dropped (and counted).
        """
        with self._lock:
            rows = self._take()
            if not rows:
                return 0
            frame = pl.DataFrame(list(zip(*rows)), schema=EXPOSURE_SCHEMA, orient="col")
            try:
                if self.spool is not None:
                    write_spool(self.spool, frame)
                    written = frame.height
                else:
                    written = self.store.add_exposures(frame)
            except Exception:
                log.exception("could not log %d exposures (kept for the next try)", len(rows))
                self._give_back(rows)
                overflow = len(self._rows) - MAX_BUFFERED
                for _ in range(max(0, overflow)):
                    self._rows.popleft()
                self.failed += max(0, overflow)
                return 0
        self.written += written
        return written

    def start(self) -> None:
        """Flush every `flush_s` on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="homerec-exposures", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            self.flush()
