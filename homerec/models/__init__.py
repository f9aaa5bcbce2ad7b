# SPDX-License-Identifier: Apache-2.0
"""Recommendation models; MODELS maps a model name to its class, load_model reads any artifact.

PARTS are the distributor models trained next to the main one and saved with its version:
re-orders (buy again), basket completion and segments; load_part reads one.
"""

from pathlib import Path

from homerec.errors import ConfigError
from homerec.models.artifact import read_params
from homerec.models.base import Recommender
from homerec.models.als import ALS
from homerec.models.basket import BasketModel
from homerec.models.content import ContentBased
from homerec.models.ease import EASE
from homerec.models.hybrid import Hybrid
from homerec.models.item_knn import ItemKNN
from homerec.models.popularity import Popularity, Trending
from homerec.models.reorder import ReorderModel
from homerec.models.segments import SegmentModel
from homerec.models.user_knn import UserKNN

MODELS: dict[str, type[Recommender]] = {
    "popularity": Popularity,
    "trending": Trending,
    "als": ALS,
    "item_knn": ItemKNN,
    "user_knn": UserKNN,
    "content": ContentBased,
    "ease": EASE,
    "hybrid": Hybrid,
}


def model_class(name: str) -> type[Recommender]:
    """The class registered under `name`; ConfigError lists the known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None


def load_model(path: str | Path) -> Recommender:
    """Load any saved model directory."""
    return model_class(read_params(Path(path))["class"]).load(path)


PARTS: dict[str, type[ReorderModel] | type[BasketModel] | type[SegmentModel]] = {
    "reorder": ReorderModel,
    "basket": BasketModel,
    "segments": SegmentModel,
}
"""Companion model name → class (each has save(path) and load(path))."""


def load_part(path: str | Path, discovery: Recommender | None = None) -> ReorderModel | BasketModel | SegmentModel:
    """Load a companion model directory; a re-order model gets `discovery` attached when given."""
    name = read_params(Path(path))["class"]
    if name not in PARTS:
        raise ConfigError(f"{path} holds a {name!r} model, not one of {', '.join(PARTS)}")
    if name == "reorder":
        return ReorderModel.load(path, discovery)
    return PARTS[name].load(path)
