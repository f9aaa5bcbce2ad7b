# SPDX-License-Identifier: Apache-2.0
"""`homerec train|batch --engine spark` from the command line, and the commands that must not load Spark."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homerec.cli.main import app
from homerec.models.registry import Registry
from homerec.storage import import_folder, open_store
from homerec.synth.generate import generate
from tests.cli.test_cli import homerec
from tests.spark.conftest import SPARK_GROUP


def run(*args: str) -> str:
    """The command in this process (the test session's SparkSession is reused); its output."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@SPARK_GROUP
def test_train_batch_and_compare_a_spark_version(spark, tmp_path):
    generate(tmp_path / "data", scale=0.003, seed=5)
    url = f"sqlite:///{tmp_path / 'homerec.db'}"
    store = open_store(url)
    try:
        import_folder(store, tmp_path / "data", tmp_path / "rejects")
    finally:
        store.close()
    common = ["--store", url, "--artifacts", str(tmp_path / "artifacts")]
    out = run("train", "--engine", "spark", "--spark-master", "local[2]", "--spark-work-dir", str(tmp_path / "work"),
              *common)
    assert "registered v1" in out and "als" in out
    assert (tmp_path / "work" / "export" / "interactions.parquet").exists()  # SQLite reaches Spark as Parquet
    assert list((tmp_path / "work" / "checkpoints").glob("*/rdd-*"))  # ALS checkpointed its intermediate RDDs
    assert Registry(tmp_path / "artifacts").info("v1").meta["engine"] == "spark"
    out = run("batch", "--engine", "spark", "--out", str(tmp_path / "recs.jsonl"), *common)
    assert "wrote top-10" in out and "with v1" in out
    run("compare", "--a", "model:active", "--b", f"file:{tmp_path / 'recs.jsonl'}", "--json",
        str(tmp_path / "c.json"), "--html", str(tmp_path / "c.html"), *common)
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["pair"]["overlap_at_k"] == 1.0  # the Spark batch lists are the model's own lists


@pytest.mark.parametrize(("args", "message"), [
    (["train", "--engine", "spark", "--models", "item_knn"], "the hybrid's other parts train on one machine"),
    (["train", "--engine", "spark", "--tune"], "--tune searches grids on one machine"),
    (["batch", "--engine", "flink", "--out", "x.jsonl"], "--engine takes local or spark"),
])
def test_engine_options_answer_in_one_line(args, message, tmp_path):
    run_ = homerec(*args, cwd=tmp_path)
    assert run_.returncode == 2 and message in run_.stdout.replace("\n", " ")


def test_without_the_extra_spark_commands_name_it(tmp_path):
    code = ("import sys; sys.modules['pyspark'] = None; from homerec.cli.main import main; "
            "sys.argv = ['homerec', 'train', '--engine', 'spark']; main()")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "install homerec[spark]" in done.stdout


def test_the_cli_and_serving_load_without_pyspark(tmp_path: Path):
    code = ("import sys; from homerec.cli.main import app; import homerec.serving.app; "
            "from typer.testing import CliRunner; r = CliRunner().invoke(app, ['train', '--help']); "
            "assert '--engine' in r.output, r.output; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')], 'pyspark loaded'")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
