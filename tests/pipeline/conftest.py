# SPDX-License-Identifier: Apache-2.0
"""A small generated data set, imported into SQLite and trained once per test session."""

from pathlib import Path

import pytest

from homerec.models.registry import Registry
from homerec.pipeline.train import train
from homerec.storage import import_folder, open_store
from homerec.synth.generate import generate


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict:
    """{'folder', 'store_url', 'registry', 'report'} for a scale-0.01 data set with one trained hybrid."""
    root: Path = tmp_path_factory.mktemp("trained")
    generate(root / "data", scale=0.01, seed=3)
    url = f"sqlite:///{root / 'homerec.db'}"
    store = open_store(url)
    import_folder(store, root / "data", root / "rejects")
    registry = Registry(root / "artifacts")
    report = train(store, registry)
    store.close()
    return {"root": root, "folder": root / "data", "store_url": url, "registry": registry, "report": report}


@pytest.fixture
def store(trained):
    """The trained store, opened for one test."""
    st = open_store(trained["store_url"])
    yield st
    st.close()
