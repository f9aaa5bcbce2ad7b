# SPDX-License-Identifier: Apache-2.0
"""What the system being replaced gave: a Personalize batch-inference file that is a popularity fallback.

The project's founding complaint was a cloud recommender answering most customers with the
same popular items and a score of 0.000. `write_legacy_output` writes such a file for the
generated customers, so the migration story (`homerec compare --b file:…`) can be shown and
tested on generated data: every customer who ordered before `until` gets the `k` items most
ordered before `until`, with zero scores, in the Personalize JSON-lines layout.
"""

import json
from pathlib import Path

import polars as pl

from homerec.data.schema import ITEM_ID, TIMESTAMP, USER_ID

LEGACY_FILE = "legacy-personalize-output.jsonl"
HELD_OUT_DAYS = 28
"""By default the legacy lists are as of four weeks before the data's last event."""


def write_legacy_output(data_dir: Path, out: Path | None = None, until: int | None = None, k: int = 25) -> tuple[Path, int]:
    """Write the fallback file; returns its path and the cut-off (epoch s) it was computed at."""
    frame = pl.read_csv(data_dir / "interactions.csv", columns=[USER_ID, ITEM_ID, TIMESTAMP],
                        schema_overrides={USER_ID: pl.String, ITEM_ID: pl.String, TIMESTAMP: pl.Int64})
    if until is None:
        until = int(frame[TIMESTAMP].max()) - HELD_OUT_DAYS * 86400
    before = frame.filter(pl.col(TIMESTAMP) < until)
    top = before.group_by(ITEM_ID).len().sort(["len", ITEM_ID], descending=[True, False]).head(k)[ITEM_ID].to_list()
    users = before[USER_ID].unique().sort().to_list()
    out = out or data_dir / LEGACY_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    line_tail = json.dumps({"recommendedItems": top, "scores": [0.0] * len(top)})
    with out.open("w") as fh:
        for user in users:
            fh.write(f'{{"input": {json.dumps({"userId": user})}, "output": {line_tail}}}\n')
    return out, until
