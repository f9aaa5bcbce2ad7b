# SPDX-License-Identifier: Apache-2.0
"""EASE: the contract, dense and sparse (large catalogues), and the stated reason."""

import numpy as np
import scipy.sparse as sp

from homerec.models.ease import EASE
from tests.models.conftest import held_out
from tests.models.contract import PersonalizedContract


class TestEASE(PersonalizedContract):
    def make(self):
        return EASE(regularization=1.0)


class TestSparseEASE(PersonalizedContract):
    """Past max_items the sparse, co-purchase-pruned EASE runs and must pass the same contract."""

    def make(self):
        return EASE(regularization=1.0, max_items=4, neighbours=3)


def test_large_catalog_goes_sparse_with_a_reason(checkerboard):
    model = EASE(regularization=1.0, max_items=4, neighbours=3).fit(checkerboard)
    assert sp.issparse(model.B_) and "3 most co-purchased" in model.restricted_reason_
    assert np.diff(model.B_.tocsc().indptr).max() <= 3  # each item's regression uses at most 3 items
    row = checkerboard.to_csr()[:1]
    scores = model.score(np.array([0]), row)
    group = row.indices
    others = np.setdiff1d(np.flatnonzero(np.isfinite(scores[0])), group)
    best = others[np.argmax(scores[0][others])]
    assert model.items_.to_ids([best])[0] == held_out(model.users_.to_ids([0])[0])
