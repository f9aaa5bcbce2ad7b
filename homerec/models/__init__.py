# SPDX-License-Identifier: Apache-2.0
"""Recommendation models; MODELS maps a model name to its class, load_model reads any artifact."""

from pathlib import Path

from homerec.errors import ConfigError
from homerec.models.artifact import read_params
from homerec.models.base import Recommender
from homerec.models.als import ALS
from homerec.models.content import ContentBased
from homerec.models.ease import EASE
from homerec.models.hybrid import Hybrid
from homerec.models.item_knn import ItemKNN
from homerec.models.popularity import Popularity, Trending
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
