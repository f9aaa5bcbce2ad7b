# SPDX-License-Identifier: Apache-2.0
"""Temporal split, evaluation users and ground truth."""

import numpy as np
import pytest

from homerec.errors import InputError
from homerec.evaluation.split import eval_users, ground_truth, temporal_split
from tests.evaluation import DAY, T0, make_data, random_data


def test_cutoff_is_the_linear_quantile_and_ties_go_to_test():
    # 11 events; the 0.9 quantile falls exactly on position 9 of the sorted times: ts 8
    ts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8]
    data = make_data([(f"u{n + 10}", "i11", T0 + t) for n, t in enumerate(ts)])
    split = temporal_split(data)
    assert split.cutoff == T0 + 8
    assert len(split.train) == 8 and (split.train.ts < split.cutoff).all()
    assert len(split.test) == 3 and (split.test.ts == T0 + 8).all()
    assert split.train.items == data.items and split.test.users == data.users


def test_cutoff_between_events_is_rounded_up():
    data = make_data([("u10", "i11", T0 + t) for t in range(10)])  # quantile 8.1 -> cutoff 9
    split = temporal_split(data)
    assert split.cutoff == T0 + 9
    assert len(split.train) == 9 and len(split.test) == 1
    assert split.cutoff == int(np.ceil(np.quantile(data.ts, 0.9)))


def test_split_needs_events():
    data = make_data([("u10", "i11", T0)])
    with pytest.raises(InputError):
        temporal_split(data.select(np.zeros(1, bool)))


def _rebuy_data():
    train_t, test_t = T0, T0 + 100 * DAY
    rows = [(f"filler{n}", "i90", train_t + n) for n in range(40)]  # pushes the cutoff late
    rows += [
        ("u10", "i11", train_t), ("u10", "i12", test_t), ("u10", "i12", test_t + 1),  # new item (twice)
        ("u11", "i11", train_t), ("u11", "i11", test_t),  # only a re-buy in test
        ("u12", "i13", test_t),  # no train event
        ("u13", "i11", train_t), ("u13", "i11", test_t), ("u13", "i14", test_t),  # re-buy + new item
    ]
    return temporal_split(make_data(rows))


def test_eval_users_need_train_and_a_new_test_item():
    split = _rebuy_data()
    users = eval_users(split)
    assert split.train.users.to_ids(users) == ["u10", "u13"]


def test_ground_truth_is_a_set_without_train_items():
    split = _rebuy_data()
    users = eval_users(split)
    truth = ground_truth(split, users)
    assert [split.train.items.to_ids(t) for t in truth] == [["i12"], ["i14"]]


def test_sample_follows_the_protocol_formula():
    # ids whose string order differs from both numeric and index order
    rng = np.random.default_rng(5)
    names = [f"u{n}" for n in rng.permutation(60)]
    rows = [(u, "i11", T0) for u in names] + [(u, "i12", T0 + DAY) for u in names]
    rows += [(f"x{n}", "i13", T0) for n in range(20)]  # keep the cutoff at the test day
    split = temporal_split(make_data(rows))
    assert len(eval_users(split)) == 60
    got = eval_users(split, max_users=25)
    by_string = sorted(names)
    expected = np.random.default_rng(0).choice(by_string, 25, replace=False)
    assert sorted(split.train.users.to_ids(got)) == sorted(expected.tolist())
    assert (np.diff(got) > 0).all()
    assert np.array_equal(got, eval_users(split, max_users=25))


def test_ground_truth_matches_a_plain_python_reading():
    data = random_data()
    split = temporal_split(data)
    users = eval_users(split)
    truth = ground_truth(split, users)
    train_items, test_items = {}, {}
    for u, i in zip(split.train.user_idx, split.train.item_idx):
        train_items.setdefault(int(u), set()).add(int(i))
    for u, i in zip(split.test.user_idx, split.test.item_idx):
        test_items.setdefault(int(u), set()).add(int(i))
    expected = {u: t - train_items[u] for u, t in test_items.items() if u in train_items and t - train_items[u]}
    assert users.tolist() == sorted(expected)
    for u, t in zip(users, truth):
        assert set(t.tolist()) == expected[int(u)]
