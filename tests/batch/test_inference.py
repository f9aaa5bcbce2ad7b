# SPDX-License-Identifier: Apache-2.0
"""Batch inference: current histories on the model's maps, chunks, and similar items."""

import numpy as np
import polars as pl

from homerec.batch.inference import history_matrix, recommend_users, similar_all
from homerec.data.interactions import Interactions
from homerec.models.item_knn import ItemKNN
from tests.models.conftest import GROUP_A, GROUP_B, checkerboard_frame


def test_history_rows_follow_the_store_not_the_training_data(checkerboard):
    model = ItemKNN().fit(checkerboard)
    newer = pl.concat([checkerboard_frame(), pl.DataFrame(
        {"user_id": ["newbie", "newbie", "u10"], "item_id": [GROUP_B[0], "brand-new-item", GROUP_B[1]],
         "ts": [1_800_000_000] * 3, "event_type": ["purchase"] * 3, "event_value": [1.0] * 3})])
    data = Interactions.from_frame(newer, items=model.items_)
    uidx, X = history_matrix(model, data, ["u10", "newbie", "nobody"])
    assert uidx[0] == model.users_.get("u10") and uidx[1] == -1 and uidx[2] == -1
    assert X.shape == (3, len(model.items_))  # the unknown item is dropped, not appended
    assert X[0, model.items_.get(GROUP_B[1])] > 0
    assert X[1].nnz == 1 and X[2].nnz == 0


def test_chunks_cover_every_user_once_and_cold_users_get_the_fallback(checkerboard):
    model = ItemKNN().fit(checkerboard)
    users = checkerboard.users.ids.tolist() + ["ghost"]
    chunks = list(recommend_users(model, checkerboard, users, k=3, chunk=7, workers=2))
    keys = [u for c in chunks for u in c.keys]
    assert keys == users
    cold = np.concatenate([c.cold for c in chunks])
    assert cold.tolist() == [False] * (len(users) - 1) + [True]
    first = chunks[0]
    seen = set(checkerboard.items.to_ids(checkerboard.to_csr()[0].indices))
    assert not set(model.items_.to_ids(first.idx[0][first.idx[0] >= 0])) & seen


def test_similar_all_lists_every_item_without_itself(checkerboard):
    model = ItemKNN().fit(checkerboard)
    chunks = list(similar_all(model, k=2, chunk=4, workers=2))
    assert [i for c in chunks for i in c.keys] == model.items_.ids.tolist()
    for c in chunks:
        for key, row in zip(c.keys, c.idx):
            assert model.items_.get(key) not in row.tolist()
    a0 = next(c for c in chunks if GROUP_A[0] in c.keys)
    row = a0.idx[a0.keys.index(GROUP_A[0])]
    assert set(model.items_.to_ids(row[row >= 0])) <= set(GROUP_A)
