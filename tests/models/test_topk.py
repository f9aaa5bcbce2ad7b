# SPDX-License-Identifier: Apache-2.0
"""top_k and mask_rows."""

import numpy as np
import scipy.sparse as sp

from homerec.models.topk import mask_rows, top_k


def test_top_k_orders_best_first_and_breaks_ties_by_lower_index():
    s = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0, 5.0]], dtype=np.float32)
    idx, vals = top_k(s, 3)
    assert idx.tolist() == [[1, 2, 4], [0, 1, 2]]
    assert vals[0].tolist() == [3.0, 3.0, 3.0]


def test_top_k_marks_excluded_entries_with_minus_one():
    s = np.array([0.5, -np.inf, 0.1, -np.inf], dtype=np.float32)
    idx, vals = top_k(s, 4)
    assert idx.tolist() == [0, 2, -1, -1]


def test_top_k_keeps_close_but_distinct_scores_in_order(rng):
    s = rng.random((50, 300)).astype(np.float32)
    idx, vals = top_k(s, 10)
    expected = np.argsort(-s, axis=1, kind="stable")[:, :10]
    assert (idx == expected).all()


def test_mask_rows_sets_excluded_pairs_to_minus_inf():
    s = np.zeros((2, 3), dtype=np.float32)
    mask_rows(s, sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1]])))
    assert np.isneginf(s).tolist() == [[False, True, False], [True, False, True]]
