# SPDX-License-Identifier: Apache-2.0
"""The buy-again, basket-completion and segment protocols: who is evaluated, on what truth, how scored."""

import numpy as np
import polars as pl

from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.evaluation.basket import basket_metrics, basket_task
from homerec.evaluation.buy_again import buy_again_task, list_metrics
from homerec.evaluation.segments import segment_metrics, segment_task, top_customers
from homerec.evaluation.split import Split


def _split(rows: list[tuple], cutoff: int) -> Split:
    frame = pl.DataFrame(rows, schema=[Col.user_id, Col.item_id, Col.ts, Col.order_id], orient="row")
    data = Interactions.from_frame(frame)
    return Split(data.select(data.ts < cutoff), data.select(data.ts >= cutoff), cutoff)


def test_buy_again_truth_keeps_repeats_and_needs_both_periods():
    split = _split([("u1", "a", 1, "o1"), ("u1", "b", 1, "o1"), ("u1", "a", 10, "o2"), ("u1", "c", 11, "o3"),
                    ("u2", "a", 2, "o4"), ("u3", "b", 12, "o5")], cutoff=10)
    task = buy_again_task(split)
    assert split.train.users.to_ids(task.users) == ["u1"]  # u2 buys nothing later, u3 nothing before
    assert sorted(split.train.items.to_ids(task.truth[0])) == ["a", "c"]  # a was bought before: it counts
    assert task.now == 10


def test_list_metrics_add_the_top_item_share():
    m = list_metrics(np.array([[0, 1], [0, 2]]), [np.array([0]), np.array([5])], 2, 10)
    assert m["HR@2"] == 0.5 and m["TopItemShare@2"] == 0.5 and m["Coverage@2"] == 0.3


def test_basket_task_hides_one_item_of_each_test_basket():
    rows = [("u1", "a", 1, "o1"), ("u1", "b", 1, "o1"),  # a train basket
            ("u1", "a", 20, "o2"), ("u1", "b", 20, "o2"), ("u1", "c", 20, "o2"),
            ("u2", "a", 21, "o3"),  # one item: not a basket for the protocol
            ("u2", "b", 22, "o4"), ("u2", "c", 22, "o4")]
    split = _split(rows, cutoff=10)
    task = basket_task(split)
    assert task.carts.shape[0] == 2 and split.train.users.to_ids(task.users) == ["u1", "u2"]
    for r, size in enumerate((3, 2)):
        cart = set(task.carts[r].indices.tolist())
        assert len(cart) == size - 1 and task.hidden[r] not in cart
    assert basket_task(split).hidden.tolist() == task.hidden.tolist()  # seeded


def test_basket_metrics():
    m = basket_metrics(np.array([[3, 1], [2, -1]]), np.array([1, 7]), 2, 10)
    assert m["HR@2"] == 0.5 and m["MRR@2"] == 0.25 and m["Coverage@2"] == 0.3


def test_segment_targets_and_truth():
    rows = [(f"u{n}", "x", 1, f"a{n}") for n in range(8)]  # eight customers known in train
    rows += [("u0", "t", 2, "b0")]  # u0 bought the target before
    rows += [(f"u{n}", "t", 20, f"c{n}") for n in range(6)]  # six test buyers known in train
    rows += [("new", "t", 21, "d")]  # a test buyer without history
    rows += [(f"u{n}", "y", 22, f"e{n}") for n in range(3)]  # too few buyers to be a target
    split = _split(rows, cutoff=10)
    task = segment_task(split)
    assert split.train.items.to_ids(task.targets) == ["t"]
    assert sorted(split.train.users.to_ids(task.truth[0])) == ["u1", "u2", "u3", "u4", "u5"]
    scores = np.zeros((split.train.n_users, 1))
    scores[split.train.users.to_idx("u0"), 0] = 9.0  # a past buyer is never listed
    scores[split.train.users.to_idx("new"), 0] = 8.0  # nor a customer without history
    ranked = top_customers(scores, task, k=100)
    listed = set(split.train.users.to_ids(ranked[0][ranked[0] >= 0]))
    assert listed == {f"u{n}" for n in range(1, 8)}
    m = segment_metrics(ranked, task.truth, k=100)
    assert m["Precision@100"] == 0.05 and m["Recall@100"] == 1.0
