# SPDX-License-Identifier: Apache-2.0
"""CTR, conversion and revenue per placement, from the exposure log and the attributed events.

Exposures served for a placement carry its name (`placement`; null for lists served
elsewhere). Clicks and purchases are attributed to exposures by the rules of
`homerec.experiments.attribution` (the echoed recommendation id, else the latest exposure of
the same item to the same user within the window). Per placement (and per variant, inside an
experiment's report):

- `exposures`, `users`: served lists and the distinct users they went to;
- `clicks`, `ctr`: attributed clicks, and the share of lists with at least one;
- `purchases`, `conversion`: attributed purchases, and the share of lists followed by one;
- `revenue`, `revenue_per_exposure`: the `event_value` sum of attributed purchases (missing: 0).
"""

from collections.abc import Collection, Sequence

import polars as pl

from homerec.data.schema import Col
from homerec.experiments.attribution import (
    DEFAULT_CLICK_TYPES,
    DEFAULT_PURCHASE_TYPES,
    DEFAULT_WINDOW_S,
    KIND,
    PURCHASE,
    RECOMMENDATION_ID,
    Attribution,
    attribute,
)

ALL = "all"
"""The one variant placements are attributed under outside an experiment (so no user is conflicting)."""


def placement_rows(att: Attribution, keys: Sequence[str] = (Col.placement,)) -> list[dict]:
    """One dict per value of `keys` (placement, or variant and placement) over the attributed exposures."""
    bought = (att.events.filter((pl.col(KIND) == PURCHASE) & pl.col(RECOMMENDATION_ID).is_not_null())
              .group_by(RECOMMENDATION_ID)
              .agg(pl.len().alias("purchases"), pl.col(Col.event_value).fill_null(0.0).sum().alias("revenue")))
    served = (att.exposures.join(bought, on=RECOMMENDATION_ID, how="left")
              .with_columns(pl.col("purchases").fill_null(0), pl.col("revenue").fill_null(0.0)))
    table = (served.group_by(list(keys))
             .agg(pl.len().alias("exposures"), pl.col(Col.user_id).n_unique().alias("users"),
                  pl.col("clicks").sum(), pl.col("clicked").mean().alias("ctr"),
                  pl.col("purchases").sum(), (pl.col("purchases") > 0).mean().alias("conversion"),
                  pl.col("revenue").sum())
             .with_columns((pl.col("revenue") / pl.col("exposures")).alias("revenue_per_exposure"))
             .sort(list(keys), nulls_last=True))
    return table.to_dicts()


def placement_report(exposures: pl.DataFrame, events: pl.DataFrame, *,
                     click_types: Collection[str] = DEFAULT_CLICK_TYPES,
                     purchase_types: Collection[str] = DEFAULT_PURCHASE_TYPES,
                     window_s: int = DEFAULT_WINDOW_S) -> list[dict]:
    """Per placement metrics over placement exposures (`Store.placement_exposures`) and attributable events."""
    placed = exposures.filter(pl.col(Col.placement).is_not_null()).with_columns(pl.lit(ALL).alias(Col.variant))
    att = attribute(placed, events, click_types=click_types, purchase_types=purchase_types, window_s=window_s)
    return placement_rows(att)
