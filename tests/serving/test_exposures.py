# SPDX-License-Identifier: Apache-2.0
"""Exposures: appended on the request path, written once a second to a spool folder or the store,
and moved from the spool into the store by the shipper."""

from pathlib import Path

import pytest

from homerec.data.schema import Col
from homerec.serving.exposures import ExposureLog
from homerec.storage import open_store
from homerec.storage.spool import read_spool, ship, spool_files


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    yield s
    s.close()


def _serve(log: ExposureLog, n: int, user: str = "u") -> None:
    for k in range(n):
        log.append(f"r-{user}-{k}", "exp", "control" if k % 2 else "candidate", f"{user}{k % 3}", ["i1", f"i{k}"], True)


def test_without_a_spool_the_worker_writes_to_the_store(store):
    log = ExposureLog(store)
    _serve(log, 5)
    assert store.exposures("exp").height == 0  # nothing written on the request path
    assert log.flush() == 5 and log.flush() == 0
    got = store.exposures("exp")
    assert got.height == 5 and got[Col.ranked][0].to_list() == ["i1", "i0"]


def test_with_a_spool_the_shipper_writes_and_nothing_is_lost_or_doubled(store, tmp_path):
    spool = tmp_path / "spool"
    log = ExposureLog(store, spool=spool)
    _serve(log, 7)
    assert log.flush() == 7
    _serve(log, 3, user="w")
    assert log.flush() == 3
    files = spool_files(spool)
    assert len(files) == 2 and store.exposures("exp").height == 0
    assert read_spool(files[0]).height == 7
    copy = files[0].with_name("copy-" + files[0].name)  # a file shipped twice (a shipper killed after its commit)
    copy.write_bytes(files[0].read_bytes())
    assert ship(store, spool) == 10 and spool_files(spool) == []
    assert store.exposures("exp").height == 10


def test_a_bad_spool_file_is_set_aside(store, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "0-broken.arrow").write_bytes(b"not arrow")
    log = ExposureLog(store, spool=spool)
    _serve(log, 2)
    log.flush()
    assert ship(store, spool) == 2
    assert (spool / "0-broken.bad").exists() and spool_files(spool) == []


def test_a_deleted_users_buffered_exposures_are_dropped(store):
    log = ExposureLog(store)
    _serve(log, 6)  # users u0, u1, u2
    assert log.forget_user("u1") == 2
    log.flush()
    assert sorted(set(store.exposures("exp")[Col.user_id].to_list())) == ["u0", "u2"]


def test_exposures_survive_a_store_that_refuses_writes_for_a_while(store):
    class Flaky:
        def __init__(self, store):
            self.store, self.fail = store, True

        def add_exposures(self, frame):
            if self.fail:
                raise RuntimeError("database is locked")
            return self.store.add_exposures(frame)

    flaky = Flaky(store)
    log = ExposureLog(flaky)  # type: ignore[arg-type]
    for n in range(3):
        log.append(f"rec{n}", "exp1", "control", f"u{n}", ["i1", "i2"], served=True)
    assert log.flush() == 0 and log.failed == 0  # kept, not lost
    flaky.fail = False
    log.append("rec3", "exp1", "candidate", "u3", ["i3"], served=True)
    assert log.flush() == 4
    assert sorted(store.exposures("exp1")["recommendation_id"]) == ["rec0", "rec1", "rec2", "rec3"]


def test_homerec_serve_ships_exposures_from_its_workers_to_the_store(world, tmp_path):
    import time

    import httpx

    from homerec.experiments.spec import Experiment, Variant
    from tests.live import HomerecServer
    from tests.serving.conftest import copy_store

    url = copy_store(world, tmp_path / "homerec.db")
    exp = Experiment("ship", "salt1", "split", "control", (Variant("control", "model:active", 0.5),
                     Variant("candidate", "model:active", 0.5)), created_at=int(time.time()) - 5)
    with open_store(url) as store:
        store.put_experiment(exp.name, exp.to_json(), exp.status)
    users = world["cached_users"][:20]
    server = HomerecServer(url, world["artifacts"], tmp_path, args=["--workers", "2"],
                           env={"HOMEREC_RELOAD_INTERVAL_S": "0.5"})
    with server:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            ids = {client.get(f"/v1/users/{u}/recommendations").json()["recommendation_id"] for u in users}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the shipper moves each worker's spool file within seconds
            with open_store(url) as store:
                if store.exposures("ship").height == len(users):
                    break
            time.sleep(0.2)
    with open_store(url) as store:
        logged = store.exposures("ship")
    assert set(logged[Col.recommendation_id].to_list()) == ids and logged.height == len(users)
    assert spool_files(tmp_path / "serve-spool") == []
