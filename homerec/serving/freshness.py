# SPDX-License-Identifier: Apache-2.0
"""Which cached lists are still right: a worker's view of the store's change feed.

A cached list was computed from the events the batch read at feed position `feed_seq`
(`homerec.storage.feed`). It is stale once its user has a change after that position: new
events, or a deletion. `Freshness` keeps, per user, the newest such change this worker knows
of (a dict that only holds users who changed since the oldest loaded list), fed by a thread
that waits on the feed: the store's own, or with a shared cache the Redis stream
(`homerec.cache.stream`). A commit by any worker, process or replica reaches every worker
within milliseconds. Changes may arrive out of seq order (two replicas relaying to the
stream): each user keeps the highest seq seen, so the order does not matter. A worker marks
the users of its own writes at once (`note`, the store's change listener: right after the
commit, before the answer), without waiting for the feed. And a read need not trust the
thread's timing: `current()` compares the database's commit token with the one last applied
(on SQLite: one `PRAGMA data_version`, microseconds); when something was committed since, the
read goes to the scored path, which applies the new changes itself (`sync`) first. So on
SQLite an event acknowledged by one process is reflected in the very next answer of another.

The same thread hands the other kinds of change to callbacks: item and user metadata
(the catalogue snapshot reloads), lists a batch wrote to the store (`recs`) or switched to in
the shared cache (`lists`): the in-memory lists reload once the batch has gone quiet for
`settle_s`; and a model version made active (`model`): the registry is read again at once.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable

from homerec.data.schema import Change
from homerec.storage.base import Store
from homerec.storage.feed import ChangeRow, Feed, FeedClosed

USER_CHANGES = (Change.events, Change.deleted)
"""Kinds whose key is a user whose lists they make stale."""

log = logging.getLogger(__name__)

POLL_S = 0.002
"""How often a feed followed on the event loop is polled (two milliseconds: a few microseconds each)."""
BLIND_AFTER_S = 3.0
"""A worker whose feed has not answered for this long trusts no cached list (they may be stale)."""


class Freshness:
    """Users' newest change positions, and the thread that follows the feed."""

    def __init__(self, store: Store, on_items: Callable[[], object] = lambda: None,
                 on_users: Callable[[], object] = lambda: None, on_recs: Callable[[], object] = lambda: None,
                 on_model: Callable[[], object] = lambda: None, settle_s: float = 1.0, wait_s: float = 0.5,
                 open_feed: Callable[[], Feed] | None = None) -> None:
        """`open_feed` opens the feed to follow (default: the store's own)."""
        self.store = store
        self.on_items, self.on_users, self.on_recs, self.on_model = on_items, on_users, on_recs, on_model
        self.settle_s, self.wait_s = settle_s, wait_s
        self.open_feed = open_feed or store.feed
        self.changed: dict[str, int] = {}
        self.position = 0
        """The newest change applied."""
        self.newest_recs: dict[str, int] = {}
        """Per cache namespace, the seq of the newest `recs` change seen: lists written to the store."""
        self.last_ok: float | None = None
        """When the feed last answered (monotonic seconds); None: not following it."""
        self.synced: int | None = None
        """The feed's commit token up to which every change is applied (None: unknown)."""
        self._sync_lock = threading.Lock()
        self._recs_due: float | None = None
        self._feed: Feed | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._marks = threading.Lock()

    # -- the request path ---------------------------------------------------------------------
    def is_fresh(self, user_id: str, feed_seq: int) -> bool:
        """Whether a list computed at feed position `feed_seq` still holds for the user.

        Lists written before the feed existed (`feed_seq` 0) are never trusted, and none is while
        the feed is not being followed (not started, or silent for `BLIND_AFTER_S`).
        """
        last = self.last_ok
        return (feed_seq > 0 and last is not None and time.monotonic() - last < BLIND_AFTER_S
                and self.changed.get(user_id, 0) <= feed_seq)

    def current(self) -> bool:
        """Whether nothing was committed that this worker has not applied yet (True when that cannot
        be told cheaply: then the feed's notification, milliseconds, is all there is)."""
        feed = self._feed
        if feed is None:
            return False
        try:
            token = feed.token()
        except FeedClosed:  # shutting down: the store itself still answers
            return False
        return token is None or token == self.synced

    def sync(self) -> None:
        """Apply what was committed since the feed's last poll, now (a read found `current()` False)."""
        with self._sync_lock:
            while rows := self.store.changes(self.position):
                self._notify(*self.apply(rows))

    def note(self, rows: Iterable[ChangeRow]) -> None:
        """Changes this process just committed (the store's change listener): their users' lists are stale now."""
        for row in rows:
            if row.kind in USER_CHANGES:
                self._mark(row.key, row.seq)

    def _mark(self, user: str, seq: int) -> None:
        with self._marks:
            if self.changed.get(user, 0) < seq:
                self.changed[user] = seq

    # -- following the feed -------------------------------------------------------------------
    def catch_up(self, after: int) -> int:
        """Apply every stored change after `after` (at start, and after the lists reload); the new position."""
        position = after
        while rows := self.store.changes(position):
            self.apply(rows, reload_lists=False)  # the catalogue and lists are read fresh at start anyway
            position = rows[-1].seq
        self.position = max(self.position, position)
        return position

    def apply(self, rows: list[ChangeRow], reload_lists: bool = True) -> tuple[bool, bool, bool]:
        """Record what a batch of changes means for this worker; whether items, users, the model changed."""
        items = users = model = False
        for row in rows:
            if row.kind in USER_CHANGES:
                self._mark(row.key, row.seq)
            elif row.kind == Change.items:
                items = True
            elif row.kind == Change.users:
                users = True
            elif row.kind == Change.model:
                model = True
            elif row.kind in (Change.recs, Change.lists):
                if row.kind == Change.recs and self.newest_recs.get(row.key, 0) < row.seq:
                    self.newest_recs[row.key] = row.seq
                if reload_lists:
                    self._recs_due = time.monotonic() + self.settle_s
        if rows:
            self.position = max(self.position, max(row.seq for row in rows))
        return items, users, model

    def _notify(self, items: bool, users: bool, model: bool) -> None:
        if items:
            self.on_items()
        if users:
            self.on_users()
        if model:
            self.on_model()

    def forget_before(self, position: int) -> None:
        """Drop what no loaded list needs any more (changes at or before every list's position)."""
        with self._marks:  # the feed's thread and writing threads mark users meanwhile: none may be lost
            self.changed = {u: s for u, s in self.changed.items() if s > position}

    def start(self, after: int = 0, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Open the feed, apply every stored change after `after`, and follow the feed: on `loop` when
        it can be polled without blocking (SQLite: the request path then reads the commit token on the
        same connection, from the same thread, without contending for the GIL), else on a daemon thread.

        The feed is opened first: what is committed while the stored changes are read comes
        through it (twice at worst, which changes nothing).
        """
        if self._thread is not None or self._task is not None:
            return
        self._feed = self.open_feed()
        self.catch_up(after)
        self.last_ok = time.monotonic()
        poll = getattr(self._feed, "poll", None)
        if loop is not None and poll is not None:
            self._loop = loop
            self._task = loop.create_task(self._follow_on_loop(poll))
            return
        self._thread = threading.Thread(target=self._run, name="homerec-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following and close the feed."""
        self._stop.set()
        if self._task is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)  # stop() runs on a thread, the task on the loop
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._feed is not None:
            self._feed.close()
        self.last_ok = None

    async def _follow_on_loop(self, poll: Callable[[int], list[ChangeRow] | None]) -> None:
        """Poll the feed every `POLL_S` on the event loop; callbacks that read the store run on threads."""
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            try:
                rows = poll(self.position)
                if rows is not None:
                    items, users, model = self.apply(rows)
                    self.synced = getattr(self._feed, "last_token", None)
                    for changed, callback in ((items, self.on_items), (users, self.on_users), (model, self.on_model)):
                        if changed:
                            loop.run_in_executor(None, callback)
                self.last_ok = time.monotonic()
                if self._recs_due is not None and time.monotonic() >= self._recs_due:
                    self._recs_due = None
                    self.on_recs()
            except Exception as err:  # a broken connection: reopen it, keep serving what is known
                if self._stop.is_set():
                    return  # stopped meanwhile: the feed was closed under the poll
                log.warning("change feed: %s; reopening", err)
                await loop.run_in_executor(None, self._reopen)
                poll = getattr(self._feed, "poll", poll)
            await asyncio.sleep(POLL_S)

    def _run(self) -> None:
        assert self._feed is not None
        while not self._stop.is_set():
            try:
                rows = self._feed.wait(self.position, self.wait_s)
                with self._sync_lock:
                    self._notify(*self.apply(rows))
                self.synced = getattr(self._feed, "last_token", None)
                self.last_ok = time.monotonic()
                if self._recs_due is not None and time.monotonic() >= self._recs_due:
                    self._recs_due = None
                    self.on_recs()
            except Exception as err:  # a broken connection: reopen it, keep serving what is known
                if self._stop.is_set():
                    return
                log.warning("change feed: %s; reopening", err)
                self._reopen()

    def _reopen(self) -> None:
        try:
            if self._feed is not None:
                self._feed.close()
            self._feed = self.open_feed()
        except Exception as err:
            log.warning("change feed: cannot reopen: %s", err)
            self._stop.wait(1.0)
