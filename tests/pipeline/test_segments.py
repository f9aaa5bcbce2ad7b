# SPDX-License-Identifier: Apache-2.0
"""homerec segments: Personalize batch segment lines for item and attribute queries, errors kept per line."""

import json

import pytest

from homerec.errors import InputError
from homerec.pipeline.segments import ATTRIBUTES_KEY, ITEM_KEY, read_segment_queries, run_segments


def test_segment_file_format(trained, store, tmp_path):
    frame = store.interactions()
    item = frame.group_by("item_id").len().sort("len")["item_id"][-1]
    buyers = set(frame.filter(frame["item_id"] == item)["user_id"].to_list())
    queries = [(ITEM_KEY, item), (ATTRIBUTES_KEY, 'Items.CATEGORY IN ("Gloves")'), (ITEM_KEY, "no-such-item"),
               (ATTRIBUTES_KEY, "Items.CATEGORY ~ 1")]
    report = run_segments(store, trained["registry"], tmp_path / "s.jsonl", queries, k=20)
    docs = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert (report.n_queries, report.n_failed) == (4, 2) and report.version == trained["registry"].active()
    assert [d["input"] for d in docs] == [{k: v} for k, v in queries]
    first = docs[0]
    assert set(first) == {"input", "output", "error"} and first["error"] is None
    assert len(first["output"]["recommendedUsers"]) == 20 == len(first["output"]["scores"])
    assert not set(first["output"]["recommendedUsers"]) & buyers  # new buyers only
    assert first["output"]["scores"] == sorted(first["output"]["scores"], reverse=True)
    assert docs[2]["output"] == {"recommendedUsers": []} and "no-such-item" in docs[2]["error"]
    assert "cannot read" in docs[3]["error"]
    everyone = run_segments(store, trained["registry"], tmp_path / "b.jsonl", queries[:1], k=2000, include_buyers=True)
    listed = json.loads((tmp_path / "b.jsonl").read_text())["output"]["recommendedUsers"]
    assert everyone.n_failed == 0 and buyers <= set(listed)


def test_segment_input_files(tmp_path):
    good = tmp_path / "in.jsonl"
    good.write_text('{"itemId": "P00017"}\n\n{"itemAttributes": "ITEMS.BRAND = \\"Acme\\""}\n')
    assert read_segment_queries(good) == [(ITEM_KEY, "P00017"), (ATTRIBUTES_KEY, 'ITEMS.BRAND = "Acme"')]
    for text, message in (("{nope", ":1: not JSON"), ('{"userId": "u1"}', ":1: expected"), ('{"itemId": 5}', "expected")):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            read_segment_queries(bad)
    with pytest.raises(InputError, match="no such file"):
        read_segment_queries(tmp_path / "missing.jsonl")
