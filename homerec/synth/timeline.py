# SPDX-License-Identifier: Apache-2.0
"""The fixed two-year window of the synthetic data and its month buckets."""

from datetime import UTC, datetime

import numpy as np

START_TS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
"""First second of the window (2024-01-01T00:00:00Z)."""
END_TS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) - 1
"""Last second of the window (2025-12-31T23:59:59Z)."""
DAY = 86_400
N_DAYS = (END_TS + 1 - START_TS) // DAY
MONTH_STARTS = np.array(
    [int(datetime(2024 + m // 12, 1 + m % 12, 1, tzinfo=UTC).timestamp()) for m in range(24)], dtype=np.int64
)
"""Epoch second at which each of the 24 months of the window starts."""
N_MONTHS = len(MONTH_STARTS)


def month_of(ts: np.ndarray) -> np.ndarray:
    """Month bucket (0..23) of each timestamp, clipped to the window."""
    return np.clip(np.searchsorted(MONTH_STARTS, ts, side="right") - 1, 0, N_MONTHS - 1)
