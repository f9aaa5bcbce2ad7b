# SPDX-License-Identifier: Apache-2.0
"""Type aliases and the one result record every model returns."""

from collections.abc import Mapping
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
    relative: float | None = None
    """The score on AWS Personalize's relative [0, 1] scale (`homerec.models.relative`), when asked for;
    None for items of the popularity fallback, which carry no relevance score."""
    promotion: str | None = None
    """The name of the promotion that placed the item (Personalize `promotionName`)."""
    metadata: Mapping[str, str] | None = None
    """Item metadata columns asked for (Personalize `metadataColumns`)."""
    quantity: float | None = None
    """For a re-order, the suggested quantity (units; None when there is none)."""
    exploration: bool = False
    """Placed by exploration (a young product with few interactions; Personalize reason `Exploration`)."""
