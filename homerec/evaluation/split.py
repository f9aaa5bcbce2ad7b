# SPDX-License-Identifier: Apache-2.0
"""Temporal holdout split, evaluation users and ground truth (protocol steps 1-6)."""

import math
from dataclasses import dataclass

import numpy as np

from homerec.data.interactions import Interactions
from homerec.errors import InputError

QUANTILE_METHOD = "linear"
"""numpy's default quantile method; the cutoff is the ceiling of the interpolated value."""


@dataclass(frozen=True)
class Split:
    """Train (ts < cutoff) and test (ts >= cutoff) over the same user and item maps."""

    train: Interactions
    test: Interactions
    cutoff: int


def temporal_split(data: Interactions, quantile: float = 0.9) -> Split:
    """Split at the timestamp of the given quantile of all interactions (protocol steps 1-3).

    The cutoff is ``ceil(np.quantile(ts, quantile, method="linear"))``. Timestamps are
    integers, so ``ts >= cutoff`` selects exactly the events at or after the interpolated
    quantile; when the quantile falls on an event, the cutoff is that event's timestamp.
    Events tied with the cutoff all go to test.

    Args:
        data: all interactions.
        quantile: share of the timeline (by event count) that goes to train, roughly.

    Raises:
        InputError: when there are no interactions.
    """
    if len(data) == 0:
        raise InputError("cannot split: there are no interactions")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    cutoff = int(math.ceil(float(np.quantile(data.ts, quantile, method=QUANTILE_METHOD))))
    return Split(train=data.before(cutoff), test=data.since(cutoff), cutoff=cutoff)


def _pair_keys(data: Interactions) -> np.ndarray:
    """Distinct (user, item) pairs of `data` as sorted int64 keys user * n_items + item."""
    return np.unique(data.user_idx.astype(np.int64) * data.n_items + data.item_idx)


def novel_test_pairs(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Distinct test (user, item) pairs whose item the user had no train event with.

    Only users with at least one train event are kept. Returned sorted by user, then item.
    """
    n_items = split.train.n_items
    test_keys = _pair_keys(split.test)
    train_keys = _pair_keys(split.train)
    test_keys = test_keys[~np.isin(test_keys, train_keys, assume_unique=True)]
    users, items = np.divmod(test_keys, n_items)
    has_train = np.zeros(split.train.n_users, dtype=bool)
    has_train[split.train.user_idx] = True
    keep = has_train[users]
    return users[keep], items[keep]


def eval_users(split: Split, max_users: int = 10_000, seed: int = 0) -> np.ndarray:
    """Indices of the evaluation users (protocol step 5), sorted by index.

    A user qualifies with at least one train event and one test item not in their train
    items. Above `max_users`, the qualifying users are sorted by their id as a string and
    ``np.random.default_rng(seed).choice(users, max_users, replace=False)`` draws the sample.
    """
    return sample_users(np.unique(novel_test_pairs(split)[0]), split.train.users.ids, max_users, seed)


def sample_users(users: np.ndarray, ids: np.ndarray, max_users: int, seed: int = 0) -> np.ndarray:
    """The protocol's sample of qualifying user indices `users` (sorted), whose ids are `ids[users]`."""
    if len(users) > max_users:
        by_id = users[np.argsort(ids[users], kind="stable")]
        users = np.sort(np.random.default_rng(seed).choice(by_id, max_users, replace=False))
    return users


def ground_truth(split: Split, users: np.ndarray) -> list[np.ndarray]:
    """Per user (in the order given): the sorted distinct test items not in their train items."""
    pu, pi = novel_test_pairs(split)
    users = np.asarray(users, dtype=np.int64)
    start = np.searchsorted(pu, users, side="left")
    stop = np.searchsorted(pu, users, side="right")
    return [pi[a:b] for a, b in zip(start, stop)]
