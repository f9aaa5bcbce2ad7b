# SPDX-License-Identifier: Apache-2.0
"""`homerec experiment …` on a small SQLite store: the traffic story, the report, and bad input."""

import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from homerec.cli.main import app, main
from homerec.data.schema import Col
from homerec.experiments.assign import assign_many
from homerec.experiments.spec import Experiment, active_experiment
from homerec.storage import open_store


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray homerec.toml
    monkeypatch.setenv("COLUMNS", "200")
    return f"sqlite:///{tmp_path}/store.db"


def cli(store_url: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["experiment", *args, "--store", store_url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def stored(store_url: str, name: str) -> Experiment:
    with open_store(store_url) as st:
        return next(Experiment.from_json(r.spec) for r in st.experiments() if r.name == name)


def test_create_move_traffic_roll_back_and_list(store_url):
    assert "no experiments yet" in cli(store_url, "list")
    out = cli(store_url, "create", "spring", "--candidate", "model:v2", "--traffic", "10", "--salt", "s1")
    assert "control 90%, candidate 10%" in out
    first = stored(store_url, "spring")
    assert (first.status, first.mode, first.salt, first.control) == ("running", "split", "s1", "control")
    assert first.variant("candidate").source == "model:v2" and first.variant("control").source == "model:active"
    assert abs(first.created_at - time.time()) < 60

    assert "control 50%, candidate 50%" in cli(store_url, "set-traffic", "spring", "50")
    grown = stored(store_url, "spring")
    assert grown.shares == {"control": 0.5, "candidate": 0.5} and grown.salt == first.salt
    users = [f"u{n}" for n in range(2000)]
    before, after = assign_many(first, users), assign_many(grown, users)
    assert all(a == "candidate" for b, a in zip(before, after) if b == "candidate")  # nobody leaves the candidate

    assert "shadow mode" in cli(store_url, "mode", "spring", "shadow")
    assert "control 100%, candidate 0%" in cli(store_url, "rollback", "spring")
    back = stored(store_url, "spring")
    assert back.status == "rolled_back" and back.mode == "shadow" and back.shares["control"] == 1.0
    with open_store(store_url) as st:
        assert active_experiment(st.experiments()) is None  # servers stop routing on their next reload

    listed = cli(store_url, "list")
    assert "spring" in listed and "rolled_back" in listed and "candidate=model:v2" in listed
    shown = cli(store_url, "show", "spring")
    assert "salt s1" in shown and "model:v2" in shown and "0.00%" in shown

    cli(store_url, "create", "summer", "--candidate", "model:v3", "--mode", "shadow", "--guardrail", "conversion")
    assert "summer stopped" in cli(store_url, "stop", "summer")
    assert stored(store_url, "summer").status == "stopped" and stored(store_url, "summer").guardrail == "conversion"


def test_report_writes_json_and_html(store_url, tmp_path):
    cli(store_url, "create", "exp", "--candidate", "model:v2", "--traffic", "50", "--guardrail", "conversion")
    exp = stored(store_url, "exp")
    users = [f"u{n}" for n in range(400)]
    variants = assign_many(exp, users)
    t0 = exp.created_at + 10
    exposures = pl.DataFrame({
        Col.recommendation_id: [f"r{n}" for n in range(len(users))], Col.experiment: "exp", Col.variant: variants,
        Col.user_id: users, Col.ranked: [["i1", "i2"]] * len(users), Col.ts: t0, Col.served: True,
    })  # fmt: skip
    buyers = [n for n in range(len(users)) if n % 4 == 0]
    events = pl.DataFrame({
        Col.user_id: [users[n] for n in buyers], Col.item_id: "i1", Col.ts: t0 + 60, Col.event_type: "click",
        Col.event_value: None, Col.recommendation_id: [f"r{n}" for n in buyers],
    }, schema_overrides={Col.event_value: pl.Float64})  # fmt: skip
    with open_store(store_url) as st:
        st.add_exposures(exposures)
        st.add_interactions(events)
    out = cli(store_url, "report", "exp", "--json", "r.json", "--html", "r.html", "--window-hours", "2")
    assert "Experiment exp" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["experiment"] == "exp" and doc["window_s"] == 7200 and doc["since"] == exp.created_at
    assert {v: doc["variants"][v]["users"] for v in ("control", "candidate")} == {
        v: variants.count(v) for v in ("control", "candidate")
    }
    assert doc["variants"]["control"]["clicks"] + doc["variants"]["candidate"]["clicks"] == len(buyers)
    assert "exp" in (tmp_path / "r.html").read_text()


def run_main(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The real entry point (`homerec.cli.main.main`, which maps errors to exit codes), in-process."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(sys, "argv", ["homerec", "experiment", *args, "--store", "sqlite:///s.db"])
        with pytest.raises(SystemExit) as exit_info:
            main()
    captured = capsys.readouterr()
    return exit_info.value.code, " ".join((captured.out + captured.err).split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "x", "--candidate", "model:latest"), "bad source 'model:latest'"),
        (("create", "x", "--candidate", "model:v2", "--traffic", "120"), "percentage in [0, 100]"),
        (("create", "x", "--candidate", "model:v2", "--guardrail", "joy"), "unknown guardrail metric 'joy'"),
        (("create", "x", "--candidate", "model:v2", "--salt", "a:b"), "bad salt 'a:b'"),
        (("create", "run2", "--candidate", "model:v2"), "experiment run1 is running"),
        (("create", "run1", "--candidate", "model:v2"), "run1 already exists"),
        (("set-traffic", "nope", "50"), "no experiment 'nope' (known: run1)"),
        (("set-traffic", "run1", "50", "--variant", "zzz"), "no variant 'zzz'"),
        (("mode", "run1", "dark"), "mode 'dark'"),
        (("report", "run1", "--window-hours", "0"), "--window-hours must be positive"),
        (("set-traffic", "run1", "fifty"), "Invalid value for 'percent'"),  # typer's usage error: 2 as well
    ],
)
def test_bad_input_exits_2_with_a_message(store_url, capsys, args, message):
    assert run_main("create", "run1", "--candidate", "model:v2", capsys=capsys)[0] == 0
    code, output = run_main(*args, capsys=capsys)
    assert code == 2, output
    assert message in output
    assert stored("sqlite:///s.db", "run1").shares == {"control": 0.9, "candidate": 0.1}  # unchanged


def test_a_separate_process_refuses_to_move_a_rolled_back_experiment(tmp_path):
    def homerec(*args: str) -> subprocess.CompletedProcess:
        run = subprocess.run([sys.executable, "-m", "homerec.cli.main", "experiment", *args, "--store", "sqlite:///s.db"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120,
                             env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})  # fmt: skip
        assert "Traceback" not in run.stderr + run.stdout, run.stderr
        return run

    assert homerec("create", "e1", "--candidate", "model:v2").returncode == 0
    assert homerec("rollback", "e1").returncode == 0
    run = homerec("set-traffic", "e1", "50")
    assert run.returncode == 2 and "error: experiment e1 is rolled back" in run.stdout
