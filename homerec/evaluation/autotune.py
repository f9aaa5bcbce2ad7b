# SPDX-License-Identifier: Apache-2.0
"""Fit one model tuned on the validation split: its grid (optionally), then its popularity mix."""

from collections.abc import Callable

import numpy as np

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.evaluate import score_model
from homerec.evaluation.grids import GRIDS
from homerec.evaluation.split import Split, eval_users, ground_truth
from homerec.evaluation.tuning import grid_search, validation_split
from homerec.models import model_class
from homerec.models.base import Recommender

MIXES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9)
"""Shares of the popularity prior tried; 0 keeps the model's own ranking."""
UNMIXED = ("popularity", "trending", "hybrid")
MIX_USERS = 5000
"""Validation users the popularity mix is chosen on."""


def fit_tuned(
    name: str, train: Interactions, features: ItemFeatures | None = None, k: int = 10,
    search_grid: bool = False, params: dict | None = None, say: Callable[[str], None] | None = None,
) -> Recommender:
    """Fit `name` on train with hyper-parameters chosen on train's validation split.

    With ``search_grid`` the model's grid is searched first; then (for personalised models)
    the popularity mix is chosen; the winner is refitted on all of train.
    """
    cls = model_class(name)
    chosen = dict(params or {})
    if search_grid and name in GRIDS:
        make = lambda p: lambda d, f: cls(**{**chosen, **p}).fit(d, f)  # noqa: E731
        best, _ = grid_search(make, GRIDS[name], train, features, k)
        chosen.update(best)
    if name not in UNMIXED:
        split = validation_split(train)
        users = eval_users(split, max_users=MIX_USERS)
        if len(users):
            probe = cls(**chosen).fit(split.train, features)
            chosen["popularity_mix"] = choose_mix(probe, split, users, ground_truth(split, users), k, say)
    return cls(**chosen).fit(train, features)


def choose_mix(
    probe: Recommender, split: Split, users: np.ndarray, truth: list[np.ndarray], k: int = 10,
    say: Callable[[str], None] | None = None,
) -> float:
    """The share of MIXES with the best validation NDCG@10 for `probe` (fitted on split.train).

    Ties go to the smaller mix. `users` index split.train's users; `truth` follows them.
    """
    scores = {}
    for mix in MIXES:
        probe.popularity_mix = mix
        scores[mix] = score_model(probe, split, users, truth, k)["NDCG@10"]
    best = max(MIXES, key=lambda m: (scores[m], -m))
    if say:
        say(f"{probe.name}: popularity mix {best} (validation NDCG@10 "
            + ", ".join(f"{m}: {v:.4f}" for m, v in scores.items()) + ")")
    return best
