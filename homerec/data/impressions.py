# SPDX-License-Identifier: Apache-2.0
"""Impressions as a model reads them: what each user was shown and never chose.

Clients report what they showed with PutEvents' `impression` (`Store.impressions`: one row per
item shown with an event, `chosen` when the event was on it). An item shown to a user who
never chose it, not in that event and not in any interaction, is a weak negative: Personalize's
User-Personalization lowers such items. `shown_not_chosen` counts them per user and item on a
model's id maps, so a model can take them as one more matrix beside the interactions.
"""

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.ids import IdMap
from homerec.data.schema import Col


def shown_not_chosen(impressions: pl.DataFrame, interactions: pl.DataFrame, users: IdMap,
                     items: IdMap) -> sp.csr_matrix:
    """Users × items: times each item was shown to the user, for items the user never chose (ids the maps
    do not know are dropped)."""
    chosen = pl.concat([
        interactions.select(Col.user_id, Col.item_id),
        impressions.filter(pl.col(Col.chosen)).select(Col.user_id, Col.item_id),
    ]).unique()
    shown = (impressions.filter(~pl.col(Col.chosen)).join(chosen, on=[Col.user_id, Col.item_id], how="anti")
             .group_by(Col.user_id, Col.item_id).len())
    u = users.to_idx(shown[Col.user_id].to_list(), strict=False)
    i = items.to_idx(shown[Col.item_id].to_list(), strict=False)
    keep = (u >= 0) & (i >= 0)
    counts = shown["len"].to_numpy().astype(np.float32)
    return sp.csr_matrix((counts[keep], (u[keep], i[keep])), shape=(len(users), len(items)))
