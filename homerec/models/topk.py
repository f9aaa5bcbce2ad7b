# SPDX-License-Identifier: Apache-2.0
"""top_k: the only ranking code (argpartition, then a sort of the k winners)."""

import numpy as np
import scipy.sparse as sp


def mask_rows(scores: np.ndarray, exclude: sp.csr_matrix | None) -> None:
    """Set scores[r, c] = -inf in place for every stored entry (r, c) of `exclude`."""
    if exclude is None or exclude.nnz == 0:
        return
    rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
    scores[rows, exclude.indices] = -np.inf


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best entries of each row, best first.

    Args:
        scores: (b, n) or (n,) array; -inf marks entries that must never be returned.
        k: list length; entries scored -inf are returned as index -1 (so lists may be short).
    """
    one_row = scores.ndim == 1
    s = scores[None, :] if one_row else scores
    n = s.shape[1]
    k = max(0, min(k, n))
    if k == 0:
        empty = np.zeros((s.shape[0], 0))
        return (empty[0].astype(np.int64), empty[0]) if one_row else (empty.astype(np.int64), empty)
    part = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (s.shape[0], 1))
    if k < n:
        # Ties at the k-th score must go to the lower index, whatever argpartition picked.
        kth = np.take_along_axis(s, part, axis=1).min(axis=1)
        tied = np.flatnonzero(((s >= kth[:, None]).sum(axis=1) > k) & np.isfinite(kth))
        if len(tied):
            part[tied] = _lowest_index_top_k(s[tied], k)
    order = np.lexsort((part, -np.take_along_axis(s, part, axis=1)), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(s, idx, axis=1)
    idx = np.where(np.isneginf(vals), -1, idx)
    return (idx[0], vals[0]) if one_row else (idx, vals)


def _lowest_index_top_k(s: np.ndarray, k: int) -> np.ndarray:
    """Top-k per row with ties broken by lower index (a nudge far below float32 resolution)."""
    key = s.astype(np.float64)
    key -= np.arange(s.shape[1]) * (1e-13 * (1.0 + np.abs(np.nan_to_num(key, neginf=0.0, posinf=0.0))))
    return np.argpartition(-key, k - 1, axis=1)[:, :k]
