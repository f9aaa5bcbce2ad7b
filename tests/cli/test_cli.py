# SPDX-License-Identifier: Apache-2.0
"""The `homerec` command end to end, and its answers to bad input: a message, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from homerec.data.schema import USER_RECS
from homerec.storage import open_store
from homerec.synth.generate import generate


def homerec(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "homerec.cli.main", *args], cwd=cwd,
                         capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    generate(d / "data", scale=0.005, seed=1)
    return d


def test_the_whole_offline_story(workdir):
    assert homerec("import", "data", cwd=workdir).returncode == 0
    again = homerec("import", "data", cwd=workdir)
    assert again.returncode == 0 and "duplicates" in again.stdout
    run = homerec("train", cwd=workdir)
    assert run.returncode == 0 and "registered v1" in run.stdout
    assert homerec("train", "--models", "popularity", cwd=workdir).returncode == 0
    listed = homerec("models", "list", cwd=workdir).stdout
    assert "v1" in listed and "v2" in listed
    assert homerec("models", "rollback", cwd=workdir).returncode == 0
    assert "v1 is active" in homerec("models", "promote", "v1", cwd=workdir).stdout
    run = homerec("evaluate", "data", "--json", "e.json", "--html", "e.html", "--models", "popularity,als,hybrid", cwd=workdir)
    assert run.returncode == 0, run.stdout
    doc = json.loads((workdir / "e.json").read_text())
    assert set(doc["models"]) == {"popularity", "als", "hybrid"} and doc["n_eval_users"] > 0
    assert {"HR@10", "NDCG@10", "MAP@10", "Coverage@10", "fit_seconds"} <= set(doc["models"]["hybrid"])
    assert (workdir / "e.html").read_text().count("data:image/png;base64") >= 3
    run = homerec("batch", cwd=workdir)  # no --out: the serving cache only
    assert run.returncode == 0 and "the cache" in run.stdout and not list(workdir.glob("*.jsonl")), run.stdout
    store = open_store(f"sqlite:///{workdir / 'homerec.db'}")
    try:
        cached_before = {c["namespace"]: c["rows"] for c in store.cache_freshness()}
    finally:
        store.close()
    assert cached_before.get("user", 0) > 0
    run = homerec("batch", "--out", "b.jsonl", "--similar-items", cwd=workdir)
    assert run.returncode == 0 and (workdir / "b.jsonl").stat().st_size > 0
    user = json.loads((workdir / "b.jsonl").read_text().splitlines()[0])["input"]["userId"]
    assert "score" in homerec("recommend", user, cwd=workdir).stdout
    assert "re-order: " in homerec("recommend", user, "--include-seen", cwd=workdir).stdout
    run = homerec("batch", "--include-seen", "--format", "csv", "--out", "again.csv", cwd=workdir)
    assert run.returncode == 0 and '"re-order: due' in (workdir / "again.csv").read_text()
    item = json.loads((workdir / "b.jsonl").read_text().splitlines()[0])["output"]["recommendedItems"][0]
    run = homerec("segments", "--item", item, "--attribute", 'Items.CATEGORY IN ("Gloves")', "--k", "5",
                  "--out", "s.jsonl", cwd=workdir)
    assert run.returncode == 0 and "wrote 2 segments" in run.stdout, run.stdout
    lines = [json.loads(x) for x in (workdir / "s.jsonl").read_text().splitlines()]
    assert [d["input"] for d in lines] == [{"itemId": item}, {"itemAttributes": 'Items.CATEGORY IN ("Gloves")'}]
    assert all(len(d["output"]["recommendedUsers"]) == 5 and d["error"] is None for d in lines)
    gone = homerec("delete-user", user, cwd=workdir)
    assert gone.returncode == 0 and "removed" in gone.stdout and "purge-user" in gone.stdout
    purged = homerec("models", "purge-user", user, cwd=workdir)
    assert purged.returncode == 0 and f"{user} removed from v1" in purged.stdout, purged.stdout
    assert homerec("batch", "--out", "b2.jsonl", cwd=workdir).returncode == 0
    store = open_store(f"sqlite:///{workdir / 'homerec.db'}")
    try:  # no cached list comes back for the deleted user; the others are written
        assert store.get_recs(USER_RECS, user) is None and store.counts()["rec_cache"] > 0
    finally:
        store.close()
    assert "score" in homerec("recommend", user, cwd=workdir).stdout  # a stranger now: the fallback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "data", "--store", "mysql://x/y"), "unknown store URL scheme"),
        (("import", "nowhere"), "nowhere"),
        (("train", "--models", "svd", "--store", "sqlite:///t.db"), "unknown model 'svd'"),
        (("train", "--store", "sqlite:///empty.db", "--artifacts", "empty"), "homerec import"),
        (("similar", "no-such-item"), "no-such-item"),
        (("models", "promote", "v99"), "v99"),
        (("evaluate", "badcols"), "USER_ID"),
        (("evaluate", "empty"), "empty"),
        (("segments", "--out", "s.jsonl"), "at least one"),
    ],
)
def test_bad_input_gets_a_clear_message_and_exit_code_2(workdir, args, message):
    (workdir / "badcols").mkdir(exist_ok=True)
    (workdir / "badcols" / "interactions.csv").write_text("user,item,when\nu1,i1,1\n")
    (workdir / "empty").mkdir(exist_ok=True)
    (workdir / "empty" / "interactions.csv").write_text("")
    if args[0] == "similar" and not (workdir / "artifacts" / "ACTIVE").exists():
        homerec("import", "data", cwd=workdir)
        homerec("train", "--models", "popularity", cwd=workdir)
    run = homerec(*args, cwd=workdir)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stdout + run.stderr


def test_bad_rows_are_rejected_and_the_rest_imports(tmp_path):
    (tmp_path / "interactions.csv").write_text(
        "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\nu2,i2,yesterday\nu3,i3,1700000100\n"
    )
    run = homerec("import", ".", cwd=tmp_path)
    assert run.returncode == 0
    rejects = (tmp_path / "rejects").glob("*.csv")
    text = "".join(p.read_text() for p in rejects)
    assert "3" in text and "yesterday" in text


def test_import_takes_an_encoding_and_a_future_skew(tmp_path):
    (tmp_path / "interactions.csv").write_bytes(
        b"USER_ID,ITEM_ID,TIMESTAMP\nu1,caf\xe9,1700000000\nu2,i2,4070908800\n")
    (tmp_path / "homerec.toml").write_text("max_future_skew_s = 3600\n")
    run = homerec("import", ".", "--encoding", "cp1252", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "read as cp1252" in run.stdout and "1 rejected" in run.stdout
    assert "3600 s in the future" in (tmp_path / "rejects" / "interactions.rejects.csv").read_text()
    run = homerec("import", ".", "--encoding", "nope", cwd=tmp_path)
    assert run.returncode == 2 and "unknown encoding" in run.stdout


def test_import_reads_a_folder_of_parquet_files(tmp_path):
    import polars as pl

    history = tmp_path / "history"
    history.mkdir()
    for n in range(2):
        pl.DataFrame({"USER_ID": [f"u{n}", ""], "ITEM_ID": ["i1", "i2"], "TIMESTAMP": [1_700_000_000 + n] * 2}
                     ).write_parquet(history / f"part-{n}.parquet")  # fmt: skip
    run = homerec("import", "--interactions", "history", cwd=tmp_path)
    assert run.returncode == 0 and "2 rejected" in run.stdout, run.stdout
    assert "part-1.parquet,2,empty USER_ID" in (tmp_path / "rejects" / "interactions.rejects.csv").read_text()
    pl.DataFrame({"USER_ID": ["u9"], "DIMS": [{"w": 1}]}).write_parquet(history / "part-2.parquet")
    run = homerec("import", "--interactions", "history", cwd=tmp_path)
    assert run.returncode != 0 and "part-2.parquet: columns of structs" in run.stdout + run.stderr
