# SPDX-License-Identifier: Apache-2.0
"""Registry: versions, activation, promote and rollback."""

import pytest

from homerec.errors import HomerecError
from homerec.models.popularity import Popularity
from homerec.models.registry import Registry


def test_register_promote_rollback(tmp_path, checkerboard):
    reg = Registry(tmp_path)
    assert reg.active() is None
    with pytest.raises(HomerecError, match="homerec train"):
        reg.load()
    v1 = reg.register(Popularity().fit(checkerboard), {"validation": {"NDCG@10": 0.1}})
    v2 = reg.register(Popularity().fit(checkerboard), {"validation": {"NDCG@10": 0.2}})
    assert (v1, v2) == ("v1", "v2")
    assert reg.active() == "v2"
    assert [i.version for i in reg.list_versions()] == ["v1", "v2"]
    assert reg.info("v1").meta["validation"]["NDCG@10"] == 0.1
    assert reg.rollback() == "v1"
    assert reg.active() == "v1"
    reg.promote("v2")
    assert reg.active() == "v2"
    assert reg.load().name == "popularity"
    with pytest.raises(HomerecError, match="known: v1, v2"):
        reg.promote("v9")


def test_rollback_needs_a_previous_version(tmp_path, checkerboard):
    reg = Registry(tmp_path)
    reg.register(Popularity().fit(checkerboard), {})
    with pytest.raises(HomerecError, match="nothing to roll back"):
        reg.rollback()


def test_register_without_activation(tmp_path, checkerboard):
    reg = Registry(tmp_path)
    reg.register(Popularity().fit(checkerboard), {})
    reg.register(Popularity().fit(checkerboard), {}, activate=False)
    assert reg.active() == "v1"
