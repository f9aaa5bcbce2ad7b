# SPDX-License-Identifier: Apache-2.0
"""Hyper-parameter grid search on the validation split of train (protocol step 4)."""

from collections.abc import Callable, Sequence

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import InputError
from homerec.evaluation.evaluate import Fitter, score_model
from homerec.evaluation.split import Split, eval_users, ground_truth, temporal_split


def validation_split(train: Interactions) -> Split:
    """Split train again at its own 0.9 quantile: fit part (train) and validation part (test)."""
    return temporal_split(train, 0.9)


def grid_search(
    make: Callable[[dict], Fitter],
    grid: Sequence[dict],
    train: Interactions,
    features: ItemFeatures | None = None,
    k: int = 10,
    metric: str = "NDCG@10",
    max_users: int = 10_000,
) -> tuple[dict, list[tuple[dict, float]]]:
    """Score every parameter set on the validation split and return the best one.

    Each fitter from ``make(params)`` is fitted on the fit part of train and scored on the
    validation users. Refit the winner on all of train before the final evaluation.

    Args:
        make: params -> fitter.
        grid: the parameter sets to try, in order (the first one wins ties).
        train: the train part of the outer split; never the test part.
        features: item features over train's item map.
        k: list length and metric cut-off.
        metric: the metric to maximise, a key of metric_table (e.g. "NDCG@10").
        max_users: validation-user sample size.

    Returns:
        The best params and every (params, score) in grid order.

    Raises:
        ValueError: empty grid or a metric name metric_table does not produce.
        InputError: the validation split has no user to evaluate.
    """
    if not grid:
        raise ValueError("grid_search needs at least one parameter set")
    split = validation_split(train)
    users = eval_users(split, max_users=max_users)
    if len(users) == 0:
        raise InputError("the validation split has no user with a new item after its cutoff")
    truth = ground_truth(split, users)
    scored: list[tuple[dict, float]] = []
    for params in grid:
        model = make(params)(split.train, features)
        table = score_model(model, split, users, truth, k)
        if metric not in table:
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(table)}")
        scored.append((dict(params), table[metric]))
    best = max(range(len(scored)), key=lambda i: (scored[i][1], -i))
    return scored[best][0], scored
