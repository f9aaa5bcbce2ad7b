# SPDX-License-Identifier: Apache-2.0
"""The catalogue snapshot: read once, refreshed in the background, re-read after local upserts."""

import time

import polars as pl

from homerec.models.new_items import WithNewItems
from homerec.models.registry import Registry
from homerec.serving.catalog import Catalog
from homerec.storage import open_store
from tests.serving.conftest import copy_store


def test_snapshot_refreshes_and_extends_the_model(world, tmp_path):
    url = copy_store(world, tmp_path / "h.db")
    store, writer = open_store(url), open_store(url)
    model = Registry(world["artifacts"]).load(world["version"])
    catalog = Catalog(store, refresh_s=0.05, served=lambda: [model])
    try:
        assert catalog.items().height == len(world["item_ids"])
        assert catalog.model(model) is model  # nothing new yet
        template = catalog.items().filter(pl.col("item_id") == world["item_ids"][0])
        catalog.start()
        writer.upsert_items(template.with_columns(pl.lit("P-LATE").alias("item_id")))  # another process
        deadline = time.time() + 5
        while catalog.items().height == len(world["item_ids"]) and time.time() < deadline:
            time.sleep(0.05)
        assert "P-LATE" in catalog.items()["item_id"].to_list()
        served = catalog.model(model)
        assert isinstance(served, WithNewItems) and served.new.ids == ["P-LATE"]
        assert catalog.model(model) is served  # built once per catalogue version
        assert catalog.new_since(model) > 0 and catalog.new_since(served) == 0
    finally:
        catalog.stop()
        store.close()
        writer.close()


def test_users_are_read_on_demand_and_forgotten_after_an_upsert(world, tmp_path):
    store = open_store(copy_store(world, tmp_path / "h.db"))
    catalog = Catalog(store, refresh_s=0)
    try:
        assert catalog.user("nobody") is None
        store.upsert_users(pl.DataFrame({"user_id": ["U-NEW"], "TIER": ["gold"]}))
        assert catalog.user("U-NEW") is None  # the snapshot, until told
        catalog.forget_users()
        assert catalog.user("U-NEW")["TIER"] == "gold"
    finally:
        store.close()
