# SPDX-License-Identifier: Apache-2.0
"""Attribute clicks and purchases to the exposures and variants that produced them.

Rules, applied to the exposures of one experiment and the event log:

1. Only events whose ``event_type`` is in ``click_types`` or ``purchase_types`` count; an event id
   seen twice counts once (the first row).
2. A user's variant is the variant of their *served* exposures. Shadow exposures
   (``served == False``: computed and logged but not shown) never attribute anything and never
   decide a variant. A user with served exposures in two variants (assignment should make that
   impossible) is listed in ``conflicting_users`` and left out of everything. A user's
   *assigned* variant (for the sample-ratio check) is the variant of their shadow exposures if
   they have any (shadow mode serves everyone the control), else their variant.
3. Direct: an event whose ``recommendation_id`` (echoed back by the client) is the id of a
   served exposure is attributed to that exposure, whatever its item or time.
4. Window: any other click or purchase of an item that was in one of the same user's served
   exposures in the ``window_s`` seconds up to the event (inclusive) is attributed to the latest
   such exposure.
5. User level: every purchase by an experiment user at or after their first served exposure
   counts for that user's conversion and revenue (``event_value``, missing values as 0), whether
   or not it was attributed to an exposure.

Everything is vectorised polars (hash joins and one ``join_asof`` over the exploded lists, first
cut down to the (user, item) pairs that have unattributed events), so a million exposures take
seconds.
"""

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from homerec.data.schema import Col
from homerec.errors import InputError

RECOMMENDATION_ID = Col.recommendation_id
EXPERIMENT = Col.experiment
VARIANT = Col.variant
SERVED = Col.served
ITEMS = Col.ranked

# Columns this module adds.
KIND = "kind"
ATTRIBUTION = "attribution"
FIRST_TS = "first_ts"
ASSIGNED = "assigned"
CLICK, PURCHASE = "click", "purchase"
DIRECT, WINDOW = "direct", "window"

DEFAULT_CLICK_TYPES = ("click",)
DEFAULT_PURCHASE_TYPES = ("purchase",)
DEFAULT_WINDOW_S = 24 * 3600

_EXP_VARIANT, _EXP_TS, _USER_VARIANT = "_exposure_variant", "_exposure_ts", "_user_variant"
_DIRECT, _WINDOW = "_direct", "_window"


@dataclass(frozen=True)
class Attribution:
    """The attributed logs of one experiment.

    Attributes:
        exposures: served exposures of non-conflicting users, plus ``clicks`` (attributed click
            events) and ``clicked`` (at least one).
        events: click and purchase events of experiment users or of their exposures, plus
            ``kind`` (click/purchase), ``recommendation_id`` (the exposure it is attributed to,
            null if none; replaces the echoed id), ``attribution`` (direct/window/null) and
            ``variant``.
        users: one row per non-conflicting user: ``variant``, ``assigned``, ``first_ts`` (first
            served exposure), ``exposures``, ``clicks``, ``purchases`` and ``revenue`` (at or
            after ``first_ts``) and ``converted``.
        shadow: ``variant`` and ``shadow_exposures`` (rows with ``served == False``).
        conflicting_users: sorted ids of users served more than one variant.
    """

    exposures: pl.DataFrame
    events: pl.DataFrame
    users: pl.DataFrame
    shadow: pl.DataFrame
    conflicting_users: list[str]


def attribute(exposures: pl.DataFrame, events: pl.DataFrame, *,
              click_types: Collection[str] = DEFAULT_CLICK_TYPES,
              purchase_types: Collection[str] = DEFAULT_PURCHASE_TYPES,
              window_s: int = DEFAULT_WINDOW_S) -> Attribution:
    """Attribute ``events`` to ``exposures`` of one experiment by the rules of this module."""
    clicks, purchases = set(click_types), set(purchase_types)
    if clicks & purchases:
        raise InputError(f"event types cannot be both clicks and purchases: {sorted(clicks & purchases)}")
    if window_s < 0:
        raise InputError(f"the attribution window must be >= 0 seconds, got {window_s}")
    served = exposures.filter(pl.col(SERVED))
    shadow = (exposures.filter(~pl.col(SERVED)).group_by(VARIANT, maintain_order=True)
              .agg(pl.len().alias("shadow_exposures")))
    per_user = served.group_by(Col.user_id).agg(
        pl.col(VARIANT).n_unique().alias("_n"), pl.col(VARIANT).first(), pl.col(Col.ts).min().alias(FIRST_TS))
    conflicting = per_user.filter(pl.col("_n") > 1)[Col.user_id].sort().to_list()
    shadow_of = (exposures.filter(~pl.col(SERVED)).group_by(Col.user_id)
                 .agg(pl.col(VARIANT).sort().first().alias(ASSIGNED)))
    users = (per_user.filter(pl.col("_n") == 1).drop("_n").join(shadow_of, on=Col.user_id, how="left")
             .with_columns(pl.coalesce(ASSIGNED, VARIANT).alias(ASSIGNED)))
    if conflicting:
        served = served.join(users.select(Col.user_id), on=Col.user_id, how="semi")

    ev = _attribute_events(_relevant_events(events, clicks, purchases), served, users, window_s)
    attributed_clicks = (ev.filter((pl.col(KIND) == CLICK) & pl.col(RECOMMENDATION_ID).is_not_null())
                         .group_by(RECOMMENDATION_ID).agg(pl.len().alias("clicks")))
    served = (served.join(attributed_clicks, on=RECOMMENDATION_ID, how="left")
              .with_columns(pl.col("clicks").fill_null(0).cast(pl.Int64))
              .with_columns(clicked=pl.col("clicks") > 0))
    return Attribution(exposures=served, events=ev.drop(_USER_VARIANT), users=_users(users, served, ev),
                       shadow=shadow, conflicting_users=conflicting)


def _relevant_events(events: pl.DataFrame, clicks: set[str], purchases: set[str]) -> pl.DataFrame:
    """Click and purchase events, one row per event id, with ``kind`` and a recommendation id column."""
    if RECOMMENDATION_ID not in events.columns:
        events = events.with_columns(pl.lit(None, dtype=pl.String).alias(RECOMMENDATION_ID))
    ev = events.filter(pl.col(Col.event_type).is_in(sorted(clicks | purchases)))
    return (ev.unique(subset=Col.event_id, keep="first", maintain_order=True)
            .with_columns(pl.when(pl.col(Col.event_type).is_in(sorted(clicks))).then(pl.lit(CLICK))
                          .otherwise(pl.lit(PURCHASE)).alias(KIND)))


def _attribute_events(ev: pl.DataFrame, served: pl.DataFrame, users: pl.DataFrame, window_s: int) -> pl.DataFrame:
    """Add the attributed exposure, how it was found and the variant; drop unrelated events."""
    direct = served.select(pl.col(RECOMMENDATION_ID).alias(_DIRECT), pl.col(VARIANT).alias(_EXP_VARIANT))
    ev = (ev.join(direct, left_on=RECOMMENDATION_ID, right_on=_DIRECT, how="left", coalesce=False)
          .join(users.select(Col.user_id, pl.col(VARIANT).alias(_USER_VARIANT)), on=Col.user_id, how="left")
          .filter(pl.col(_DIRECT).is_not_null() | pl.col(_USER_VARIANT).is_not_null()))

    pending = ev.filter(pl.col(_DIRECT).is_null()).select(Col.event_id, Col.user_id, Col.item_id, Col.ts)
    shown = (served.select(RECOMMENDATION_ID, Col.user_id, pl.col(ITEMS).alias(Col.item_id),
                           pl.col(Col.ts).alias(_EXP_TS))
             .explode(Col.item_id)
             .join(pending.select(Col.user_id, Col.item_id).unique(), on=[Col.user_id, Col.item_id], how="semi")
             .sort(_EXP_TS))
    window = (pending.sort(Col.ts)
              .join_asof(shown, left_on=Col.ts, right_on=_EXP_TS, by=[Col.user_id, Col.item_id],
                         strategy="backward", tolerance=window_s, check_sortedness=False)
              .select(Col.event_id, pl.col(RECOMMENDATION_ID).alias(_WINDOW))
              .filter(pl.col(_WINDOW).is_not_null()))
    ev = ev.join(window, on=Col.event_id, how="left")
    return ev.with_columns(
        pl.coalesce(_DIRECT, _WINDOW).alias(RECOMMENDATION_ID),
        pl.when(pl.col(_DIRECT).is_not_null()).then(pl.lit(DIRECT))
        .when(pl.col(_WINDOW).is_not_null()).then(pl.lit(WINDOW)).alias(ATTRIBUTION),
        pl.coalesce(_EXP_VARIANT, _USER_VARIANT).alias(VARIANT),
    ).drop(_DIRECT, _WINDOW, _EXP_VARIANT)


def _users(users: pl.DataFrame, served: pl.DataFrame, ev: pl.DataFrame) -> pl.DataFrame:
    """Per user: exposures and attributed clicks, and purchases and revenue since the first exposure."""
    shown = served.group_by(Col.user_id).agg(pl.len().alias("exposures"), pl.col("clicks").sum())
    bought = (ev.filter((pl.col(KIND) == PURCHASE) & pl.col(_USER_VARIANT).is_not_null())
              .join(users.select(Col.user_id, FIRST_TS), on=Col.user_id)
              .filter(pl.col(Col.ts) >= pl.col(FIRST_TS))
              .group_by(Col.user_id)
              .agg(pl.len().alias("purchases"), pl.col(Col.event_value).fill_null(0.0).sum().alias("revenue")))
    return (users.join(shown, on=Col.user_id, how="left").join(bought, on=Col.user_id, how="left")
            .with_columns(pl.col("exposures", "clicks", "purchases").fill_null(0).cast(pl.Int64),
                          pl.col("revenue").fill_null(0.0).cast(pl.Float64))
            .with_columns(converted=pl.col("purchases") > 0))
