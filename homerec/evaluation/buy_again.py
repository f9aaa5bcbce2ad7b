# SPDX-License-Identifier: Apache-2.0
"""The buy-again protocol (repeat purchases included) and the fitting of the re-order model.

Protocol (`benchmark-protocol.md`, "Buy-again"): the usual temporal split; evaluation users
have at least one train and one test interaction (any item), sampled to 10,000 by id as in
`eval_users`; the truth is every item a user interacts with in test, bought before or not;
lists are top-10 with nothing masked. Breadth stands beside accuracy: catalog coverage and the
share of all list slots taken by the single most listed item.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.metrics import metric_table
from homerec.evaluation.split import Split, sample_users
from homerec.evaluation.tuning import validation_split
from homerec.models.base import Recommender
from homerec.models.reorder import ReorderModel


@dataclass(frozen=True)
class BuyAgainTask:
    """What a buy-again list is computed from and scored on: train events, the users and their truth."""

    train: Interactions
    users: np.ndarray
    truth: list[np.ndarray]
    now: int
    """The split's cutoff: lists are what users buy from then on."""


def buy_again_task(split: Split, max_users: int = 10_000, seed: int = 0) -> BuyAgainTask:
    """Evaluation users (a train and a test interaction) and their truth (every test item)."""
    users = np.intersect1d(np.unique(split.train.user_idx), np.unique(split.test.user_idx))
    users = sample_users(users, split.train.users.ids, max_users, seed)
    keys = np.unique(split.test.user_idx.astype(np.int64) * split.test.n_items + split.test.item_idx)
    pu, pi = np.divmod(keys, split.test.n_items)
    start, stop = np.searchsorted(pu, users, side="left"), np.searchsorted(pu, users, side="right")
    return BuyAgainTask(split.train, users, [pi[a:b] for a, b in zip(start, stop)], split.cutoff)


def list_metrics(idx: np.ndarray, truth: Sequence[np.ndarray], k: int, n_items: int) -> dict[str, float]:
    """The metric table at k and the top-item share: slots of the most listed item / all filled slots."""
    out = metric_table(idx, truth, k, n_items)
    filled = idx[:, :k][idx[:, :k] >= 0]
    out[f"TopItemShare@{k}"] = float(np.bincount(filled).max() / len(filled)) if len(filled) else 0.0
    return out


ListMaker = Callable[[BuyAgainTask, ItemFeatures | None, dict[str, Any], int], np.ndarray]
"""(task, features, params, k) -> top-k item indices per task user, nothing masked."""


def tune_and_score(
    make: ListMaker, grid: Sequence[dict[str, Any]], split: Split, features: ItemFeatures | None,
    k: int = 10, metric: str = "NDCG@10", max_users: int = 10_000,
) -> dict[str, Any]:
    """Pick params on the validation split of train by `metric`, then score them on the split's test."""
    best, tried = dict(grid[0]), []
    if len(grid) > 1:
        inner = buy_again_task(validation_split(split.train), max_users)
        for params in grid:
            tried.append((dict(params), list_metrics(make(inner, features, params, k), inner.truth, k,
                                                     inner.train.n_items)[metric]))
        best = dict(max(tried, key=lambda t: t[1])[0])
    outer = buy_again_task(split, max_users)
    return {"metrics": list_metrics(make(outer, features, best, k), outer.truth, k, split.train.n_items),
            "best_params": best, "validation": tried}


def fit_reorder(
    train: Interactions, discovery: Recommender, features: ItemFeatures | None = None,
    progress: Callable[[str], None] | None = None, **params: Any,
) -> ReorderModel:
    """The re-order model over `discovery` (fitted on `train`), its weights learned on train's validation split.

    A copy of `discovery` with the same hyper-parameters (blend weights included) is fitted on
    the fit part, so the discovery features it is learned with mean what they mean at serving.
    """
    say = progress or (lambda _m: None)
    split = validation_split(train)
    say("fitting the discovery model on the fit split for the re-order model")
    probe = type(discovery)(**discovery.params()).fit(split.train, features)
    say(f"learning re-order weights on the validation window ({len(split.test):,} events)")
    model = ReorderModel(**params).fit(split.train, split.test, probe, now=split.cutoff)
    return model.refresh(train).attach(discovery)


def reorder_lists(model: ReorderModel, task: BuyAgainTask, k: int = 10) -> np.ndarray:
    """The model's top-k for the task's users from their train events as of the task's cutoff."""
    ids = task.train.users.ids[task.users].tolist()
    return np.concatenate([part.idx for part in model.recommend_batch(task.train, ids, task.now, k)]) if ids else (
        np.zeros((0, k), np.int64))
