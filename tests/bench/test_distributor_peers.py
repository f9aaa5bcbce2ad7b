# SPDX-License-Identifier: Apache-2.0
"""Smoke tests of the distributor peers and the benchmark's Markdown, on the small rhythm world."""

import numpy as np
import pytest

from bench.basket_peers import BASKET_PEERS
from bench.buy_again_peers import BUY_AGAIN_PEERS
from bench.distributor import distributor_markdown, verdict
from bench.segment_peers import SEGMENT_PEERS
from homerec.evaluation.basket import basket_task
from homerec.evaluation.buy_again import buy_again_task
from homerec.evaluation.segments import segment_task, top_customers
from homerec.evaluation.split import Split
from homerec.models.segments import category_matrix
from tests.models.reorder_world import catalog, cutoff, split_world, staples


@pytest.fixture(scope="module")
def split() -> Split:
    history, future = split_world()
    return Split(history, future, cutoff())


@pytest.mark.parametrize("name", list(BUY_AGAIN_PEERS))
def test_buy_again_peers_list_k_items_and_personal_ones_know_the_staples(split, name):
    task = buy_again_task(split)
    fn, grid = BUY_AGAIN_PEERS[name]
    idx = fn(task, None, grid[0], 5)
    assert idx.shape == (len(task.users), 5) and (idx >= 0).all()
    if name != "popularity":
        for row, user in zip(idx, task.users):
            assert set(split.train.items.to_idx(list(staples(split.train.users.ids[user])))) <= set(row[:2].tolist())


@pytest.mark.parametrize("name", list(BASKET_PEERS))
def test_basket_peers_never_list_the_cart(split, name):
    task = basket_task(split)
    fn, grid = BASKET_PEERS[name]
    idx = fn(task, grid[0], 3)
    for r in range(task.carts.shape[0]):
        assert not set(idx[r].tolist()) & set(task.carts[r].indices.tolist())
    if name == "co-occurrence":  # the hidden staple is one of the two partners of the cart's staple
        assert (idx[:, :2] == task.hidden[:, None]).any(axis=1).mean() > 0.9


@pytest.mark.parametrize("name", list(SEGMENT_PEERS))
def test_segment_peers_score_every_customer(split, name):
    task = segment_task(split, category_matrix(catalog(), split.train.items))
    fn, grid = SEGMENT_PEERS[name]
    scores = fn(task, grid[0])
    assert scores.shape == (split.train.n_users, len(task.targets)) and np.isfinite(scores).all()
    assert top_customers(scores, task, k=5).shape == (len(task.targets), 5)


def test_markdown_states_the_verdict():
    section = {"peers": {"p": {"metrics": {"HR@10": 0.2}}, "q": {"error": "boom"}},
               "homerec": {"basket": {"metrics": {"HR@10": 0.3}, "seconds": 1.0}}}
    assert verdict(section, "basket") == ("p", 0.2, 0.3, pytest.approx(1.5))
    md = distributor_markdown({"meta": {}, "datasets": {"x": {"n_interactions": 10, "n_users": 2, "n_items": 3,
                                                              "basket": section}}})
    assert "1.500 × (meets" in md and "error: boom" in md
    section["homerec"]["basket"]["metrics"]["HR@10"] = 0.2
    assert "**misses**" in distributor_markdown({"datasets": {"x": {"n_interactions": 1, "n_users": 1,
                                                                   "n_items": 1, "basket": section}}})
