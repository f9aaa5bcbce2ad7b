# SPDX-License-Identifier: Apache-2.0
"""homerec models purge-user: kept model versions forget a deleted user and still load and serve (issue 13 #6)."""

import shutil
import subprocess
import sys

import numpy as np

from homerec.data.ids import IdMap
from homerec.models.registry import Registry
from homerec.pipeline.purge import purge_user
from homerec.storage import open_store


def _user_with_factors(registry: Registry) -> str:
    model = registry.load()
    return model.users_.to_ids([0])[0]


def test_every_kept_version_is_rewritten_without_the_user(trained, tmp_path):
    root = tmp_path / "artifacts"
    shutil.copytree(trained["registry"].root, root)
    registry = Registry(root)
    v1 = registry.active()
    v2 = registry.register(registry.load(v1), registry.info(v1).meta, activate=False)
    user = _user_with_factors(registry)
    n_users = registry.info(v1).meta["n_users"]

    report = purge_user(registry, user)
    assert report.rewritten == [v1, v2] and report.untouched == []
    for version in (v1, v2):
        model = registry.load(version)
        parts = [model, *model.models_.values()]
        assert all(user not in m.users_ for m in parts)
        for ids_file in registry.info(version).path.rglob("ids.npz"):  # the hybrid's and every part's
            with np.load(ids_file, allow_pickle=False) as z:
                assert user not in IdMap.from_arrays({k: z[k] for k in z.files}, "users", "user")
        meta = registry.info(version).meta
        assert meta["n_users"] == n_users - 1 and meta["purged_users"] == 1
        store = open_store(trained["store_url"])
        try:
            history = store.history(user)["item_id"].to_list()
        finally:
            store.close()
        recs = model.recommend(user, k=5, history=history)  # a stranger now, folded in from the store
        assert len(recs) == 5 and not {r.item_id for r in recs} & set(history)
    assert purge_user(registry, user).rewritten == []
    assert not list(registry.info(v1).path.glob(".model.*"))  # no leftover copy holds the user


def test_the_cli_command(trained, tmp_path):
    root = tmp_path / "artifacts"
    shutil.copytree(trained["registry"].root, root)
    user = _user_with_factors(Registry(root))
    run = subprocess.run([sys.executable, "-m", "homerec.cli.main", "models", "purge-user", user, "--artifacts",
                          str(root)], capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0 and f"{user} removed from v1" in run.stdout, run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "homerec.cli.main", "models", "purge-user", "nobody", "--artifacts",
                          str(root)], capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0 and "no model version knows nobody" in run.stdout
