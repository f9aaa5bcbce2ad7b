# SPDX-License-Identifier: Apache-2.0
"""Reports: the CLI table and the self-contained HTML page."""

from homerec.evaluation.evaluate import evaluate
from homerec.evaluation.report import format_table, popularity_bias, write_html
from homerec.evaluation.split import temporal_split
from homerec.models.popularity import Popularity, Trending
from tests.evaluation import random_data


def _result():
    split = temporal_split(random_data())
    fitters = {
        "popularity": lambda d, f: Popularity().fit(d, f),
        "trending-7d": lambda d, f: Trending(half_life_days=7.0).fit(d, f),
    }
    return evaluate(fitters, split, dataset="synthetic <data>")


def test_format_table():
    rows = format_table(_result())
    assert rows[0][:2] == ["model", "HR@10"]
    assert [r[0] for r in rows[1:]] == ["popularity", "trending-7d"]
    assert all(len(r) == len(rows[0]) for r in rows)


def test_popularity_bias_of_popularity_is_high():
    bias = popularity_bias(_result())
    assert bias["popularity"]["mean_percentile"] > 50


def test_write_html(tmp_path):
    path = write_html(_result(), tmp_path / "out" / "report.html")
    html = path.read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "popularity" in html and "trending-7d" in html
    assert "synthetic &lt;data&gt;" in html  # escaped
    assert "NDCG@10" in html
