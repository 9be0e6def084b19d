"""One Spark session for the whole test run (start-up takes seconds); skipped with the reason
when pyspark or a Java runtime is missing (.ci/run installs Debian's Java runtime)."""

from __future__ import annotations

import os
import shutil
import sys
import warnings

import pytest


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install ipdma[spark])")
    if shutil.which("java") is None:
        pytest.skip(
            "no Java runtime on PATH (Spark needs one: apt-get install default-jre-headless)"
        )
    # Python workers (grouped maps) run this interpreter, which has ipdma and its dependencies
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark's FutureWarning about pandas 3
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[2]")
            .appName("ipdma-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.driver.memory", "1g")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
