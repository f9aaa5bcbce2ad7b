# SPDX-License-Identifier: Apache-2.0
"""bench/exploration.py's section: each variant beside the control, the cost and the benefit stated."""

from bench.exploration import exploration_section


def _variant(ctr: float, young_clicks: int, explored: int) -> dict:
    return {"lists": 100, "shown": 1000, "clicks": int(ctr * 1000), "purchases": 10, "revenue": 50.0, "ctr": ctr,
            "expected_ctr": ctr, "purchases_per_list": 0.1, "revenue_per_list": 0.5, "young_share": explored / 1000,
            "young_clicks": young_clicks, "distinct_young_shown": 5, "explored": explored, "explored_clicks": 3,
            "errors": 0, "seconds": 1.0}


def test_the_section_puts_each_variant_beside_the_control():
    doc = {"meta": {"command": "python -m bench.exploration --scale 0.2", "seconds": 600, "machine": "2 CPUs",
                    "scale": 0.2, "products": 836, "young_products": 20, "cutoff_days": 180, "weight": 0.3},
           "phases": {"serve": {"control": _variant(0.05, 2, 0), "explore": _variant(0.04, 10, 300)},
                      "after_retrain": {"control": _variant(0.05, 4, 0), "explore": _variant(0.05, 12, 290)}}}
    text = exploration_section(doc)
    assert "| serve | control | 100 | 5.00 % |" in text and "| serve | explore | 100 | 4.00 % |" in text
    assert "CTR 0.80× the control's" in text and "5.0× the control's clicks while serving" in text
    assert "3.0× after retraining" in text and "python -m bench.exploration --scale 0.2" in text
    assert "Not shown by this run: a lasting benefit" in text  # no more young products listed by the model itself
