# SPDX-License-Identifier: Apache-2.0
"""The batch's lists in Redis: generations written whole, one pointer per namespace switched atomically.

Layout, per cache namespace (`user`, `item`):

    homerec:lists:<namespace>               the pointer: JSON {generation, as_of, rows, switched_at}
    homerec:lists:<namespace>:<generation>  a hash: key → "model_version TAB computed_at TAB feed_seq TAB items"

(`items` is the store's JSON text `[[item_id, score], …]`.)

`publish` runs at the end of `homerec batch`, after the lists are in the store: it reads the
store's lists of the namespace (so Redis holds exactly what the store holds: every user's
latest list, none of a deleted user), writes them under a new generation whose keys expire
after `WRITE_TTL_S` unless switched to (a batch that dies half-way leaves nothing behind), then
in one MULTI/EXEC sets the pointer, makes the new generation permanent and lets the replaced
one expire after `KEEP_S`. A replica reads the pointer, then that generation: never a
half-written one. `as_of` is the store's change position read before the lists were: a
replica that has seen a newer `recs` change (lists written to the store by a batch without
the shared cache) reads the store instead.

A user deleted after `as_of` is removed from the generation right after the switch, and a
user deleted later from the current generation by whoever deletes (`forget`), so Redis keeps
no list of a deleted user.
"""

import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from homerec.data.schema import Change, Col
from homerec.storage.base import Store
from homerec.storage.cache import is_user_namespace

PREFIX = "homerec:lists:"
WRITE_TTL_S = 86_400
KEEP_S = 600
"""How long a replaced generation stays for replicas still reading it."""
CHUNK_ROWS = 10_000
SCAN_COUNT = 5_000
FIELDS = (Col.model_version, Col.computed_at, Col.feed_seq, Col.ranked)


@dataclass(frozen=True)
class Pointer:
    """Which generation of a namespace replicas serve."""

    namespace: str
    generation: str
    as_of: int
    """The store's change position read before the lists were."""
    rows: int
    switched_at: int

    @property
    def key(self) -> str:
        """The generation's hash."""
        return f"{PREFIX}{self.namespace}:{self.generation}"


def pointer_key(namespace: str) -> str:
    """Where the pointer of `namespace` lives."""
    return f"{PREFIX}{namespace}"


def read_pointer(client: Any, namespace: str) -> Pointer | None:
    """The namespace's current generation, or None before the first publish."""
    return _parse(client.get(pointer_key(namespace)))


def _parse(raw: bytes | None) -> Pointer | None:
    return Pointer(**json.loads(raw)) if raw else None


def encode(frame: pl.DataFrame) -> pl.Series:
    """Each row of a `Store.cached_lists` frame as its hash value."""
    return frame.select(pl.concat_str([pl.col(c).cast(pl.String) for c in FIELDS], separator="\t")).to_series()


def decode(keys: list[str], values: list[str]) -> pl.DataFrame:
    """Hash fields and values back into a `Store.cached_lists` frame (a key seen twice keeps its last value)."""
    parts = pl.Series(values, dtype=pl.String).str.splitn("\t", len(FIELDS)).struct.rename_fields(list(FIELDS))
    frame = pl.DataFrame({Col.key: pl.Series(keys, dtype=pl.String), "v": parts}).unnest("v")
    frame = frame.with_columns(pl.col(Col.computed_at).cast(pl.Int64), pl.col(Col.feed_seq).cast(pl.Int64))
    return frame.select(Col.key, Col.ranked, Col.model_version, Col.computed_at, Col.feed_seq).unique(
        Col.key, keep="last", maintain_order=True)


def publish(client: Any, store: Store, namespace: str, keep_s: int = KEEP_S) -> Pointer:
    """Copy the store's lists of `namespace` into a new generation and switch the pointer to it.

    Returns the pointer now current (an existing one when a concurrent publish read a newer
    store position: the older generation is then dropped, never switched to).
    """
    as_of = store.change_position()
    frame = store.cached_lists(namespace)
    new = Pointer(namespace, f"{time.time_ns() // 1_000_000}-{secrets.token_hex(4)}", as_of, frame.height,
                  int(time.time()))
    keys, values = frame[Col.key].to_list(), encode(frame).to_list()
    for lo in range(0, len(keys), CHUNK_ROWS):
        pipe = client.pipeline(transaction=False)
        pipe.hset(new.key, mapping=dict(zip(keys[lo : lo + CHUNK_ROWS], values[lo : lo + CHUNK_ROWS])))
        pipe.expire(new.key, WRITE_TTL_S)
        pipe.execute()
    current = _switch(client, new, keep_s)
    if current is new and is_user_namespace(namespace):
        deleted, position = [], as_of
        while rows := store.changes(position):
            deleted += [r.key for r in rows if r.kind == Change.deleted]
            position = rows[-1].seq
        forget(client, deleted, [namespace])
    return current


def _switch(client: Any, new: Pointer, keep_s: int) -> Pointer:
    """Point the namespace at `new` in one transaction (retried when another publish switched meanwhile)."""
    from redis.exceptions import WatchError

    key = pointer_key(new.namespace)
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                old = _parse(pipe.get(key))
                if old is not None and old.as_of > new.as_of:
                    pipe.unwatch()
                    client.expire(new.key, keep_s)
                    return old
                pipe.multi()
                pipe.set(key, json.dumps(asdict(new)))
                pipe.persist(new.key)
                if old is not None:
                    pipe.expire(old.key, keep_s)
                pipe.execute()
                return new
            except WatchError:
                continue


def forget(client: Any, user_ids: list[str], namespaces: list[str]) -> None:
    """Remove deleted users' lists from the current generation of each user namespace."""
    if not user_ids:
        return
    for namespace in namespaces:
        current = read_pointer(client, namespace)
        if current is not None:
            client.hdel(current.key, *user_ids)


def load(client: Any, namespace: str) -> tuple[Pointer, pl.DataFrame] | None:
    """The current generation of `namespace` as a `Store.cached_lists` frame, or None (none, or gone)."""
    current = read_pointer(client, namespace)
    if current is None:
        return None
    keys, values = [], []
    for key, value in client.hscan_iter(current.key, count=SCAN_COUNT):
        keys.append(key.decode())
        values.append(value.decode())
    if not keys and current.rows:
        return None  # expired: replaced long ago, and this replica was not told
    return current, decode(keys, values)
