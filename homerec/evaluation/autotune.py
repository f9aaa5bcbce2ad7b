# SPDX-License-Identifier: Apache-2.0
"""Fit one model tuned on the validation split: its grid (optionally), then its popularity mix."""

from collections.abc import Callable

import numpy as np

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.breadth import Breadth, ListBreadth, objective_key
from homerec.evaluation.evaluate import recommend_for
from homerec.evaluation.grids import GRIDS
from homerec.evaluation.metrics import metric_table
from homerec.evaluation.split import Split, eval_users, ground_truth
from homerec.evaluation.tuning import grid_search, validation_split
from homerec.models import model_class
from homerec.models.base import Recommender

MIXES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9)
"""Shares of the popularity prior tried; 0 keeps the model's own ranking."""
UNMIXED = ("popularity", "trending", "hybrid")
MIX_USERS = 5000
"""Validation users the popularity mix is chosen on."""


def choose_mix(model: Recommender, split: Split, users: np.ndarray, truth: list[np.ndarray], k: int,
               breadth: Breadth | None = None) -> tuple[float, str]:
    """The popularity mix of a model fitted on the fit part: the best validation NDCG@k inside the region.

    The model's own unmixed coverage is the reference coverage. Returns the mix and a line
    saying what each mix scored. The model is left with its original mix.
    """
    scores, keys, limits = {}, {}, None
    original = model.popularity_mix
    for mix in MIXES:
        model.popularity_mix = mix
        idx, _ = recommend_for(model, split.train, users, k)
        scores[mix] = metric_table(idx, truth, k, split.train.n_items)[f"NDCG@{k}"]
        lists = ListBreadth.of(idx, split.train.n_items)
        limits = limits or (breadth or Breadth()).limits(lists.coverage)  # mix 0: the reference
        keys[mix] = objective_key(scores[mix], lists, limits)
    model.popularity_mix = original
    best = max(MIXES, key=lambda m: (keys[m], -m))
    note = f"popularity mix {best} (validation NDCG@{k} " + ", ".join(
        f"{m}: {v:.4f}{'' if keys[m][0] == 0 else ' (too narrow)'}" for m, v in scores.items()) + ")"
    return best, note


def fit_tuned(
    name: str, train: Interactions, features: ItemFeatures | None = None, k: int = 10,
    search_grid: bool = False, params: dict | None = None, say: Callable[[str], None] | None = None,
    breadth: Breadth | None = None, recommendable: np.ndarray | None = None,
) -> Recommender:
    """Fit `name` on train with hyper-parameters chosen on train's validation split.

    With ``search_grid`` the model's grid is searched first; then (for personalised models)
    the popularity mix is chosen: the highest validation NDCG@k among the mixes whose lists
    meet the breadth constraint, the model's own unmixed coverage being the reference; the
    winner is refitted on all of train.
    """
    cls = model_class(name)
    chosen = dict(params or {})
    if search_grid and name in GRIDS:
        make = lambda p: lambda d, f: cls(**{**chosen, **p}).fit(d, f, recommendable)  # noqa: E731
        best, _ = grid_search(make, GRIDS[name], train, features, k)
        chosen.update(best)
    if name not in UNMIXED:
        split = validation_split(train)
        users = eval_users(split, max_users=MIX_USERS)
        if len(users):
            probe = cls(**chosen).fit(split.train, features, recommendable)
            chosen["popularity_mix"], note = choose_mix(probe, split, users, ground_truth(split, users), k, breadth)
            if say:
                say(f"{name}: {note}")
    return cls(**chosen).fit(train, features, recommendable)
