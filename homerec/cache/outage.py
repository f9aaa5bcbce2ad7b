# SPDX-License-Identifier: Apache-2.0
"""Whether Redis is worth asking now: one warning when it goes away, one line when it is back.

A call that fails marks an outage; for `retry_s` afterwards callers skip Redis at once (and use
the store) instead of paying a connection attempt per request; then the next call tries again.
"""

import logging
import threading
import time

log = logging.getLogger("homerec.cache")


class Outage:
    """The state of one connection to Redis, shared by the calls that use it."""

    def __init__(self, url: str, what: str, retry_s: float = 1.0) -> None:
        self.url, self.what, self.retry_s = url, what, retry_s
        self.down_since: float | None = None
        """When the current outage began (monotonic seconds); None while Redis answers."""
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def usable(self) -> bool:
        """Whether to try Redis now (it answers, or the retry pause is over)."""
        return time.monotonic() >= self._retry_at

    def failed(self, err: BaseException) -> None:
        """A call failed: warn once per outage, and skip Redis for `retry_s`."""
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_s
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning("shared cache %s unavailable (%s: %s): %s", self.url, type(err).__name__, err, self.what)

    def ok(self) -> None:
        """A call succeeded: the outage, if any, is over."""
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                log.warning("shared cache %s answers again after %.1f s", self.url, time.monotonic() - self.down_since)
                self.down_since = None
