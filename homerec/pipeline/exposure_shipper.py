# SPDX-License-Identifier: Apache-2.0
"""`homerec ship-exposures`: moves the serving workers' exposure spool into the store, off their CPU.

`homerec serve` starts it beside granian at a lower CPU priority and stops it after the
workers: under load it yields the cores to the workers and catches up when they idle; at the
end it ships what the workers flushed on their way out. See `homerec.storage.spool`.
"""

import logging
import threading
from pathlib import Path

from homerec.storage import open_store
from homerec.storage.spool import ship

log = logging.getLogger(__name__)


def ship_until(store_url: str, folder: Path, stop: threading.Event, interval_s: float = 1.0) -> int:
    """Ship the spool every `interval_s` until `stop` is set, then once more; returns rows inserted.

    A store error (locked, unreachable) is logged and retried at the next tick: the files stay.
    """
    store = open_store(store_url)
    total = 0
    try:
        while True:
            last = stop.wait(interval_s)
            try:
                total += ship(store, folder)
            except Exception as err:  # keep the files, try again
                log.warning("exposures not shipped yet (%s); retrying", err)
            if last:
                return total
    finally:
        store.close()
