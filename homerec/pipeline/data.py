# SPDX-License-Identifier: Apache-2.0
"""Read what a model trains on from a store: interactions over the full user and item catalogs."""

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.impressions import shown_not_chosen
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.errors import InputError
from homerec.storage.base import Store


@dataclass(frozen=True)
class TrainingData:
    """Interactions (users and items include those without events), item features, and what users were
    shown and never chose (reported impressions; None when there are none)."""

    interactions: Interactions
    features: ItemFeatures | None
    items: pl.DataFrame
    shown: sp.csr_matrix | None = None

    def digest(self) -> str:
        """A short fingerprint of the data, recorded with each model version."""
        h = hashlib.blake2b(digest_size=12)
        d = self.interactions
        for arr in (d.user_idx, d.item_idx, d.ts, d.weight):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\x1f".join(d.users.ids.tolist()).encode())
        h.update("\x1f".join(d.items.ids.tolist()).encode())
        return h.hexdigest()


def load_training_data(
    store: Store, event_weights: dict[str, float] | None = None, until: int | None = None,
) -> TrainingData:
    """Everything in the store (events before `until`, when given), ready for fit().

    Raises:
        InputError: there is nothing to train on.
    """
    frame = store.interactions()
    if until is not None:
        frame = frame.filter(pl.col(Col.ts) < until)
    if frame.height == 0:
        when = f" before {until}" if until is not None else ""
        raise InputError(f"the store {store.url} holds no interactions{when}: run `homerec import DIR` first")
    items = store.items()
    users = store.users()
    item_map = IdMap.from_ids(items[Col.item_id].to_list(), "item") if items.height else None
    user_map = IdMap.from_ids(users[Col.user_id].to_list(), "user") if users.height else None
    data = Interactions.from_frame(frame, event_weights, users=user_map, items=item_map)
    features = None
    if items.height and items.width > 1:
        features = ItemFeatures.from_frame(items, data.items)
        if features.n_features == 0:
            features = None
    impressions = store.impressions()
    if until is not None:
        impressions = impressions.filter(pl.col(Col.ts) < until)
    shown = shown_not_chosen(impressions, frame, data.users, data.items) if impressions.height else None
    return TrainingData(data, features, items, shown)
