# SPDX-License-Identifier: Apache-2.0
"""homerec batch: Personalize JSON lines, CSV, user lists, buy-again lists and the cache."""

import csv
import json

import pytest

from homerec.data.schema import SIMILAR_ITEMS, USER_RECS
from homerec.errors import ConfigError, InputError
from homerec.pipeline.batch import run_batch


def test_personalize_format_covers_every_user_and_item(trained, store, tmp_path):
    out = tmp_path / "b.jsonl"
    report = run_batch(store, trained["registry"], out, "personalize", k=5, similar_items=True)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    users = [d for d in lines if "userId" in d["input"]]
    items = [d for d in lines if "itemId" in d["input"]]
    assert len(users) == report.n_users == store.users().height
    assert len(items) == report.n_items > 0
    warm = [d for d in users if "scores" in d["output"]]
    first = warm[0]
    assert set(first) == {"input", "output", "error"} and first["error"] is None
    assert len(first["output"]["recommendedItems"]) == 5 == len(first["output"]["scores"])
    # Personalize's scale: relative values in [0, 1], in the list's order, a share of one catalogue-wide whole
    assert all(0.0 < s <= 1.0 for d in warm for s in d["output"]["scores"])
    assert all(d["output"]["scores"] == sorted(d["output"]["scores"], reverse=True) for d in warm)
    assert all(sum(d["output"]["scores"]) <= 1.0 for d in warm)
    assert report.n_fallback_users > 0  # users.csv holds customers who never ordered
    # Popular placeholder items (the fallback) and related items carry no relevance score, as on Personalize.
    assert len(users) - len(warm) == report.n_fallback_users
    assert not any("scores" in d["output"] for d in items)


def test_seen_items_are_left_out_unless_asked(trained, store, tmp_path):
    frame = store.interactions()
    user = frame.group_by("user_id").len().sort("len")["user_id"][-1]
    seen = set(frame.filter(frame["user_id"] == user)["item_id"].to_list())
    (tmp_path / "users.txt").write_text(f"{user}\n\n{user}\n")
    run_batch(store, trained["registry"], tmp_path / "a.csv", "csv", k=10, users_file=tmp_path / "users.txt")
    rows = list(csv.DictReader((tmp_path / "a.csv").open()))
    assert len(rows) == 10 and not {r["item_id"] for r in rows} & seen
    run_batch(store, trained["registry"], tmp_path / "b.csv", "csv", k=10, users_file=tmp_path / "users.txt",
              include_seen=True)
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    assert {r["item_id"] for r in rows} & seen


def test_buy_again_lists_carry_reasons_and_quantities(trained, store, tmp_path):
    """--include-seen uses the version's re-order model: re-orders with a due date and units."""
    frame = store.interactions()
    user = frame.group_by("user_id").len().sort("len")["user_id"][-1]
    bought = frame.filter(frame["user_id"] == user)
    (tmp_path / "users.txt").write_text(f"{user}\nnobody\n")
    run_batch(store, trained["registry"], tmp_path / "b.csv", "csv", k=10, users_file=tmp_path / "users.txt",
              include_seen=True)
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    again = [r for r in rows if r["id"] == user and r["reason"].startswith("re-order: ")]
    assert again and all(r["item_id"] in set(bought["item_id"].to_list()) for r in again)
    ordered = bought.group_by("item_id").agg("quantity").rows()
    units = {item: set(q) for item, q in ordered}  # a suggestion is a quantity the customer ordered
    assert all(float(r["quantity"]) in units[r["item_id"]] and ", usually " in r["reason"] for r in again)
    assert all(r["quantity"] == "" and r["reason"] == "popularity fallback: no history" for r in rows if r["id"] == "nobody")
    report = run_batch(store, trained["registry"], tmp_path / "b.jsonl", k=5, users_file=tmp_path / "users.txt",
                       include_seen=True)
    docs = [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert report.n_fallback_users == 1 and [d["input"]["userId"] for d in docs] == [user, "nobody"]
    out = docs[0]["output"]
    assert len(out["recommendedItems"]) == len(out["scores"]) == len(out["reasons"]) == len(out["suggestedQuantities"]) == 5
    assert all((q is None) == (not why.startswith("re-order")) for q, why in zip(out["suggestedQuantities"], out["reasons"]))
    assert out["scores"] == sorted(out["scores"], reverse=True) and 0 < sum(out["scores"]) <= 1.0
    assert "scores" not in docs[1]["output"]  # the fallback carries none, as Personalize's popular placeholders


def test_batch_fills_the_cache_with_the_version(trained, store, tmp_path):
    report = run_batch(store, trained["registry"], tmp_path / "c.jsonl", similar_items=True, k=3)
    user = store.users()["user_id"][0]
    cached = store.get_recs(USER_RECS, user)
    assert cached is not None and cached.model_version == report.version and len(cached.items) == 3
    item = store.items()["item_id"][0]
    assert store.get_recs(SIMILAR_ITEMS, item) is not None


def test_bad_batch_arguments(trained, store, tmp_path):
    with pytest.raises(ConfigError, match="unknown format"):
        run_batch(store, trained["registry"], tmp_path / "x", "xml")
    with pytest.raises(InputError, match="does not exist"):
        run_batch(store, trained["registry"], tmp_path / "x", users_file=tmp_path / "nope.txt")
