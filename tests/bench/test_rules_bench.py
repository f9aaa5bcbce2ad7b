# SPDX-License-Identifier: Apache-2.0
"""bench.rules: the section reports every configuration beside the plain peer, and the peer ratios."""

from bench.rules import rules_markdown


def _row(ndcg: float, p50: float) -> dict:
    return {"ndcg@10": ndcg, "hr@10": 0.5, "coverage": 0.4, "top10_share": 0.2, "categories_per_list": 8.0,
            "short_lists": 0, "p50_ms": p50, "p99_ms": 3 * p50, "ndcg_vs_plain": ndcg / 0.25, "p50_vs_plain": p50 / 2.0}


def test_the_section_lists_each_configuration_with_its_ratio_to_plain():
    doc = {"command": "python -m bench.rules", "scale": 0.02, "users": 400, "items": 4000, "test_days": 28,
           "boosted_brand": "Acme", "results": {"plain": _row(0.25, 2.0), "cap 2": _row(0.2, 3.0)}}
    text = rules_markdown(doc)
    assert "`python -m bench.rules --scale 0.02 --users 400`" in text and "brand Acme" in text
    assert "| plain | 0.2500 | 1.000× |" in text and "| cap 2 | 0.2000 | 0.800× |" in text and "| 1.50× |" in text
