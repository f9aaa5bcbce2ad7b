# SPDX-License-Identifier: Apache-2.0
"""ALS: the contract, and fold-in agreeing with the learned vectors."""

import numpy as np

from homerec.models.als import ALS
from tests.models.contract import PersonalizedContract


class TestALS(PersonalizedContract):
    def make(self):
        return ALS(factors=4, iterations=15, regularization=1.0, alpha=5.0)


def test_fold_in_of_a_training_row_is_close_to_the_learned_vector(checkerboard):
    model = ALS(factors=8, iterations=15, alpha=5.0).fit(checkerboard)
    X = checkerboard.to_csr()
    folded = model.fold_in(X[:5])
    learned = model.user_factors_[:5]
    cos = (folded * learned).sum(1) / (np.linalg.norm(folded, axis=1) * np.linalg.norm(learned, axis=1))
    assert (cos > 0.99).all()
