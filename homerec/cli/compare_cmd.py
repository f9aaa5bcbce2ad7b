# SPDX-License-Identifier: Apache-2.0
"""homerec compare: two recommenders' lists for the same users, as a table, JSON and an HTML page."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from homerec.cli.common import ArtifactsOpt, ConfigOpt, StoreOpt, console, named_progress, say, settings
from homerec.evaluation.compare_report import summary_rows, write_compare_html
from homerec.models.registry import Registry
from homerec.pipeline.compare import parse_since, run_compare
from homerec.storage import open_store

SOURCE_HELP = "model:active, model:vN, file:PATH (Personalize batch output) or endpoint:URL#CAMPAIGN_ARN"


def compare(
    a: Annotated[str, typer.Option("--a", help=f"First SOURCE: {SOURCE_HELP}")],
    b: Annotated[str, typer.Option("--b", help=f"Second SOURCE: {SOURCE_HELP}")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the comparison as JSON")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write an HTML report with plots")] = None,
    users: Annotated[Optional[Path], typer.Option(help="File with one user id a line (default: users both sources cover)")] = None,
    k: Annotated[int, typer.Option(min=1, max=500)] = 10,
    since: Annotated[Optional[str], typer.Option(help="Cut-off DATE (YYYY-MM-DD, ISO date-time or epoch s): "
                                                       "later events are the held-out future")] = None,
    event_type: Annotated[Optional[str], typer.Option(help="Count only this event type as purchases (default: all)")] = None,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Compare two recommenders (homerec versions, Personalize batch files, live endpoints) on the same users."""
    s = settings(config, store, artifacts)
    cutoff = parse_since(since) if since is not None else None
    st = open_store(s.store_url)
    try:
        with named_progress() as tick:
            result = run_compare(st, Registry(s.artifact_dir), a, b, k, users, cutoff, event_type, s.event_weights,
                                 s.batch_chunk, s.threads, tick, say)
    finally:
        st.close()
    table = Table("", "A", "B", title=f"top-{k} lists of {result['n_users']:,} users ({result['users_from']})")
    for row in summary_rows(result):
        table.add_row(*row)
    pair = result["pair"]
    table.add_row(f"overlap@{k} / Jaccard@{k} / RBO",
                  " / ".join("–" if pair[m] is None else f"{pair[m]:.3f}" for m in ("overlap_at_k", "jaccard_at_k", "rbo")), "")
    console.print(table)
    for line in result["warnings"]:
        console.print(f"[yellow]warning:[/] {line}")
    for line in result["verdict"]:
        console.print(f"• {line}")
    written = []
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))
        written.append(str(json_out))
    if html is not None:
        write_compare_html(result, html)
        written.append(str(html))
    console.print(f"wrote {' and '.join(written)} in {result['seconds']:.1f}s" if written
                  else f"compared in {result['seconds']:.1f}s (--json FILE / --html FILE keep the details)")
