# SPDX-License-Identifier: Apache-2.0
"""One small trained world for the serving tests: data, store, a registry with v1 and the batch cache."""

import shutil
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from homerec.data.schema import USER_RECS
from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.pipeline.train import train
from homerec.serving import create_app
from homerec.settings import Settings
from homerec.storage import import_folder, open_store
from homerec.synth.generate import generate

API_KEY = "test-key"


@pytest.fixture(scope="module")
def world(world_base, tmp_path_factory) -> dict:
    """The trained world with a private copy of its store for each test module.

    Tests write events, items and users, and train and activate model versions; with one shared
    store and registry, what one module wrote (a new product makes every cached list stale, an
    event makes its user's, a new active version all of them) would change what the next one
    sees, depending on the order tests run in.
    """
    folder = tmp_path_factory.mktemp("world-copy")
    url = copy_store(world_base, folder / "homerec.db")
    # The registry too: the control plane trains and activates versions, which later modules must not serve.
    artifacts = shutil.copytree(world_base["artifacts"], folder / "artifacts")
    return {**world_base, "store_url": url, "artifacts": artifacts}


def copy_store(world: dict, target: Path) -> str:
    """A private, consistent copy of the world's SQLite store (the backup API, not a file copy); its URL."""
    source = sqlite3.connect(world["store_url"].removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def world_base(tmp_path_factory) -> dict:
    """{'root', 'store_url', 'artifacts', 'version', 'cached_users', 'item_ids'} (scale 0.005, batch cached)."""
    root: Path = tmp_path_factory.mktemp("serving")
    generate(root / "data", scale=0.005, seed=3)
    url = f"sqlite:///{root / 'homerec.db'}"
    store = open_store(url)
    try:
        import_folder(store, root / "data", root / "rejects")
        registry = Registry(root / "artifacts")
        version = train(store, registry).version
        run_batch(store, registry, root / "batch.jsonl", k=20, similar_items=True)
        users = store.interactions()["user_id"].unique(maintain_order=True).to_list()
        cached = [u for u in users[:200] if store.get_recs(USER_RECS, u) is not None]
        items = store.items()["item_id"].to_list()
    finally:
        store.close()
    return {"root": root, "store_url": url, "artifacts": root / "artifacts", "version": version,
            "cached_users": cached, "item_ids": items}


def make_settings(world: dict, **overrides: object) -> Settings:
    """Settings for an app over the world (no registry polling unless asked)."""
    values = {"store_url": world["store_url"], "artifact_dir": world["artifacts"], "reload_interval_s": 0,
              "api_keys": [API_KEY], **overrides}
    return Settings(**values)


@pytest.fixture(scope="module")
def client(world) -> TestClient:
    """A TestClient over the world, lifespan started (API keys on for writes)."""
    with TestClient(create_app(make_settings(world))) as c:
        yield c


@pytest.fixture
def auth() -> dict[str, str]:
    """The header that authorises write routes."""
    return {"x-api-key": API_KEY}
