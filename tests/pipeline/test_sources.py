# SPDX-License-Identifier: Apache-2.0
"""Compare sources: SOURCE strings, Personalize batch files, and a model version on a trained store."""

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from homerec.errors import InputError
from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.pipeline.compare import parse_since, run_compare
from homerec.experiments.source import parse_source
from homerec.pipeline.sources import check_source, model_lists, read_batch_file
from homerec.storage import open_store


def _lines(path: Path, *docs: object) -> Path:
    path.write_text("".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs))
    return path


def test_parse_since():
    assert parse_since("2024-01-02") == 1704153600
    assert parse_since("2024-01-02T01:00:00+01:00") == 1704153600
    assert parse_since("1704153600") == 1704153600
    with pytest.raises(InputError, match="--since"):
        parse_since("yesterday")


def test_batch_file_with_missing_scores_errors_and_item_lines(tmp_path):
    path = _lines(
        tmp_path / "out.json.out",
        {"input": {"userId": "u1"}, "output": {"recommendedItems": ["i1", "i2", "i3"], "scores": [0.5, 0.2, 0.1]},
         "error": None},
        {"input": {"userId": "u2"}, "output": {"recommendedItems": ["i1", "i4"]}},  # popularity recipe: no scores
        {"input": {"userId": "u3"}, "error": "user u3 failed"},
        {"input": {"itemId": "i1"}, "output": {"recommendedItems": ["i2"], "scores": [0.9]}, "error": None},
        "",
        {"input": {"userId": 7, "filterValues": {"G": "\"x\""}}, "output": {"recommendedItems": ["i9"], "scores": [1]}},
        {"input": {"userId": "u1"}, "output": {"recommendedItems": ["i8"], "scores": [0.1]}},  # repeated: first wins
    )
    got = read_batch_file(path, k=2)
    assert got.answered == ["u1", "u2", "7"]
    assert got.lists.rows() == [("u1", 0, "i1", 0.5), ("u1", 1, "i2", 0.2), ("u2", 0, "i1", None),
                                ("u2", 1, "i4", None), ("7", 0, "i9", 1.0)]
    assert got.info["errors"] == 1 and got.info["first_error"] == "user u3 failed"


def test_a_folder_of_batch_files(tmp_path):
    _lines(tmp_path / "part1.json.out", {"input": {"userId": "u1"}, "output": {"recommendedItems": ["i1"]}})
    _lines(tmp_path / "part2.json.out", {"input": {"userId": "u2"}, "output": {"recommendedItems": ["i2"]}})
    (tmp_path / "_SUCCESS").write_text("")
    assert read_batch_file(tmp_path, 10).answered == ["u1", "u2"]


def test_bad_batch_files(tmp_path):
    bad = _lines(tmp_path / "bad.jsonl", {"input": {"userId": "u1"}, "output": {"recommendedItems": ["i1"]}}, "{oops")
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        read_batch_file(bad, 10)
    items_only = _lines(tmp_path / "items.jsonl", {"input": {"itemId": "i1"}, "output": {"recommendedItems": ["i2"]}})
    with pytest.raises(InputError, match="no Personalize user lines"):
        read_batch_file(items_only, 10)
    with pytest.raises(InputError, match="does not exist"):
        check_source(parse_source(f"file:{tmp_path / 'nope.json.out'}"), Registry(tmp_path / "reg"))


def test_unknown_model_version(trained):
    with pytest.raises(InputError, match="unknown model version.*v99"):
        check_source(parse_source("model:v99"), trained["registry"])
    assert check_source(parse_source("model:active"), trained["registry"]).startswith("homerec v")
    with pytest.raises(InputError, match="homerec train"):
        check_source(parse_source("model:active"), Registry(trained["root"] / "empty-registry"))


@pytest.fixture(scope="module")
def batched(trained, tmp_path_factory) -> dict:
    """A copy of the trained store with `homerec batch --format personalize --similar-items` output."""
    root = tmp_path_factory.mktemp("batched")
    shutil.copy(trained["root"] / "homerec.db", root / "homerec.db")
    url = f"sqlite:///{root / 'homerec.db'}"
    store = open_store(url)
    try:
        run_batch(store, trained["registry"], root / "recs.jsonl", "personalize", k=10, similar_items=True)
        history = store.interactions()
    finally:
        store.close()
    return {"root": root, "url": url, "file": root / "recs.jsonl", "history": history}


def test_model_source_matches_what_batch_writes(trained, batched):
    users = batched["history"]["user_id"].unique(maintain_order=True).to_list()[:300] + ["never-seen"]
    got = model_lists(parse_source("model:active"), trained["registry"], batched["history"], users, 10)
    assert got.answered == users and got.info["version"] == trained["report"].version
    assert 0 < got.info["declared_fallback_share"] < 0.05  # only "never-seen" has no history
    written = read_batch_file(batched["file"], 10)
    assert set(users[:-1]) <= set(written.answered)
    mine = got.lists.filter(pl.col("user_id") != "never-seen").sort("user_id", "rank")
    theirs = written.lists.filter(pl.col("user_id").is_in(users)).sort("user_id", "rank")
    assert mine.select("user_id", "rank", "item_id").equals(theirs.select("user_id", "rank", "item_id"))
    assert (mine["score"] - theirs["score"]).abs().max() <= 1e-3
    cold = got.lists.filter(pl.col("user_id") == "never-seen")
    assert cold.height == 10 and cold["score"].null_count() == 10  # popular placeholders: no relevance score


def test_compare_a_model_with_its_own_batch_output(trained, batched):
    store = open_store(batched["url"])
    try:
        r = run_compare(store, trained["registry"], "model:active", f"file:{batched['file']}", k=10)
    finally:
        store.close()
    assert r["users_from"] == "users the file answers for" and r["n_users"] == len(read_batch_file(batched["file"], 10).answered)
    assert r["pair"]["overlap_at_k"] == 1.0 and r["pair"]["rbo"] == pytest.approx(1.0)
    assert r["a"]["source"]["kind"] == "model" and r["b"]["source"]["kind"] == "file"
    assert r["a"]["accuracy"] is None and r["warnings"] == []


def test_compare_with_a_cut_off_and_event_type(trained, batched, tmp_path):
    store = open_store(batched["url"])
    try:
        ts = batched["history"]["ts"].sort()
        since = int(ts[int(len(ts) * 0.9)])
        users = tmp_path / "users.txt"
        users.write_text("\n".join(batched["history"]["user_id"].unique(maintain_order=True).to_list()[:200]))
        r = run_compare(store, trained["registry"], "model:active", "model:active", k=5, users_file=users,
                        since=since, event_type="purchase")
        assert r["n_users"] == 200 and r["users_from"] == f"--users {users}"
        assert r["a"]["accuracy"]["n_users"] > 0 and "HR@5" in r["a"]["accuracy"]
        assert any("optimistic" in w for w in r["warnings"])  # the model was trained on the "future"
        with pytest.raises(InputError, match="no 'refund' events"):
            run_compare(store, trained["registry"], "model:active", "model:active", event_type="refund")
    finally:
        store.close()


def test_model_source_lists_products_added_after_training(trained, batched):
    users = batched["history"]["user_id"].unique(maintain_order=True).to_list()[:50]
    plain = model_lists(parse_source("model:active"), trained["registry"], batched["history"], users, 10)
    store = open_store(batched["url"])
    try:
        catalog = store.items()
    finally:
        store.close()
    top = plain.lists.filter(pl.col("rank") == plain.lists["rank"].min())["item_id"].mode()[0]
    twin = catalog.filter(pl.col("item_id") == top).with_columns(pl.lit("P-TWIN").alias("item_id"))
    got = model_lists(parse_source("model:active"), trained["registry"], batched["history"], users, 10,
                      catalog=pl.concat([catalog, twin]))
    assert "P-TWIN" in got.lists["item_id"].to_list() and "P-TWIN" not in plain.lists["item_id"].to_list()
