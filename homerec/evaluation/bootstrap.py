# SPDX-License-Identifier: Apache-2.0
"""Paired bootstrap over users: is one model's per-user metric better than another's beyond noise?"""

from dataclasses import dataclass

import numpy as np

N_RESAMPLES = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Difference:
    """Mean of a - b over users and its percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    n_users: int

    @property
    def better(self) -> bool:
        """a is better than b beyond the noise: the whole interval is above zero."""
        return self.low > 0.0

    @property
    def worse(self) -> bool:
        """a is worse than b beyond the noise: the whole interval is below zero."""
        return self.high < 0.0

    def to_json(self) -> dict:
        """Plain JSON types."""
        return {"mean": round(self.mean, 6), "low": round(self.low, 6), "high": round(self.high, 6),
                "n_users": self.n_users, "level": LEVEL}

    def __str__(self) -> str:
        return f"{self.mean:+.4f} (95% interval {self.low:+.4f} to {self.high:+.4f}, {self.n_users:,} users)"


def paired_difference(a: np.ndarray, b: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 0,
                      level: float = LEVEL) -> Difference:
    """Bootstrap the mean of a[u] - b[u] by resampling users with replacement (numpy seed `seed`).

    Args:
        a, b: one value per user (e.g. NDCG@10), the same users in the same order.
        n_resamples: bootstrap resamples.
        level: coverage of the percentile interval.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = len(d)
    if n == 0:
        return Difference(0.0, 0.0, 0.0, 0)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    step = max(1, 2_000_000 // n)  # resamples per block: ~16 MB of indices at a time
    for start in range(0, n_resamples, step):
        m = min(step, n_resamples - start)
        means[start : start + m] = d[rng.integers(0, n, size=(m, n))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Difference(float(d.mean()), float(low), float(high), n)
