# SPDX-License-Identifier: Apache-2.0
"""homerec evaluate: the shared protocol on a Personalize-layout folder, every model and the hybrid."""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from homerec.data import schema
from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import InputError
from homerec.evaluation.blend import fit_tuned_hybrid
from homerec.evaluation.breadth import Breadth
from homerec.evaluation.categories import category_matrix
from homerec.evaluation.dataset import item_features, read_folder
from homerec.evaluation.evaluate import EvalResult, Fitter, evaluate
from homerec.evaluation.grids import CHEAP, GRIDS
from homerec.evaluation.split import temporal_split
from homerec.evaluation.autotune import fit_tuned
from homerec.models import MODELS, model_class
from homerec.models.hybrid import DEFAULT_PARTS
from homerec.models.item_rule import NonProductRule


def _tuned_fitter(name: str, tune: bool, found: dict[str, dict], k: int, say, breadth: Breadth | None,
                  recommendable: np.ndarray | None) -> Fitter:
    """Fit `name` tuned on the validation split; the chosen params are kept in `found` for the hybrid."""

    def fit(train: Interactions, features: ItemFeatures | None):
        model = fit_tuned(name, train, features, k, search_grid=tune, say=say, breadth=breadth,
                          recommendable=recommendable)
        # The hybrid reuses the tuned hyper-parameters but not the popularity mix: its blend
        # weighs popularity itself (mixed parts measured worse in the blend on every data set).
        found[name] = {p: v for p, v in model.params().items() if p != "popularity_mix"}
        return model

    return fit


def homerec_fitters(
    names: Sequence[str], has_features: bool, tune: bool = False, k: int = 10,
    progress: Callable[[str], None] | None = None, breadth: Breadth | None = None,
    recommendable: np.ndarray | None = None,
) -> dict[str, Fitter]:
    """Fitters for homerec's models as `homerec evaluate` tunes them (the bench uses the same).

    Each part is tuned on the validation split (its grid with ``tune``, the cheap grids and the
    popularity mix always, under the breadth constraint); the hybrid reuses the parts' chosen
    hyper-parameters. ``recommendable`` (per item of the data set) keeps non-products out.
    """
    found: dict[str, dict] = {}
    fitters: dict[str, Fitter] = {}
    for n in names:
        if n == "content" and not has_features:
            if progress:
                progress("content skipped: no items.csv with metadata")
            continue
        if n != "hybrid":
            fitters[n] = _tuned_fitter(n, tune or n in CHEAP, found, k, progress, breadth, recommendable)
    if "hybrid" in names:
        parts = [n for n in DEFAULT_PARTS if n in MODELS]
        fitters["hybrid"] = lambda tr, f: fit_tuned_hybrid(
            tr, f, parts=parts, part_params=dict(found), k=k, tune_parts=tuple(GRIDS) if tune else CHEAP,
            breadth=breadth, recommendable=recommendable, progress=progress,
        )
    return fitters


def run_evaluation(
    folder: str | Path, k: int = 10, models: Sequence[str] | None = None, tune: bool = False,
    progress: Callable[[str], None] | None = None, breadth: Breadth | None = None,
    rule: NonProductRule | None = None,
) -> EvalResult:
    """Evaluate each model (default: every part and the hybrid) on the folder's temporal split.

    ``breadth`` is the tuning's breadth constraint; ``rule`` marks items never to recommend.
    """
    names = list(models or [*DEFAULT_PARTS, "hybrid"])
    for n in names:
        model_class(n)
    ds = read_folder(folder)
    features = item_features(ds)
    split = temporal_split(ds.interactions)
    if len(split.test) == 0 or len(split.train) == 0:
        raise InputError(f"{folder}: too few distinct timestamps for a temporal split")
    ids = ds.interactions.items.ids.tolist()
    rule = rule or NonProductRule()
    recommendable = None if rule.empty else ~rule.non_products(ds.items, ids)
    fitters = homerec_fitters(names, features is not None, tune, k, progress, breadth, recommendable)
    return evaluate(fitters, split, features, k=k, dataset=ds.name, progress=progress,
                    categories=category_matrix(ds.items, ids, schema.ITEM_ID))
