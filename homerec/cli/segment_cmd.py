# SPDX-License-Identifier: Apache-2.0
"""homerec segments: the customers likeliest to buy a product or any product matching attributes."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from homerec.cli.common import ArtifactsOpt, ConfigOpt, StoreOpt, console, settings
from homerec.models.registry import Registry
from homerec.pipeline.segments import ATTRIBUTES_KEY, ITEM_KEY, read_segment_queries, run_segments
from homerec.storage import open_store


def segments(
    out: Annotated[Path, typer.Option(help="Output file (Personalize batch segment JSON lines)")],
    item: Annotated[Optional[list[str]], typer.Option(help="An item id (Item-Affinity); repeatable")] = None,
    attribute: Annotated[Optional[list[str]], typer.Option(help=(
        "An item attribute expression, e.g. 'Items.CATEGORY IN (\"Gloves\")' (Item-Attribute-Affinity); repeatable"
    ))] = None,
    input_file: Annotated[Optional[Path], typer.Option("--input", help=(
        "Personalize batch segment input: JSON lines of {\"itemId\": ...} or {\"itemAttributes\": ...}"))] = None,
    k: Annotated[int, typer.Option(min=1, max=1_000_000, help="Customers per segment")] = 100,
    include_buyers: Annotated[bool, typer.Option(help="Also list customers who already bought the item(s)")] = False,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """List the customers likeliest to buy each item or attribute (new buyers by default), for sales reps."""
    queries = [(ITEM_KEY, i) for i in item or []] + [(ATTRIBUTES_KEY, a) for a in attribute or []]
    if input_file is not None:
        queries += read_segment_queries(input_file)
    s = settings(config, store, artifacts)
    st = open_store(s.store_url)
    try:
        r = run_segments(st, Registry(s.artifact_dir), out, queries, k, include_buyers)
    finally:
        st.close()
    console.print(f"wrote {r.n_queries - r.n_failed:,} segments of up to {k:,} customers with {r.version} "
                  f"to {r.out} in {r.seconds:.1f}s")
    if r.n_failed:
        console.print(f"[yellow]{r.n_failed:,} queries failed; their lines hold the error[/]")
