# SPDX-License-Identifier: Apache-2.0
"""Row-wise score scaling shared by the popularity mix and the hybrid blend."""

import numpy as np


def scale_rows_inplace(s: np.ndarray) -> np.ndarray:
    """Min-max scale each row of float32 `s` in place over finite entries; returns the -inf mask.

    Masked entries are left at 0, so a weighted sum can add them without a second pass.
    """
    unscored = np.isneginf(s)
    hi = s.max(axis=1)
    np.copyto(s, np.inf, where=unscored)
    lo = s.min(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0).astype(np.float32)
    span = np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
    s -= lo[:, None]
    s *= (1.0 / span)[:, None]
    np.copyto(s, 0.0, where=unscored)
    return unscored


def normalize_scores(scores: np.ndarray) -> np.ndarray:
    """Min-max scale each row over its finite entries to [0, 1]; -inf entries become NaN."""
    s = np.array(scores, dtype=np.float32, copy=True)
    unscored = scale_rows_inplace(s)
    s[unscored] = np.nan
    return s
