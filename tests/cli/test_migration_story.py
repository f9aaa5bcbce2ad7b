# SPDX-License-Identifier: Apache-2.0
"""The README's migration story, step by step through the real commands and a real server.

compare homerec against the replaced system's output file → start an experiment in shadow
mode → shift traffic 10 % → 50 % while synthetic shoppers buy → read the report → roll back.
"""

import json
import re
import time

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from homerec.cli.main import app
from homerec.settings import Settings
from homerec.storage import open_store
from tests.live import serve_app


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"homerec {' '.join(args)}\n{result.output}\n{result.exception!r}"
    return result.output


@pytest.mark.slow
def test_the_migration_story(tmp_path):
    data, db, arts = tmp_path / "data", f"sqlite:///{tmp_path / 'homerec.db'}", str(tmp_path / "artifacts")
    where = ("--store", db)
    out = run("generate", str(data), "--scale", "0.01", "--seed", "5", "--legacy")
    day = re.search(r"--since (\d{4}-\d\d-\d\d)", out.replace("\n", " ")).group(1)
    run("import", str(data), *where, "--rejects-dir", str(tmp_path / "rejects"))
    assert "registered v1" in run("train", "--until", day, *where, "--artifacts", arts)
    assert "registered v2 (not active)" in run("train", "--models", "popularity", "--until", day, "--no-activate",
                                               *where, "--artifacts", arts)
    run("batch", *where, "--artifacts", arts, "--out", str(tmp_path / "recs.jsonl"))

    # 1. compare with what the old system gave
    run("compare", "--a", "model:active", "--b", f"file:{data / 'legacy-personalize-output.jsonl'}", "--since", day,
        *where, "--artifacts", arts, "--json", str(tmp_path / "c.json"), "--html", str(tmp_path / "c.html"))
    compared = json.loads((tmp_path / "c.json").read_text())
    assert compared["b"]["fallback_suspected"] is True
    assert compared["pair"]["overlap_at_k"] < 0.9

    settings = Settings(store_url=db, artifact_dir=arts, reload_interval_s=0.2)
    with serve_app(settings) as url:
        def variants() -> set[tuple[str | None, str]]:
            return {(b["variant"], b["model_version"]) for b in (
                httpx.get(f"{url}/v1/users/C{n:06d}/recommendations").json() for n in range(1, 40))}

        # 2. shadow: everyone still gets the old system (v2 stands in for it); homerec's lists are logged
        run("experiment", "create", "switch", "--control", "model:v2", "--candidate", "model:v1", "--mode", "shadow",
            "--traffic", "50", "--guardrail", "conversion", *where)
        time.sleep(0.6)
        assert variants() == {("control", "v2")}
        run("simulate", str(data), "--url", url, "--requests", "150", "--seed", "1")
        # 3. split, then shift traffic
        run("experiment", "mode", "switch", "split", *where)
        run("experiment", "set-traffic", "switch", "10", *where)
        time.sleep(0.6)
        assert ("control", "v2") in variants()
        run("experiment", "set-traffic", "switch", "50", *where)
        time.sleep(0.6)
        assert variants() == {("control", "v2"), ("candidate", "v1")}
        run("simulate", str(data), "--url", url, "--requests", "300", "--seed", "2")
        # 4. the report
        deadline = time.monotonic() + 20  # exposures are written in batches, every 2 s
        while True:
            with open_store(db) as st:
                logged = st.exposures("switch").filter(pl.col("served"))
            if set(logged["variant"]) == {"control", "candidate"} or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        run("experiment", "report", "switch", "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"),
            *where)
        report = json.loads((tmp_path / "r.json").read_text())
        by_name = {v["variant"]: v for v in report["variants"]} if isinstance(report["variants"], list) else report["variants"]
        assert by_name["candidate"]["exposures"] > 0 and by_name["control"]["exposures"] > 0
        assert "switch" in (tmp_path / "r.html").read_text()
        # 5. roll back: everyone is on the old system again at once
        run("experiment", "rollback", "switch", *where)
        time.sleep(0.6)
        assert variants() == {("control", "v2")}
