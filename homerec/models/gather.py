# SPDX-License-Identifier: Apache-2.0
"""`weighted_rows`: one history row times a CSR matrix, with numpy alone (the one-user kernels' core).

`history_row @ M` for a single row is, in scipy, a sparse × sparse product with a fixed cost
of tens of microseconds per call. The same sum is a gather of the rows of `M` the history
names (their slices of `M.indices` and `M.data`, found from `M.indptr`) and one `bincount`:
a few microseconds for a typical history. Sums are accumulated in float64 and returned as
float32, so results agree with scipy's float32 products to float32 precision.
"""

import numpy as np
import scipy.sparse as sp


def weighted_rows(M: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray, width: int | None = None) -> np.ndarray:
    """`sum_r weights[r] * M[rows[r]]` as a dense float32 vector of length `width` (default: M's columns)."""
    width = M.shape[1] if width is None else width
    if len(rows) == 0:
        return np.zeros(width, dtype=np.float32)
    starts = M.indptr[rows]
    lengths = M.indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(width, dtype=np.float32)
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
    values = M.data[offsets].astype(np.float64) * np.repeat(np.asarray(weights, dtype=np.float64), lengths)
    return np.bincount(M.indices[offsets], weights=values, minlength=width).astype(np.float32)
