# SPDX-License-Identifier: Apache-2.0
"""The --engine option of train and batch: Spark (homerec[spark]) is imported only when asked for."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from homerec.errors import InputError
from homerec.pipeline.batch import BatchReport, Progress
from homerec.pipeline.quality import rule_of
from homerec.pipeline.train import TrainReport
from homerec.settings import Settings

ENGINES = ("local", "spark")
EngineOpt = Annotated[str, typer.Option(help="local (this machine) or spark (homerec[spark], pyspark)")]
SparkMasterOpt = Annotated[Optional[str], typer.Option(
    "--spark-master", envvar="HOMEREC_SPARK_MASTER",
    help="Spark master with --engine spark: local[2], spark://HOST:7077, yarn, … (default local[*])")]


SparkWorkDirOpt = Annotated[Optional[str], typer.Option(
    "--spark-work-dir", envvar="HOMEREC_SPARK_WORK_DIR",
    help="Spark checkpoints and the SQLite export go here (default: a temporary folder); on a cluster, "
         "a path every executor reaches (HDFS, a shared mount)")]


def use_spark(engine: str) -> bool:
    """True for --engine spark; InputError for an unknown engine (--spark-master alone changes nothing)."""
    if engine not in ENGINES:
        raise InputError(f"--engine takes {' or '.join(ENGINES)}, not {engine!r}")
    return engine == "spark"


def _config(master: str | None, work_dir: str | None):
    from homerec.spark.session import DEFAULT_MASTER, SparkConfig

    return SparkConfig(master=master or DEFAULT_MASTER, work_dir=work_dir)


def train_spark(s: Settings, master: str | None, work_dir: str | None, models: list[str] | None, tune: bool, activate: bool,
                until: int | None, say) -> TrainReport:
    """Train ALS on Spark and register it (the other hybrid parts stay on one machine)."""
    if models not in (None, ["als"]):
        raise InputError("--engine spark trains ALS (the default there); the hybrid's other parts train on one "
                         "machine: run homerec train without --engine spark (docs/scaling.md)")
    if tune:
        raise InputError("--tune searches grids on one machine; with --engine spark the popularity mix is "
                         "tuned on the validation split and the ALS settings are Spark's defaults")
    from homerec.models.registry import Registry
    from homerec.spark.session import spark_session
    from homerec.spark.train import train_on_spark
    from homerec.storage import open_store

    st = open_store(s.store_url)
    try:
        with spark_session(_config(master, work_dir)) as (spark, work):
            return train_on_spark(spark, work, st, Registry(s.artifact_dir), event_weights=s.event_weights,
                                  activate=activate, progress=say, until=until, rule=rule_of(s))
    finally:
        st.close()


def batch_spark(s: Settings, master: str | None, work_dir: str | None, out: Path | None, fmt: str, k: int, users: Path | None,
                similar_items: bool, include_seen: bool, tick: Progress) -> BatchReport:
    """Score every user on Spark with the active (ALS) version; the file and cache as `homerec batch` writes them."""
    from homerec.models.registry import Registry
    from homerec.spark.batch import run_batch_on_spark
    from homerec.spark.session import spark_session
    from homerec.storage import open_store

    st = open_store(s.store_url)
    try:
        with spark_session(_config(master, work_dir)) as (spark, work):
            return run_batch_on_spark(spark, work, st, Registry(s.artifact_dir), out, fmt, k, users, similar_items,
                                      include_seen, s.batch_chunk, s.threads, s.event_weights, tick)
    finally:
        st.close()
