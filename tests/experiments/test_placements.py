# SPDX-License-Identifier: Apache-2.0
"""CTR, conversion and revenue per placement: hand-made exposures and events with known answers."""

import polars as pl

from homerec.data.schema import Col
from homerec.experiments.placements import placement_report
from homerec.experiments.report import experiment_report
from homerec.experiments.report_html import render_html
from tests.contracts import exposures

EVENTS_SCHEMA = {Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64, Col.event_type: pl.String,
                 Col.event_value: pl.Float64, Col.event_id: pl.String, Col.recommendation_id: pl.String}


def events(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=EVENTS_SCHEMA, orient="row")


LOG = exposures(
    ("r1", "", "", "u1", ["a", "b"], 100, True, "home"),
    ("r2", "", "", "u2", ["a", "c"], 100, True, "home"),
    ("r3", "", "", "u1", ["d"], 100, True, "cart"),
    ("r4", "exp", "control", "u3", ["a"], 100, True, None),
)
EVENTS = events(
    ("u1", "a", 110, "click", None, "e1", "r1"),      # direct
    ("u1", "b", 120, "purchase", 30.0, "e2", None),   # window: b was in r1
    ("u2", "z", 130, "purchase", 99.0, "e3", None),   # not shown: no placement's
    ("u1", "d", 140, "click", None, "e4", None),      # window: d was in r3
    ("u1", "d", 150, "purchase", None, "e5", "r3"),   # direct, no value
)


def test_per_placement_metrics():
    rows = {r[Col.placement]: r for r in placement_report(LOG, EVENTS)}
    assert set(rows) == {"home", "cart"}  # exposures outside placements are not reported
    home, cart = rows["home"], rows["cart"]
    assert (home["exposures"], home["users"], home["clicks"], home["purchases"]) == (2, 2, 1, 1)
    assert (home["ctr"], home["conversion"], home["revenue"], home["revenue_per_exposure"]) == (0.5, 0.5, 30.0, 15.0)
    assert (cart["exposures"], cart["clicks"], cart["ctr"], cart["purchases"], cart["revenue"]) == (1, 1, 1.0, 1, 0.0)


def test_the_experiment_report_splits_variants_by_placement():
    log = exposures(
        ("r1", "exp", "a", "u1", ["x"], 100, True, "home"),
        ("r2", "exp", "a", "u1", ["y"], 100, True, "cart"),
        ("r3", "exp", "b", "u2", ["x"], 100, True, "home"),
    )
    ev = events(("u1", "x", 110, "click", None, "e1", "r1"), ("u2", "x", 120, "purchase", 5.0, "e2", "r3"))
    report = experiment_report("exp", log, ev, {"a": 0.5, "b": 0.5}, "a")
    got = {(p["variant"], p[Col.placement]): (p["exposures"], p["ctr"], p["conversion"], p["revenue"])
           for p in report["placements"]}
    assert got == {("a", "cart"): (1, 0.0, 0.0, 0.0), ("a", "home"): (1, 1.0, 0.0, 0.0), ("b", "home"): (1, 0.0, 1.0, 5.0)}
    assert any(line.startswith("b on placement home: 1 lists, CTR 0.00%, conversion 100.00%, revenue 5.00")
               for line in report["summary"])
    html = render_html(report)
    assert '<table id="placements">' in html and "<td>cart</td>" in html


def test_an_experiment_without_placements_has_no_placement_table():
    log = exposures(("r1", "exp", "a", "u1", ["x"], 100, True), ("r2", "exp", "b", "u2", ["x"], 100, True))
    report = experiment_report("exp", log, events(), {"a": 0.5, "b": 0.5}, "a")
    assert report["placements"] == [] and "Placements" not in render_html(report)
