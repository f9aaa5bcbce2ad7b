# SPDX-License-Identifier: Apache-2.0
"""Three `homerec serve` replicas over one PostgreSQL and one Redis, on loopback (issue 9, point 1).

Real servers throughout: the session's PostgreSQL (a database of its own), a redis-server of this
module's own (it is killed and restarted here), and `homerec serve --cache redis://…` replicas with
one worker each. The tests run in file order on one xdist worker (they share the replicas):

- an event accepted by one replica changes the next answers of the others;
- `homerec batch --cache` under load: no failed request, every replica serves the new lists;
- `homerec models promote/rollback` under load: every replica switches, no failed request, and no
  answer after a replica's first new-version answer comes from the old version;
- an experiment assigns each user the same variant on every replica, and every replica's
  exposures reach the store;
- Redis killed and restarted under load: no failed request, events still reach the other
  replicas (through the store), and the replicas take the stream and Redis's lists back;
- a replica killed with kill -9 right after acknowledging events loses none of them.
"""

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from homerec.cache import open_cache
from homerec.data.schema import REC_CACHE_TABLE, USER_RECS, Change, Col
from homerec.storage import open_store
from homerec.synth.generate import generate
from tests.live import HomerecServer, RedisServer, spawn

pytestmark = pytest.mark.xdist_group("replicas")

DATABASE = "homerec_replicas"
DEADLINE_S = 60.0
"""How long a test waits for something that normally takes well under a second (not a speed check)."""


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "homerec.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def until(check: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> float:
    """Seconds until `check()` held; fails the test after `timeout_s`."""
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < timeout_s, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(0.02)
    return time.monotonic() - t0


@dataclass
class Cluster:
    """The replicas, their store and Redis, and what the tests need to know of them."""

    servers: list[HomerecServer]
    redis: RedisServer
    store_url: str
    env: dict[str, str]
    root: Path
    users: list[str]
    """Users with events and a cached list."""
    used: set[str] = field(default_factory=set)

    def take(self, n: int) -> list[str]:
        """`n` users no test has written events for yet."""
        fresh = [u for u in self.users if u not in self.used][:n]
        assert len(fresh) == n, "not enough users left"
        self.used.update(fresh)
        return fresh

    def get(self, i: int, user: str) -> dict:
        r = httpx.get(f"{self.servers[i].base}/v1/users/{quote(user)}/recommendations", timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def buy(self, i: int, user: str, item: str) -> None:
        r = httpx.post(f"{self.servers[i].base}/v1/events", timeout=30,
                       json={"events": [{"user_id": user, "item_id": item, "event_type": "purchase"}]})
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def _database(postgres_url: str) -> str:
    admin = sa.create_engine(sa.make_url(postgres_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    admin.dispose()
    return sa.make_url(postgres_url).set(database=DATABASE).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def cluster(postgres_url: str, tmp_path_factory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("replicas")
    url = _database(postgres_url)
    with RedisServer(root) as redis_server:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOMEREC_")}, "COLUMNS": "200",
               "HOMEREC_STORE_URL": url, "HOMEREC_ARTIFACT_DIR": str(root / "artifacts"),
               "HOMEREC_CACHE_URL": redis_server.url()}
        generate(root / "data", scale=0.003, seed=5)
        cli(env, root, "import", "data")
        cli(env, root, "train", "--models", "als")  # v1, active
        cli(env, root, "train", "--models", "popularity", "--no-activate")  # v2: visibly different answers
        cli(env, root, "batch", "--similar-items")
        with open_store(url) as store:
            users = [u for u in store.interactions()[Col.user_id].unique(maintain_order=True).to_list()
                     if store.get_recs(USER_RECS, u) is not None]
        servers = [HomerecServer(url, root / "artifacts", root, name=f"replica{i}",
                                 args=["--workers", "1", "--cache", redis_server.url()]) for i in range(3)]
        for s in servers:  # start together, then wait: the three load their models side by side
            s.proc = spawn(s.cmd, s.log_path, s.env)
        try:
            for s in servers:
                s.wait_ready(180)
            yield Cluster(servers, redis_server, url, env, root, users)
        finally:
            for s in servers:
                s.stop()


class Load:
    """Threads asking random replicas for random users' recommendations until the block ends; every answer kept."""

    def __init__(self, cluster: Cluster, replicas: list[int], threads: int = 3) -> None:
        self.cluster, self.replicas = cluster, replicas
        self.answers: list[tuple[int, float, float, int | str, str | None, str | None]] = []
        """(replica, sent, received, status or error, model_version, source)."""
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                i, user = rng.choice(self.replicas), rng.choice(self.cluster.users)
                sent = time.monotonic()
                try:
                    r = client.get(f"{self.cluster.servers[i].base}/v1/users/{quote(user)}/recommendations")
                    body = r.json() if r.status_code == 200 else {}
                    self.answers.append((i, sent, time.monotonic(), r.status_code, body.get("model_version"),
                                         body.get("source")))
                except httpx.HTTPError as err:
                    self.answers.append((i, sent, time.monotonic(), repr(err), None, None))

    def failures(self) -> list:
        return [a for a in self.answers if a[3] != 200]

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def reflected(cluster: Cluster, i: int, user: str, item: str) -> Callable[[], bool]:
    return lambda: item not in {x["item_id"] for x in cluster.get(i, user)["items"]}


def test_an_event_on_one_replica_changes_the_next_answers_of_the_others(cluster):
    first_try = 0
    for n, user in enumerate(cluster.take(12)):
        a, b, c = n % 3, (n + 1) % 3, (n + 2) % 3
        before = cluster.get(b, user)
        assert before["source"] == "cache", before  # the batch's list, from the shared cache
        top = before["items"][0]["item_id"]
        cluster.buy(a, user, top)
        first_try += reflected(cluster, b, user, top)()
        until(reflected(cluster, b, user, top), f"{user}'s purchase on replica {a} seen by replica {b}")
        until(reflected(cluster, c, user, top), f"{user}'s purchase on replica {a} seen by replica {c}")
        assert cluster.get(c, user)["source"] == "model"  # scored from the new history
    print(f"reflected in the very next answer of another replica: {first_try}/12")


def test_a_batch_refresh_under_load_fails_no_request_and_every_replica_takes_the_new_lists(cluster):
    [user] = cluster.take(1)
    top = cluster.get(0, user)["items"][0]["item_id"]
    cluster.buy(0, user, top)
    until(lambda: cluster.get(1, user)["source"] == "model", "the event reached replica 1")
    with Load(cluster, [0, 1, 2]) as load:
        cli(cluster.env, cluster.root, "batch", "--similar-items")
        # The new generation holds the user's list computed after the event: every replica serves it.
        for i in range(3):
            until(lambda i=i: cluster.get(i, user)["source"] == "cache", f"replica {i} serves the new lists")
    assert load.answers and load.failures() == []


def test_a_promote_under_load_switches_every_replica_and_no_answer_goes_back(cluster):
    with Load(cluster, [0, 1, 2]) as load:
        time.sleep(0.5)
        cli(cluster.env, cluster.root, "models", "promote", "v2")
        for i in range(3):
            until(lambda i=i: cluster.get(i, cluster.users[0])["model_version"] == "v2", f"replica {i} serves v2")
        time.sleep(0.5)
    assert load.answers and load.failures() == []
    assert {a[4] for a in load.answers} <= {"v1", "v2"}
    for i in range(3):
        mine = [a for a in load.answers if a[0] == i]
        switched = min(a[2] for a in mine if a[4] == "v2")  # the replica's first v2 answer arrived
        assert all(a[4] == "v2" for a in mine if a[1] > switched), f"replica {i} answered v1 after v2"
    cli(cluster.env, cluster.root, "models", "rollback")
    for i in range(3):
        until(lambda i=i: cluster.get(i, cluster.users[0])["model_version"] == "v1", f"replica {i} back on v1")


def test_an_experiment_assigns_users_alike_on_every_replica_and_logs_each_replicas_exposures(cluster):
    cli(cluster.env, cluster.root, "experiment", "create", "xrep", "--candidate", "model:v2", "--traffic", "50",
        "--salt", "replicas")
    try:
        for i in range(3):
            until(lambda i=i: cluster.get(i, cluster.users[0]).get("experiment") == "xrep", f"replica {i} runs xrep")
        ids = {}
        for user in cluster.users[:20]:
            answers = [cluster.get(i, user) for i in range(3)]
            assert len({a["variant"] for a in answers}) == 1, answers
            ids.update({a["recommendation_id"]: i for i, a in enumerate(answers)})
        assert {a["variant"] for user in cluster.users[:20] for a in [cluster.get(0, user)]} == {"control", "candidate"}
        with open_store(cluster.store_url) as store:
            until(lambda: set(ids) <= set(store.exposures("xrep")[Col.recommendation_id].to_list()),
                  "every replica's exposures in the store")
    finally:
        cli(cluster.env, cluster.root, "experiment", "stop", "xrep")


def test_a_redis_restart_under_load_fails_no_request_and_changes_still_arrive(cluster):
    users = cluster.take(2)
    with Load(cluster, [0, 1, 2]) as load:
        cluster.redis.kill()  # everything in it is lost: stream, pointers, lists
        top = cluster.get(1, users[0])["items"][0]["item_id"]
        cluster.buy(0, users[0], top)  # relayed nowhere: the other replicas follow the store meanwhile
        until(reflected(cluster, 1, users[0], top), "an event during the outage reached replica 1")
        cluster.redis.start()
        time.sleep(2.5)  # the replicas' retry pauses
        top = cluster.get(2, users[1])["items"][0]["item_id"]
        cluster.buy(0, users[1], top)
        until(reflected(cluster, 2, users[1], top), "an event after the restart reached replica 2")
    assert load.answers and load.failures() == []
    assert all("unavailable" in s.log() for s in cluster.servers)
    # Lists after the restart: one user's list is taken out of the store (no change written), and the
    # store's lists announced as newer than Redis's (empty) ones: every replica reloads from the store.
    [quiet] = [u for u in cluster.users if u not in cluster.used][:1]
    cluster.used.add(quiet)
    rec_cache = sa.table(REC_CACHE_TABLE, *(sa.column(c) for c in (Col.namespace, Col.key, Col.ranked,
                                                                   Col.model_version, Col.computed_at, Col.feed_seq)))
    its_row = (rec_cache.c[Col.namespace] == USER_RECS) & (rec_cache.c[Col.key] == quiet)
    engine = sa.create_engine(sa.make_url(cluster.store_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as conn:
            row = dict(conn.execute(sa.select(rec_cache).where(its_row)).mappings().one())
            conn.execute(sa.delete(rec_cache).where(its_row))
        with open_store(cluster.store_url) as store:
            store.announce(Change.recs, [USER_RECS])
        for i in range(3):
            until(lambda i=i: cluster.get(i, quiet)["source"] == "model", f"replica {i} reloaded the store's lists")
        # Then a generation in Redis that holds the list, while the store again does not: a replica serves
        # it from the cache only if it loaded Redis's generation.
        with engine.begin() as conn:
            conn.execute(sa.insert(rec_cache).values(**row))
        with open_store(cluster.store_url) as store:
            cache = open_cache(cluster.redis.url())
            try:
                [pointer] = cache.publish_lists(store, [USER_RECS])  # announces the switch: a `lists` change
            finally:
                cache.close()
        with engine.begin() as conn:
            conn.execute(sa.delete(rec_cache).where(its_row))
    finally:
        engine.dispose()
    assert pointer.rows > 0
    for i in range(3):
        until(lambda i=i: cluster.get(i, quiet)["source"] == "cache", f"replica {i} loaded Redis's new generation")


def test_a_replica_killed_after_acknowledging_events_loses_none(cluster):
    users = cluster.take(5)
    tops = {u: cluster.get(2, u)["items"][0]["item_id"] for u in users}
    for u in users:
        cluster.buy(2, u, tops[u])
    cluster.servers[2].kill9()
    with open_store(cluster.store_url) as store:
        for u in users:
            assert tops[u] in store.history(u)[Col.item_id].to_list()
            assert any(r.kind == Change.events and r.key == u for r in store.changes(0))
    for u in users:
        until(reflected(cluster, 0, u, tops[u]), f"{u}'s acknowledged event on the killed replica seen by replica 0")
