# SPDX-License-Identifier: Apache-2.0
"""What a store promises: the `Store` protocol, its result records and the identity of an event."""

from collections.abc import Callable, Iterable
from hashlib import blake2b
from typing import Any, NamedTuple, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from homerec.storage.feed import ChangeRow, Feed
from homerec.storage.resources import ResourceRow
from homerec.types import Scored


class AddResult(NamedTuple):
    """Outcome of `Store.add_interactions`: new events stored, and events skipped as already known."""

    inserted: int
    duplicates: int


class CachedList(NamedTuple):
    """A precomputed ranked list from the recommendation cache."""

    items: list[Scored]
    model_version: str
    computed_at: int


class ExperimentRow(NamedTuple):
    """One stored experiment: its spec (JSON of `homerec.experiments.spec.Experiment`) and status."""

    name: str
    spec: str
    status: str
    created_at: int
    updated_at: int


class Store(Protocol):
    """The narrow storage interface: events, catalog, users, the recommendation cache and the
    A/B experiment log (experiments, exposures and the events linked to them).

    Interaction frames have the columns `user_id`, `item_id`, `ts` (epoch seconds),
    `event_type`, `event_value`, `order_id` and `quantity` (the last two null where the data
    has none; see `homerec.data.schema.INTERACTION_FRAME_COLUMNS`).
    Exposure frames have `homerec.data.schema.EXPOSURE_FRAME_COLUMNS`.

    Ids follow `homerec.data.rules` (the store does not trim: its callers do): writes with
    an id that breaks the rule, or a non-finite event value, raise InputError; reads by such
    an id find nothing, without asking the database.
    """

    url: str
    """The URL the store was opened with, password hidden."""

    def add_interactions(
        self, frame: pl.DataFrame, progress: Callable[[int, int], None] | None = None
    ) -> AddResult:
        """Store events, skipping those whose `event_id` is already known (idempotent); their users
        go to the change feed in the same transaction.

        `frame` needs `user_id`, `item_id`, `ts`; `event_type` (null means
        `DEFAULT_EVENT_TYPE`), `event_value`, `order_id`, `quantity`, `event_id` and
        `recommendation_id` are optional. The order id and quantity are not part of an event's
        identity: a line repeated at the same second in another order is a duplicate.
        Rows without an `event_id` get `event_ids(...)` of their fields. A non-null
        `recommendation_id` (the served list that led to the event) is stored as a link from
        the event id, in the same transaction as the event and idempotent on the event id; ids
        longer than `RECOMMENDATION_ID_MAX` cannot name an exposure and are not linked. Large
        frames are written in chunks, one transaction each, calling
        `progress(rows_done, rows_total)` after each (very large ones go through
        `load_interactions`). New events of a deleted user lift its tombstone (see `delete_user`).

        Raises:
            InputError: a column is missing or has nulls, an id breaks the id rule, or an
                event value is not finite.
        """
        ...

    def load_interactions(
        self, batches: Iterable[pl.DataFrame], progress: Callable[[int, int], None] | None = None
    ) -> AddResult:
        """Bulk-load events: what `add_interactions` does, through the database's own bulk path.

        Each batch (columns as for `add_interactions`) is checked and written to a stage as it
        comes, so a lazy iterable of batches keeps memory bounded by one batch; the stage is
        then merged with the same identity rule (a known `event_id` is skipped, the first of
        two equal ones stays), event links, tombstone lifting and one `events` change per
        user of each transaction. Into an empty or small table the secondary indexes are
        built after the rows are in, in the same transaction. `progress(rows_done,
        rows_total)` runs from 0 to the rows staged.

        Raises:
            InputError: as `add_interactions`, for the first batch that breaks a rule (nothing
                of the load is stored then).
        """
        ...

    def add_context_events(self, frame: pl.DataFrame) -> AddResult:
        """Store events without an item (`CONTEXT_EVENT_COLUMNS`; `event_id`, `user_id`, `ts` and
        `event_type` required, the rest optional), skipping event ids already known; one transaction.
        Rows whose user or event id breaks the id rule are left out (counted as duplicates)."""
        ...

    def join_session(self, session_id: str, user_id: str) -> int:
        """Move the events sent anonymously in a session (stored with the session id as their user) to
        the user, with a change of both ids in the feed (same transaction); returns events moved."""
        ...

    def context_events(self, since: int | None = None, user_id: str | None = None) -> pl.DataFrame:
        """Events without an item (those with `ts >= since`, of `user_id` when given), oldest first."""
        ...

    def impressions(self, since: int | None = None) -> pl.DataFrame:
        """One row per item shown with an event (PutEvents' `impression`), `IMPRESSION_COLUMNS`, oldest
        first: `chosen` is whether the event was on that item (shown but not chosen: False)."""
        ...

    def upsert_items(self, frame: pl.DataFrame) -> int:
        """Insert or replace items (`item_id` + metadata columns); returns rows inserted or changed."""
        ...

    def upsert_users(self, frame: pl.DataFrame) -> int:
        """Insert or replace users (`user_id` + metadata columns); returns rows inserted or changed."""
        ...

    def interactions(self, since: int | None = None) -> pl.DataFrame:
        """All events (or those with `ts >= since`), ordered by `ts`; fast for millions of rows.

        Stored rows that break the id or number rules (left by an older homerec) are skipped
        and logged as a warning, never returned.
        """
        ...

    def history(self, user_id: str) -> pl.DataFrame:
        """One user's events, oldest first (empty frame for an unknown user)."""
        ...

    def last_event_ts(self, user_id: str) -> int | None:
        """The time of the user's newest event (None: no events): one index probe, for cache checks."""
        ...

    def user_items(self, user_id: str) -> tuple[list[str], int | None]:
        """One user's item ids (oldest first) and newest event time: what serving needs per request, fast."""
        ...

    def items(self) -> pl.DataFrame:
        """One row per item: `item_id` and its metadata fields as string columns."""
        ...

    def users(self) -> pl.DataFrame:
        """One row per user: `user_id` and its metadata fields as string columns."""
        ...

    def put_recs(self, namespace: str, rows: Iterable[tuple[str, list[Scored]]], model_version: str,
                 computed_at: int | None = None, feed_seq: int = 0) -> int:
        """Write ranked lists under `(namespace, key)`, replacing existing keys; returns rows written.

        `computed_at` (default: now) is when the data the lists were computed from was read, and
        `feed_seq` the change-feed position read just before (`change_position()`): serving
        treats a list as stale once its user has a change after that position (lists written
        with `feed_seq=0`, by code older than the feed, go stale at an event at or after
        `computed_at`). Writing appends one `recs` change for the namespace at the end.

        Lists keyed by user id live in `USER_RECS` or `f"{USER_RECS}:<variant>"` namespaces
        (that is what `delete_user` clears); similar-item lists in `SIMILAR_ITEMS`. Lists of
        deleted users (see `delete_user`) and keys that break the id rule are not written.
        """
        ...

    def get_recs(self, namespace: str, key: str) -> CachedList | None:
        """The cached list for `(namespace, key)`, or None."""
        ...

    def cached_lists(self, namespace: str) -> pl.DataFrame:
        """Every list of a namespace: `key`, `items` (JSON text), `model_version`, `computed_at`, `feed_seq`."""
        ...

    # -- the change feed (homerec.storage.feed) ------------------------------------------------
    def change_position(self) -> int:
        """The newest change's `seq` (0: none yet): read it before reading what lists are computed from."""
        ...

    def changes(self, after: int) -> list[ChangeRow]:
        """Committed changes with `seq > after`, oldest first (at most `feed.BATCH_ROWS`)."""
        ...

    def feed(self) -> Feed:
        """A `Feed` on its own connection, to wait for changes without polling the table."""
        ...

    def announce(self, kind: str, keys: Iterable[str]) -> list[ChangeRow]:
        """Append a change per key that no table write carries (a model made active, lists switched
        in the shared cache); the rows written, also handed to the listeners."""
        ...

    def on_changes(self, listener: Callable[[list[ChangeRow]], None]) -> None:
        """Call `listener(rows)` with the changes of every transaction this store object commits,
        right after the commit (in the writing thread): how a serving process marks its own
        writes at once and relays them to the shared cache's stream. A failing listener is
        logged; the write stays committed."""
        ...

    def prune_changes(self, older_than_s: int = 86_400) -> int:
        """Drop changes no cached list needs any more (up to the oldest list's `feed_seq`; all of
        them when there are no lists) and older than `older_than_s`; returns rows removed."""
        ...

    # -- control-plane records (homerec.storage.resources) ----------------------------------------
    def put_resource(self, arn: str, kind: str, group: str, status: str, doc: dict[str, Any]) -> None:
        """Insert or replace the record of a control-plane resource (`created_at` kept, `updated_at` now)."""
        ...

    def resource(self, arn: str) -> ResourceRow | None:
        """The record of a resource, or None."""
        ...

    def resources(self, kind: str, group: str | None = None) -> list[ResourceRow]:
        """Every record of a kind (in one dataset group), oldest first."""
        ...

    def delete_resource(self, arn: str) -> bool:
        """Remove a record; whether it existed."""
        ...

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Remove a user's events, user row, cached lists, exposures and event links (and note a
        `deleted` change).

        Returns rows removed per table name (`interactions`, counting events without an item
        too, `users`, `rec_cache`,
        `exposures`, `event_links`). Event links go when either side is the user's: the
        user's events, or events linked to one of the user's exposures.

        The user id is left as a tombstone: cached lists and exposures for it are refused
        (a batch or a serving process that started before the deletion cannot bring them
        back) until new events of the id arrive through `add_interactions`.
        """
        ...

    # -- A/B experiments (homerec.experiments) --------------------------------------------------
    def put_experiment(self, name: str, spec: str, status: str) -> None:
        """Insert or replace an experiment's spec and status; `created_at` is kept, `updated_at` is now."""
        ...

    def experiments(self) -> list[ExperimentRow]:
        """Every experiment, oldest first (by `created_at`, then name)."""
        ...

    def add_exposures(self, frame: pl.DataFrame) -> int:
        """Log served lists (one transaction); returns rows inserted.

        `frame` has `EXPOSURE_FRAME_COLUMNS`: `recommendation_id` (at most
        `RECOMMENDATION_ID_MAX` characters), `experiment`, `variant`, `user_id`, `items`
        (list of item ids), `ts` (epoch seconds) and `served` (False for lists computed in
        shadow mode). A `recommendation_id` already logged is skipped, and so are the
        exposures of deleted users (see `delete_user`).

        Raises:
            InputError: a column is missing, has nulls or wrong types, or an id is too long.
        """
        ...

    def exposures(self, experiment: str, since: int | None = None) -> pl.DataFrame:
        """An experiment's exposures (those with `ts >= since`), in time order, `items` as list[str]."""
        ...

    def placement_exposures(self, since: int | None = None) -> pl.DataFrame:
        """Exposures served for a placement (`placement` not null, `ts >= since`), in time order."""
        ...

    def shown_counts(self, user_id: str, since: int) -> dict[str, int]:
        """Item → how many lists served to the user since `since` held it (rotation; one indexed read)."""
        ...

    def attributable_events(self, since: int) -> pl.DataFrame:
        """Events with `ts >= since` and the `recommendation_id` each is linked to (null when none).

        Columns `ATTRIBUTABLE_EVENT_COLUMNS`, in time order.
        """
        ...

    def cache_freshness(self) -> list[dict[str, Any]]:
        """Per recommendation-cache namespace: how many lists, from which models, how old.

        One dict per namespace (sorted by name) with `namespace`, `rows`, `model_versions`
        (sorted list), `oldest` and `newest` (`computed_at` epoch seconds).
        """
        ...

    def counts(self) -> dict[str, int]:
        """Rows per table: `interactions`, `items`, `users`, `rec_cache`."""
        ...

    def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""
        ...


# -- event identity ---------------------------------------------------------------------------
# Version 1 of the derived event id. Changing anything below changes every derived id, so
# re-imports would no longer be recognised: never edit it, add a version 2 instead.
_SEEDS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: a bijection that mixes every input bit into every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB93FE53B8A63)
    return h ^ (h >> np.uint64(33))


def _field_lanes(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """blake2b-128 of each distinct string (UTF-8) as two uint64 lanes, broadcast back to rows.

    Each lane is gathered from a contiguous array: numpy gathers 1-D arrays about ten times
    faster than rows of an (n, 2) array.
    """
    distinct = values.unique()
    digests = b"".join(blake2b(v.encode(), digest_size=16).digest() for v in distinct.to_list())
    lanes = np.frombuffer(digests, dtype="<u8").reshape(-1, 2)
    if len(distinct) == 1:  # e.g. one event type for every row
        return np.full(len(values), lanes[0, 0]), np.full(len(values), lanes[0, 1])
    codes = values.cast(pl.Enum(distinct)).to_physical().to_numpy()
    return np.take(np.ascontiguousarray(lanes[:, 0]), codes), np.take(np.ascontiguousarray(lanes[:, 1]), codes)


def event_ids(user_id: pl.Series, item_id: pl.Series, ts: pl.Series, event_type: pl.Series) -> pl.Series:
    """Stable 32-hex-digit ids of events, derived from (user_id, item_id, ts, event_type).

    The id is 12 hex digits of the timestamp (its low 48 bits) followed by 20 hex digits
    (80 bits) of a hash of all four fields, so ids sort in time order: a time-ordered import
    appends to the primary-key B-tree instead of scattering writes across it, and two
    different events can only collide within the same second. The hash: each string field
    through blake2b-128 (once per distinct value), then the 64-bit lanes of the four fields
    chained through MurmurHash3's finaliser with numpy, so two million rows take well under a
    second. The result depends only on the values: the same across runs, processes,
    platforms and library versions.

    Args:
        user_id: user ids (no nulls).
        item_id: item ids (no nulls).
        ts: epoch seconds (integers, no nulls).
        event_type: event types (no nulls).

    Returns:
        A String series named `event_id`.
    """
    n = len(user_id)
    if n == 0:
        return pl.Series("event_id", [], dtype=pl.String)
    fields = [_field_lanes(s.cast(pl.String)) for s in (user_id, item_id, event_type)]
    t = ts.cast(pl.Int64).to_numpy().astype(np.uint64)
    lanes = []
    with np.errstate(over="ignore"):
        for lane in (0, 1):
            h = np.full(n, _SEEDS[lane], dtype=np.uint64)
            for part in (fields[0][lane], fields[1][lane], t, fields[2][lane]):
                h = _fmix64(h ^ part)
            lanes.append(h)
    packed = np.empty((n, 3), dtype=">u8")  # 24 bytes: ts (8) | lane 0 (8) | lane 1 (8)
    packed[:, 0], packed[:, 1], packed[:, 2] = t, lanes[0], lanes[1]
    raw = np.ascontiguousarray(packed.view(np.uint8).reshape(n, 24)[:, 2:18])  # low 6 bytes of ts, 10 of hash
    binary = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)])
    ids = pl.from_arrow(binary.cast(pa.binary()))
    assert isinstance(ids, pl.Series)
    return ids.bin.encode("hex").alias("event_id")
