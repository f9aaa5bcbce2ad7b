# SPDX-License-Identifier: Apache-2.0
"""A daemon thread that calls one function every few seconds: how a serving process follows the store.

The model watcher (promote/rollback), the catalogue snapshot and the running experiment are
each re-read this way; the model watcher is also poked when the change feed announces a switch.
A failed call is logged and the last good state keeps serving; the next tick tries again.
"""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic(threading.Thread):
    """Calls `action()` every `interval_s` seconds until `stop()`; `poke()` calls it at once."""

    def __init__(self, name: str, interval_s: float, action: Callable[[], object]) -> None:
        super().__init__(name=name, daemon=True)
        self.interval_s, self.action = interval_s, action
        self._stop_event = threading.Event()
        self._wake = threading.Event()

    def run(self) -> None:
        """Tick until stopped; an exception is logged, never raised."""
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop_event.is_set():
                return
            try:
                self.action()
            except Exception as err:  # keep serving what was loaded last
                log.warning("%s: %s", self.name, err)

    def poke(self) -> None:
        """Run the action now rather than at the next tick (once, however often poked meanwhile)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop ticking and wait for the thread."""
        self._stop_event.set()
        self._wake.set()
        self.join(timeout=5)
