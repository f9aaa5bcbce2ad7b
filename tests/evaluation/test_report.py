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


def test_the_hybrid_blend_gets_its_accuracy_breadth_curve(tmp_path):
    from homerec.evaluation.blend import fit_tuned_hybrid

    split = temporal_split(random_data(n_users=120, n_items=40, n_events=3000, seed=2))
    fitters = {"hybrid": lambda d, f: fit_tuned_hybrid(d, f, parts=["popularity", "item_knn", "ease"])}
    result = evaluate(fitters, split, dataset="blend")
    blend = result.to_json()["models"]["hybrid"]["blend"]
    assert blend["curve"] and blend["decision"]["reason"] and "reference_coverage" in blend["breadth"]
    html = write_html(result, tmp_path / "r.html").read_text()
    assert "Accuracy and breadth: the hybrid blend" in html and "blend_max_item_share" in html
    assert html.count("data:image/png;base64,") == 5  # the four plots and the trade-off curve
    assert "TopShare@10" in html and "Novelty@10" in html
