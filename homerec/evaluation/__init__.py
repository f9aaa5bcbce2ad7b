# SPDX-License-Identifier: Apache-2.0
"""Offline evaluation: temporal split, ranking metrics, evaluate(), grid search, reports.

The report module (matplotlib, Jinja2) is not imported here; import it where it is needed.
"""

from homerec.evaluation.dataset import Dataset, item_features, read_folder
from homerec.evaluation.evaluate import EvalResult, Fitter, ModelResult, evaluate, recommend_for, score_model
from homerec.evaluation.metrics import metric_table
from homerec.evaluation.split import Split, eval_users, ground_truth, temporal_split
from homerec.evaluation.tuning import grid_search, validation_split

__all__ = [
    "Dataset",
    "EvalResult",
    "Fitter",
    "ModelResult",
    "Split",
    "eval_users",
    "evaluate",
    "grid_search",
    "ground_truth",
    "item_features",
    "metric_table",
    "read_folder",
    "recommend_for",
    "score_model",
    "temporal_split",
    "validation_split",
]
