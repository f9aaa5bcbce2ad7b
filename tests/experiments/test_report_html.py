# SPDX-License-Identifier: Apache-2.0
"""The HTML page: variants, plots, and the SRM warning at the top when there is one."""

import json

import polars as pl

from homerec.experiments.report import experiment_report
from homerec.experiments.report_html import render_html, write_html
from tests.experiments import simulate

SHARES = {"control": 0.5, "candidate": 0.5}
SAME = {"control": (0.05, 0.1, 30.0), "candidate": (0.05, 0.1, 30.0)}


def test_html_shows_variants_plots_and_the_srm_warning_first(tmp_path):
    exposures, events = simulate(SAME, 4000, split={"control": 0.6, "candidate": 0.4}, shadow=True)
    report = experiment_report("exp <1>", exposures.with_columns(experiment=pl.lit("exp <1>")), events, SHARES, "control")
    assert report["srm"]["mismatch"]
    html = write_html(json.loads(json.dumps(report)), tmp_path / "out" / "exp.html").read_text()
    assert html.index('class="srm"') < html.index("<h1>")
    assert "SAMPLE RATIO MISMATCH" in html and html.count("SAMPLE RATIO MISMATCH") == 1
    assert html.count("data:image/png;base64,") == 2
    assert "<td>control</td>" in html and "<td>candidate</td>" in html
    assert "exp &lt;1&gt;" in html and "exp <1>" not in html


def test_html_without_mismatch_has_no_warning():
    exposures, events = simulate(SAME, 2000, seed=4)
    html = render_html(experiment_report("exp", exposures, events, SHARES, "control"), title="My test")
    assert 'class="srm"' not in html and "<title>My test</title>" in html
    assert "conversion rate" in html and "revenue per user" in html


def test_html_of_an_experiment_without_exposures():
    exposures, events = simulate(SAME, 10)
    html = render_html(experiment_report("none", exposures, events, SHARES, "control"))
    assert "no served exposures yet" in html and "No served exposures yet." in html
    assert html.count("data:image/png;base64,") == 1
