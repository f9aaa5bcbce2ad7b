# SPDX-License-Identifier: Apache-2.0
"""`homerec compare` end to end on a small generated store, and its answers to bad sources."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from homerec.cli.main import main
from homerec.models.registry import Registry
from homerec.pipeline.train import train
from homerec.storage import import_folder, open_store
from homerec.synth.generate import generate

PAIR_KEYS = {"overlap_at_k", "jaccard_at_k", "rbo", "rbo_p", "rbo_variant", "shared_items_distribution"}
SIDE_KEYS = {"fallback_suspected", "fallback_evidence", "scores", "personalization", "popularity_bias",
             "catalog_coverage", "accuracy", "source"}


def homerec(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "homerec.cli.main", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A scale-0.005 store (./homerec.db) with one item-kNN version in ./artifacts, and its batch file."""
    d = tmp_path_factory.mktemp("compare")
    generate(d / "data", scale=0.005, seed=2)
    store = open_store(f"sqlite:///{d / 'homerec.db'}")
    try:
        import_folder(store, d / "data", d / "rejects")
        train(store, Registry(d / "artifacts"), ["item_knn"])
        users = store.interactions()["user_id"].unique(maintain_order=True).to_list()
    finally:
        store.close()
    assert homerec("batch", "--out", "recs.jsonl", "--similar-items", cwd=d).returncode == 0
    with (d / "fallback.json.out").open("w") as fh:  # what the seed system got from Personalize
        for u in users:
            doc = {"input": {"userId": u}, "output": {"recommendedItems": [f"P{n:05d}" for n in range(1, 11)],
                                                     "scores": [0.0] * 10}, "error": None}
            fh.write(json.dumps(doc) + "\n")
    return d


def test_compare_a_model_with_a_personalize_fallback(workdir):
    run = homerec("compare", "--a", "model:active", "--b", "file:fallback.json.out", "--since", "2025-10-01",
                  "--json", "out/c.json", "--html", "out/c.html", cwd=workdir)
    assert run.returncode == 0, run.stdout
    doc = json.loads((workdir / "out/c.json").read_text())
    assert PAIR_KEYS <= set(doc["pair"]) and SIDE_KEYS <= set(doc["a"]) and SIDE_KEYS <= set(doc["b"])
    assert doc["b"]["fallback_suspected"] is True and doc["a"]["fallback_suspected"] is False
    assert doc["b"]["fallback_evidence"]["most_common_list_share"] == 1.0
    assert doc["a"]["accuracy"]["n_users"] > 0 and "NDCG@10" in doc["b"]["accuracy"]
    assert doc["b"]["top10_share"] == 1.0 and doc["a"]["top10_share"] < 1.0  # the fallback: ten items fill every slot
    assert doc["a"]["novelty"] > 0 and doc["b"]["novelty"] > 0  # bits of self-information (P00001..10 are not best-sellers)
    assert 0.0 <= doc["a"]["diversity"] <= 1.0  # the generated catalogue has a category column
    assert doc["since_date"].startswith("2025-10-01") and doc["verdict"]
    html = (workdir / "out/c.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "looks like a popularity fallback" in html
    assert "fallback suspected" in run.stdout and "overlap@10" in run.stdout


def test_compare_a_model_with_its_own_batch_file(workdir):
    run = homerec("compare", "--a", "model:v1", "--b", "file:recs.jsonl", "--k", "5", "--json", "same.json",
                  "--html", "same.html", cwd=workdir)
    assert run.returncode == 0, run.stdout
    doc = json.loads((workdir / "same.json").read_text())
    assert doc["k"] == 5 and doc["pair"]["overlap_at_k"] == 1.0 and doc["pair"]["jaccard_at_k"] == 1.0
    assert (workdir / "same.html").stat().st_size > 0


def test_compare_json_alone_and_no_file_at_all(workdir):
    pages = set(workdir.rglob("*.html"))
    run = homerec("compare", "--a", "model:v1", "--b", "file:recs.jsonl", "--json", "only.json", cwd=workdir)
    assert run.returncode == 0, run.stdout
    assert json.loads((workdir / "only.json").read_text())["pair"]["overlap_at_k"] == 1.0
    assert set(workdir.rglob("*.html")) == pages
    run = homerec("compare", "--a", "model:v1", "--b", "file:recs.jsonl", cwd=workdir)
    assert run.returncode == 0 and "overlap@10" in run.stdout and "--json FILE" in run.stdout, run.stdout


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ("popularity", "model:active", "bad source 'popularity'"),
        ("model:active", "file:missing.json.out", "missing.json.out does not exist"),
        ("model:v42", "model:active", "unknown model version"),
        ("model:active", "endpoint:http://127.0.0.1:9#arn:aws:personalize:eu-west-1:1:campaign/x",
         "endpoint http://127.0.0.1:9 did not answer"),
    ],
)
def test_bad_sources_get_one_line(workdir, a, b, message, monkeypatch, capsys):
    """In process (the same `main()` the console script runs), to spare an interpreter start per case."""
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(sys, "argv", ["homerec", "compare", "--a", a, "--b", b, "--json", "x.json", "--html", "x.html"])
    with pytest.raises(SystemExit) as stop:
        main()
    out = capsys.readouterr().out
    assert stop.value.code == 2 and message in " ".join(out.split()) and "Traceback" not in out, out
    assert not (workdir / "x.json").exists()
