# SPDX-License-Identifier: Apache-2.0
"""One SparkSession per command: local mode by default, checkpoints set, quiet, pyspark loaded lazily."""

import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homerec.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
JDBC_JAR_GLOBS = ("/usr/share/java/postgresql.jar", "/usr/share/java/postgresql-*.jar")
"""Where Debian's libpostgresql-jdbc-java puts PostgreSQL's JDBC driver (HOMEREC_SPARK_JARS overrides)."""


def require_pyspark() -> None:
    """Raise a ConfigError that names the extra when pyspark is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError("Spark is not installed: install homerec[spark] (pyspark, and Java 17)") from None


def jdbc_jars() -> list[str]:
    """JDBC driver jars to put on Spark's class path: HOMEREC_SPARK_JARS (comma-separated), else Debian's."""
    if env := os.environ.get("HOMEREC_SPARK_JARS"):
        return [j for j in env.split(",") if j]
    for pattern in JDBC_JAR_GLOBS:
        if found := sorted(glob.glob(pattern)):
            return found[:1]
    return []


@dataclass(frozen=True)
class SparkConfig:
    """Where and how Spark runs.

    Args:
        master: ``local[N]``, ``spark://host:7077``, ``yarn``, … (Spark's own master URLs).
        shuffle_partitions: partitions after a shuffle (Spark's 200 is far too many for one box).
        work_dir: checkpoints and exports go here (a fresh temporary folder when None); on a
            cluster it must be a path every executor reaches (HDFS, S3, a shared mount).
        conf: further ``spark.*`` settings.
    """

    master: str = DEFAULT_MASTER
    shuffle_partitions: int = 8
    work_dir: str | None = None
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        """True for Spark's local mode (driver and executors in this process's JVM)."""
        return self.master.startswith("local")


@contextmanager
def spark_session(config: SparkConfig, app_name: str = "homerec") -> Iterator[tuple["SparkSession", str]]:
    """A started SparkSession and its work folder; both are stopped and removed afterwards.

    Local mode runs the executors' Python in this interpreter (PYSPARK_PYTHON), so homerec
    and numpy are found without a cluster-wide install; the UI and console progress are off.
    A session already active in this process (a notebook's, a test suite's) is used as it is
    and left running; `config` then only names the work folder.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    own_dir = config.work_dir is None
    work = config.work_dir or tempfile.mkdtemp(prefix="homerec-spark-")
    active = SparkSession.getActiveSession()
    if active is not None:
        previous = active.sparkContext.getCheckpointDir()
        active.sparkContext.setCheckpointDir(os.path.join(work, "checkpoints"))
        try:
            yield active, work
        finally:
            if previous:
                active.sparkContext.setCheckpointDir(previous)  # (Spark adds a fresh sub-folder)
            if own_dir:
                shutil.rmtree(work, ignore_errors=True)
        return
    if config.local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(config.master).appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if config.local:  # shuffle scratch files; a cluster's executors use their own local disks
        builder = builder.config("spark.local.dir", os.path.join(work, "scratch"))
    if jars := jdbc_jars():
        builder = builder.config("spark.jars", ",".join(jars))
    for key, value in config.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(os.path.join(work, "checkpoints"))
    try:
        yield spark, work
    finally:
        spark.stop()
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)
