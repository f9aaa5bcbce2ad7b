# SPDX-License-Identifier: Apache-2.0
"""Non-products end to end: import lists the shipping line it suspects, a configured rule keeps it out of every list."""

import json
from pathlib import Path

import polars as pl
import pytest

from homerec.synth.generate import generate
from tests.cli.test_cli import homerec


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """Generated data where every order also carries a 'SHIP-STD' line (a delivery charge)."""
    d = tmp_path_factory.mktemp("nonproducts")
    generate(d / "data", scale=0.005, seed=2)
    path = d / "data" / "interactions.csv"
    lines = pl.read_csv(path, infer_schema=False)
    orders = lines.unique(["USER_ID", "TIMESTAMP"], keep="first").with_columns(pl.lit("SHIP-STD").alias("ITEM_ID"))
    pl.concat([lines, orders]).write_csv(path)
    items = pl.read_csv(d / "data" / "items.csv", infer_schema=False)
    pl.concat([items, pl.DataFrame({"ITEM_ID": ["SHIP-STD"], "CATEGORY": ["Fees"], "PRICE": ["5.0"]})],
              how="diagonal").write_csv(d / "data" / "items.csv")
    return d


def test_import_lists_the_suspect_and_the_rule_keeps_it_out(shop):
    run = homerec("import", "data", cwd=shop)
    assert run.returncode == 0 and "suspected non-products" in run.stdout and "SHIP-STD" in run.stdout
    assert homerec("train", "--models", "popularity", cwd=shop).returncode == 0
    assert homerec("batch", "--out", "before.jsonl", "--format", "personalize", cwd=shop).returncode == 0
    before = (shop / "before.jsonl").read_text()
    assert "SHIP-STD" in before  # the best seller of all, until the operator decides
    (shop / "homerec.toml").write_text('non_product_categories = ["fees"]\n')
    run = homerec("train", "--models", "popularity", cwd=shop)
    assert run.returncode == 0 and "1 non-products" in run.stdout
    assert homerec("batch", "--out", "after.jsonl", "--format", "personalize", "--similar-items", cwd=shop).returncode == 0
    rows = [json.loads(line) for line in (shop / "after.jsonl").read_text().splitlines()]
    assert rows and not any("SHIP-STD" in json.dumps(r.get("output", r)) for r in rows)
