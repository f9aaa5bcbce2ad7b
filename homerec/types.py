# SPDX-License-Identifier: Apache-2.0
"""Type aliases and the one result record every model returns."""

from dataclasses import dataclass

UserId = str
"""An external user id, as the customer's systems spell it."""
ItemId = str
"""An external item id."""
UserIdx = int
"""A dense internal user index (position in an IdMap)."""
ItemIdx = int
"""A dense internal item index."""
Scored = tuple[ItemId, float]
"""An item id with a raw score."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommended item: raw score, calibrated 0-10 score, why it was chosen, and for a
    re-order the suggested quantity (units; None when there is none)."""

    item_id: ItemId
    score: float
    score10: float
    reason: str
    quantity: float | None = None
