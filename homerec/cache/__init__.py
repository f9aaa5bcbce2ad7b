# SPDX-License-Identifier: Apache-2.0
"""The shared cache of serving replicas: Redis (`--cache redis://HOST:PORT/DB`, `pip install homerec[redis]`).

Replicas on several machines share two things through it, and the store keeps both, so that
losing Redis degrades to store reads (with a logged warning), never to errors:

- **the change stream** (`stream`): every process relays the change rows it committed to the
  store (events, deletions, item and user upserts, cache switches, model activations) to one
  Redis stream; every worker of every replica follows it, and checks it against the store's
  `changes` table (the record) every second, so a relay lost with a crashed process is late by
  at most that second, never missed.
- **the batch's lists** (`lists`): `homerec batch` writes the lists to the store, then copies
  each namespace into a new Redis generation and switches one pointer to it; replicas load
  the generation the pointer names, never a half-written one; old generations expire.

The active model needs nothing of its own: the registry (a folder every replica mounts) stays
its record, and `homerec models promote/rollback` announce the switch as a `model` change on
the stream, so every replica re-reads the registry at once instead of at its next poll.
"""

from homerec.cache.shared import SharedCache, attach, open_cache

__all__ = ["SharedCache", "attach", "open_cache"]
