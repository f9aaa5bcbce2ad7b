# SPDX-License-Identifier: Apache-2.0
"""What serving replicas must hear besides the store's own writes: lists shared, a model version made active.

- `share_lists`: after `homerec batch` wrote its lists to the store, copy them into a new
  generation of the shared cache and switch its pointer (`homerec.cache.lists`); replicas load
  it when the `lists` change reaches them. Without a shared cache, nothing to do: replicas
  reload from the store on the batch's own `recs` changes.
- `announce_active`: after the registry's active version changed (promote, rollback, a training
  that activates), a `model` change through the store's change feed (and the stream): every
  replica reads the registry at once rather than at its next poll (`reload_interval_s`).

Both degrade to a logged warning: the lists are in the store, the registry is switched, and
replicas find either within seconds on their own.
"""

import logging
from collections.abc import Sequence

from homerec.cache import attach
from homerec.cache.lists import Pointer
from homerec.data.schema import Change
from homerec.errors import HomerecError
from homerec.settings import Settings
from homerec.storage import open_store

log = logging.getLogger(__name__)


def share_lists(settings: Settings, namespaces: Sequence[str]) -> list[Pointer]:
    """Publish the store's lists of `namespaces` to the shared cache (none configured: nothing); the new pointers."""
    if not settings.cache_url or not namespaces:
        return []
    store = open_store(settings.store_url)
    cache = attach(store, settings.cache_url)
    assert cache is not None
    try:
        return cache.publish_lists(store, namespaces)
    finally:
        cache.close()
        store.close()


def announce_active(settings: Settings, version: str) -> bool:
    """Tell every replica that `version` is active now; False (and a warning) when the store cannot be reached."""
    try:
        store = open_store(settings.store_url)
    except HomerecError as err:
        log.warning("replicas not told that %s is active (%s); they find it at their next registry poll", version, err)
        return False
    cache = None
    try:
        cache = attach(store, settings.cache_url)
        store.announce(Change.model, [version])
        return True
    except HomerecError as err:
        log.warning("replicas not told that %s is active (%s); they find it at their next registry poll", version, err)
        return False
    finally:
        if cache is not None:
            cache.close()
        store.close()
