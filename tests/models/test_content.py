# SPDX-License-Identifier: Apache-2.0
"""Content-based model."""

import numpy as np
import pytest

from homerec.errors import ConfigError
from homerec.models.content import ContentBased
from tests.models.conftest import COLD_ITEM, GROUP_A, GROUP_B
from tests.models.contract import PersonalizedContract



class TestContentBased(PersonalizedContract):
    def make(self):
        return ContentBased()


@pytest.mark.parametrize("popularity_weight", [0.0, 0.5, 1.0])
def test_cold_item_ranks_above_the_other_group(checkerboard, item_features, popularity_weight):
    model = ContentBased(popularity_weight=popularity_weight).fit(checkerboard, item_features)
    ranked = model.rank(None, GROUP_B + [COLD_ITEM], history=GROUP_A[:3])
    assert ranked[0].item_id == COLD_ITEM
    recs = model.recommend(None, k=3, history=GROUP_A)
    assert recs[0].item_id == COLD_ITEM


def test_cold_item_borrows_the_popularity_of_similar_items(checkerboard, item_features):
    model = ContentBased(popularity_weight=1.0).fit(checkerboard, item_features)
    cold = checkerboard.items.get(COLD_ITEM)
    known = np.asarray(checkerboard.to_csr().getnnz(axis=0) > 0)
    assert model.prior_[cold] == pytest.approx(np.median(model.prior_[known]))
    assert model.prior_[cold] > 1.0


def test_cold_item_has_similar_items(checkerboard, item_features):
    model = ContentBased().fit(checkerboard, item_features)
    assert {r.item_id for r in model.similar_items(COLD_ITEM, k=3)} <= set(GROUP_A)


def test_without_features_is_a_config_error(checkerboard):
    with pytest.raises(ConfigError, match="item metadata"):
        ContentBased().fit(checkerboard, None)


def test_with_empty_features_is_a_config_error(checkerboard, item_features):
    import scipy.sparse as sp

    from homerec.data.features import ItemFeatures

    empty = ItemFeatures(sp.csr_matrix((len(checkerboard.items), 0), dtype=np.float32), [], checkerboard.items)
    with pytest.raises(ConfigError):
        ContentBased().fit(checkerboard, empty)
