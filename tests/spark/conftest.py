# SPDX-License-Identifier: Apache-2.0
"""One local-mode SparkSession per test session, and a small store with a Spark-trained ALS version.

Spark tests share one JVM: they are grouped on one xdist worker (scripts/test.sh runs
`--dist loadgroup`), the session runs `local[2]` with two shuffle partitions and no UI.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from homerec.models.registry import Registry
from homerec.spark.session import SparkConfig, spark_session
from homerec.spark.train import train_on_spark
from homerec.storage import import_folder, open_store
from homerec.synth.generate import generate
from tests.models.conftest import checkerboard  # noqa: F401

SPARK_GROUP = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="session")
def spark(tmp_path_factory) -> Iterator[tuple]:
    """(SparkSession, work folder) for the whole test session."""
    work = tmp_path_factory.mktemp("spark-work")
    with spark_session(SparkConfig(master="local[2]", shuffle_partitions=2, work_dir=str(work))) as started:
        yield started


@pytest.fixture(scope="session")
def spark_world(spark, tmp_path_factory) -> dict:
    """{'root', 'store_url', 'artifacts', 'version', 'report'}: scale 0.005 in SQLite, ALS trained on Spark."""
    session, work = spark
    root: Path = tmp_path_factory.mktemp("spark-world")
    generate(root / "data", scale=0.005, seed=3)
    url = f"sqlite:///{root / 'homerec.db'}"
    store = open_store(url)
    try:
        import_folder(store, root / "data", root / "rejects")
        report = train_on_spark(session, work, store, Registry(root / "artifacts"))
    finally:
        store.close()
    return {"root": root, "folder": root / "data", "store_url": url, "artifacts": root / "artifacts",
            "version": report.version, "report": report}
