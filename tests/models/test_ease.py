# SPDX-License-Identifier: Apache-2.0
"""EASE: the contract, and the stated restriction on large catalogs."""

import numpy as np

from homerec.models.ease import EASE
from tests.models.contract import PersonalizedContract


class TestEASE(PersonalizedContract):
    def make(self):
        return EASE(regularization=1.0)


def test_large_catalog_is_restricted_with_a_reason(checkerboard):
    model = EASE(regularization=1.0, max_items=4).fit(checkerboard)
    assert len(model.columns_) == 4
    assert "keeps the 4 most-bought" in model.restricted_reason_
    scores = model.score(np.array([0]), checkerboard.to_csr()[:1])
    assert np.isfinite(scores).sum() == 4
