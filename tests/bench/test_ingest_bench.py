# SPDX-License-Identifier: Apache-2.0
"""The import benchmark: its rows in the speed table, and one run end to end at a small scale."""

import pytest

from bench import ingest
from bench.report import speed_markdown

RUN = {
    "scale": 1.0, "target_ratio": 5.0, "csv_mb": 81.8, "pyarrow_parse_seconds": 0.2,
    "pyarrow_parse": {"seconds": 0.2, "cpu_seconds": 0.3, "runs": [0.2, 0.25]},
    "sqlite": {"seconds": 4.0, "cpu_seconds": 3.6, "reimport_seconds": 3.0, "rows": 1_974_472, "imported": 1_974_472,
               "ratio": 20.0, "cpu_ratio": 12.0, "runs": [4.2, 4.0, 4.1]},
    "postgres": {"seconds": 12.0, "reimport_seconds": 8.0, "ratio": 60.0, "server": "PostgreSQL 15, default settings"},
    "parquet_folder": {"files": 8, "seconds": 5.0},
    "memory": {"csv_peak_rss_mb": 950.0, "parquet_folder_peak_rss_mb": 840.0, "idle_cli_rss_mb": 240.0},
    "load_average_before": 3.0, "load_average_after": 4.0, "machine": {"cpus": 2},
    "breakdown": {"read the CSV": 0.5, "stage through ADBC": 1.0, "total": 4.1},
    "bare_sqlite_insert_seconds": 2.0,
}  # fmt: skip


def test_the_rows_say_the_ratio_the_verdict_and_the_postgres_path_beside():
    rows = ingest.speed_rows(RUN)
    assert rows[0][:6] == ("Import into SQLite (bulk path)", "1,974,472 rows in 4.0 s", "pyarrow parse 0.20 s",
                           "20.0×", "≤ 5×", "**missed**")  # fmt: skip
    assert rows[1][1:4] == ("3.6 s", "pyarrow parse 0.30 s", "12.0×")
    assert rows[2][3] == "2.0×" and rows[3][1] == "3.0 s" and rows[4][1] == "12.0 s; re-import 8.0 s"
    assert "950 MB" in rows[6][1] and "840 MB" in rows[6][1] and "scale 1" in rows[6][0]
    met = ingest.speed_rows({**RUN, "sqlite": {**RUN["sqlite"], "ratio": 4.9}})
    assert met[0][5] == "met"
    notes = ingest.speed_notes(RUN)
    assert "SQLite 4.2, 4.0, 4.1 s, pyarrow 0.20, 0.25 s" in notes and "stage through ADBC 1.00 s" in notes


def test_the_speed_section_takes_its_import_rows_from_the_ingest_run():
    speed = {
        "scale": 1.0, "generate_seconds": 5.0, "machine": {"cpus": 2, "blas": [], "unset_env": []},
        "train": {"n_interactions": 10, "implicit_als_seconds": 4.0, "homerec_als_seconds": 4.4, "als_ratio": 1.1,
                  "hybrid_seconds": 8.0, "hybrid_ratio": 2.0, "hybrid_parts_seconds": {"als": 4.0},
                  "target_als_ratio": 1.1, "target_hybrid_ratio": 3.0},
        "batch": {"users": 1, "items": 1, "homerec_seconds": 1.0, "gemm_floor_seconds": 1.0, "ratio": 1.0,
                  "target_ratio": 3.0},
        "memory": {"train_peak_rss_mb": 1000.0, "train_seconds": 40.0, "target_mb": 4096},
    }  # fmt: skip
    text = speed_markdown(speed, RUN)
    assert "Import into SQLite (bulk path)" in text and "Import into PostgreSQL (COPY path)" in text
    assert "python -m bench.ingest" in text and "homerec ALS fit" in text
    assert "Import into" not in speed_markdown(speed)  # no import rows without a run


@pytest.mark.slow
def test_the_benchmark_runs_at_a_small_scale():
    result = ingest.run(0.005, step=lambda _msg: None)
    assert result["sqlite"]["imported"] == result["sqlite"]["rows"] > 0  # re-imports are checked to add nothing
    assert result["postgres"]["imported"] == result["sqlite"]["rows"]
    assert set(result["memory"]) == {"csv_peak_rss_mb", "parquet_folder_peak_rss_mb", "idle_cli_rss_mb"}
    assert len(ingest.speed_rows(result)) == 7
