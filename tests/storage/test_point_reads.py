# SPDX-License-Identifier: Apache-2.0
"""Point reads from many threads (serving's thread pool) keep the store's connection pool free."""

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from homerec.storage import open_store


def test_reads_on_many_threads_hold_no_pooled_connection(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'homerec.db'}")
    try:
        store.add_interactions(pl.DataFrame({"user_id": [f"u{n}" for n in range(50)], "item_id": ["i1"] * 50,
                                             "ts": list(range(1_700_000_000, 1_700_000_050))}))
        with ThreadPoolExecutor(40) as pool:  # more threads than the pool has connections (5 + 10)
            found = list(pool.map(lambda n: store.user_items(f"u{n % 50}")[0], range(400)))
        assert all(items == ["i1"] for items in found)
        assert store._engine.pool.checkedout() == 0  # the point reads' connections are their own
        assert store.counts()["interactions"] == 50  # and a pooled read gets a connection at once
    finally:
        store.close()
