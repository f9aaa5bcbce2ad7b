# SPDX-License-Identifier: Apache-2.0
"""Attribution rules on small hand-written logs, one rule per test."""

import polars as pl
import pytest

from homerec.errors import InputError
from homerec.experiments.attribution import attribute
from tests.experiments import T0, event_frame, exposure_frame

H = 3600


def _exposures():
    return exposure_frame([
        ("r1", "A", "u1", ["i1", "i2"], T0, True),
        ("r2", "A", "u1", ["i2", "i3"], T0 + 100, True),
        ("r3", "B", "u2", ["i1", "i4"], T0, True),
        ("s3", "A", "u2", ["i5", "i6"], T0, False),  # shadow: computed for u2, never shown
        ("r4", "A", "u9", ["i1"], T0, True),  # u9 was served both variants
        ("r5", "B", "u9", ["i1"], T0 + 10, True),
        ("s9", "B", "u8", ["i1"], T0, False),  # u8 has only a shadow exposure
    ])


def _by_id(att) -> dict[str, dict]:
    return {r["event_id"]: r for r in att.events.iter_rows(named=True)}


def test_echoed_recommendation_id_wins_whatever_the_item_and_time():
    ev = event_frame([("e1", "u1", "i9", T0 + 30 * 24 * H, "click", None, "r1")])
    got = _by_id(attribute(_exposures(), ev))["e1"]
    assert (got["recommendation_id"], got["attribution"], got["variant"]) == ("r1", "direct", "A")


def test_window_picks_the_latest_exposure_with_the_item():
    ev = event_frame([
        ("e1", "u1", "i2", T0 + 200, "click", None, None),  # in r1 and r2: the later r2
        ("e2", "u1", "i1", T0 + 200, "click", None, None),  # only in r1
        ("e3", "u1", "i2", T0 + 100, "click", None, "unknown-id"),  # same second as r2: inclusive
        ("e4", "u1", "i1", T0 - 1, "click", None, None),  # before any exposure
        ("e5", "u1", "i4", T0 + 200, "click", None, None),  # i4 was shown to u2, not u1
    ])
    got = _by_id(attribute(_exposures(), ev))
    assert {e: (r["recommendation_id"], r["attribution"]) for e, r in got.items()} == {
        "e1": ("r2", "window"), "e2": ("r1", "window"), "e3": ("r2", "window"),
        "e4": (None, None), "e5": (None, None)}


def test_window_length_is_inclusive_and_configurable():
    ev = event_frame([("e1", "u2", "i4", T0 + 24 * H, "click", None, None),
                      ("e2", "u2", "i1", T0 + 24 * H + 1, "click", None, None)])
    got = _by_id(attribute(_exposures(), ev))
    assert got["e1"]["recommendation_id"] == "r3" and got["e2"]["recommendation_id"] is None
    got = _by_id(attribute(_exposures(), ev, window_s=48 * H))
    assert got["e2"]["recommendation_id"] == "r3"


def test_shadow_exposures_count_for_nothing():
    ev = event_frame([("e1", "u2", "i5", T0 + 10, "click", None, "s3"),
                      ("e2", "u8", "i1", T0 + 10, "purchase", 5.0, None)])
    att = attribute(_exposures(), ev)
    assert "s3" not in att.exposures["recommendation_id"].to_list()
    assert _by_id(att)["e1"]["recommendation_id"] is None  # i5 was never shown to u2
    assert _by_id(att)["e1"]["variant"] == "B"  # u2's served variant, not the shadow's
    assert "u8" not in att.users["user_id"].to_list() and "e2" not in _by_id(att)
    assert dict(att.shadow.iter_rows()) == {"A": 1, "B": 1}
    assigned = dict(att.users.select("user_id", "assigned").iter_rows())
    assert assigned == {"u1": "A", "u2": "A"}  # u2 is served B but assigned A (shadow mode)


def test_a_user_served_two_variants_is_reported_and_left_out():
    ev = event_frame([("e1", "u9", "i1", T0 + 20, "click", None, "r4"),
                      ("e2", "u9", "i1", T0 + 20, "purchase", 9.0, None)])
    att = attribute(_exposures(), ev)
    assert att.conflicting_users == ["u9"]
    assert "u9" not in att.users["user_id"].to_list()
    assert not {"r4", "r5"} & set(att.exposures["recommendation_id"])
    assert att.events.is_empty()


def test_clicks_per_exposure_and_duplicate_event_ids():
    ev = event_frame([("e1", "u1", "i2", T0 + 200, "click", None, None),
                      ("e1", "u1", "i2", T0 + 200, "click", None, None),  # the same event sent twice
                      ("e2", "u1", "i3", T0 + 300, "click", None, None),
                      ("e3", "u1", "i1", T0 + 300, "view", None, "r1")])  # not a click type
    att = attribute(_exposures(), ev)
    clicks = dict(att.exposures.select("recommendation_id", "clicks").iter_rows())
    assert clicks == {"r1": 0, "r2": 2, "r3": 0}
    assert att.exposures.filter(pl.col("clicked"))["recommendation_id"].to_list() == ["r2"]
    assert att.users.filter(pl.col("user_id") == "u1")["clicks"].item() == 2


def test_any_purchase_after_the_first_exposure_converts_the_user():
    ev = event_frame([
        ("e1", "u1", "i77", T0 + 5 * 24 * H, "purchase", 30.0, None),  # never recommended: user level only
        ("e2", "u1", "i2", T0 + 150, "purchase", 12.5, None),  # recommended in r2: attributed too
        ("e3", "u1", "i1", T0 - 10, "purchase", 99.0, None),  # before the first exposure
        ("e4", "u2", "i8", T0 + 10, "purchase", None, None),  # no value: converts, no revenue
        ("e5", "x1", "i1", T0 + 10, "purchase", 7.0, None),  # not in the experiment
    ])
    att = attribute(_exposures(), ev)
    users = {r["user_id"]: r for r in att.users.iter_rows(named=True)}
    assert set(users) == {"u1", "u2"}
    assert (users["u1"]["purchases"], users["u1"]["revenue"], users["u1"]["converted"]) == (2, 42.5, True)
    assert (users["u2"]["purchases"], users["u2"]["revenue"], users["u2"]["converted"]) == (1, 0.0, True)
    assert (users["u1"]["variant"], users["u1"]["first_ts"], users["u1"]["exposures"]) == ("A", T0, 2)
    got = _by_id(att)
    assert got["e2"]["recommendation_id"] == "r2" and got["e1"]["recommendation_id"] is None
    assert "e5" not in got


def test_custom_event_types_and_a_log_without_recommendation_ids():
    ev = event_frame([("e1", "u1", "i1", T0 + 10, "view", None, None),
                      ("e2", "u1", "i3", T0 + 500, "order", 4.0, None)]).drop("recommendation_id")
    att = attribute(_exposures(), ev, click_types=("view", "click"), purchase_types=("order",))
    got = _by_id(att)
    assert (got["e1"]["kind"], got["e1"]["recommendation_id"]) == ("click", "r1")
    assert (got["e2"]["kind"], got["e2"]["recommendation_id"]) == ("purchase", "r2")
    with pytest.raises(InputError, match="both clicks and purchases"):
        attribute(_exposures(), ev, click_types=("order",), purchase_types=("order",))


def test_no_exposures_and_no_events():
    att = attribute(_exposures().clear(), event_frame([]))
    assert att.users.is_empty() and att.events.is_empty() and att.exposures.is_empty()
