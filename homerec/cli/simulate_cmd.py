# SPDX-License-Identifier: Apache-2.0
"""homerec simulate: synthetic customers use a running server through its HTTP API."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from homerec.cli.common import console, progress_bar
from homerec.synth.simulate import DEFAULT_URL, SimulationSummary
from homerec.synth.simulate import simulate as run_simulation


def simulate(
    data_dir: Annotated[Path, typer.Argument(help="A folder written by `homerec generate` (holds the hidden tastes)")],
    url: Annotated[str, typer.Option(help="Base URL of the running `homerec serve`")] = DEFAULT_URL,
    requests: Annotated[int, typer.Option(min=0, help="Recommendation requests to make")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Parallel simulated users")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the user draws and their clicks")] = 0,
    api_key: Annotated[Optional[str], typer.Option(help="Sent as x-api-key (when the server has keys)")] = None,
    duration: Annotated[float, typer.Option(min=0.001, help="Stop starting requests after this many seconds")] = 60.0,
    new_user_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of users without orders")] = 0.1,
    num_results: Annotated[int, typer.Option(min=1, max=500, help="Items per list")] = 10,
) -> None:
    """Replay the generated customers against a server: they click and buy by their hidden tastes."""
    with progress_bar() as bar:
        task = bar.add_task("simulating", total=requests)
        summary = run_simulation(
            data_dir, url, requests=requests, concurrency=concurrency, seed=seed, api_key=api_key,
            duration=duration, new_user_share=new_user_share, num_results=num_results,
            progress=lambda done, _total: bar.update(task, completed=done),
        )
    print_summary(summary)


def print_summary(s: SimulationSummary) -> None:
    """The per-source table, the totals line and any errors."""
    table = Table("source", "lists", "CTR", "expected CTR", "clicks", "purchases", "revenue", "explored (clicks)",
                  title=f"simulation against {s.url}")
    for name, st in sorted(s.by_source.items()):
        table.add_row(name, f"{st.lists:,}", f"{st.ctr:.2%}", f"{st.expected_ctr:.2%}", f"{st.clicks:,}",
                      f"{st.purchases:,}", f"{st.revenue:,.2f}", f"{st.explored:,} ({st.explored_clicks:,})")
    explored = sum(st.explored for st in s.by_source.values())
    table.add_row("all", f"{s.lists:,}", f"{s.ctr:.2%}", "", f"{s.clicks:,}", f"{s.purchases:,}",
                  f"{s.revenue:,.2f}", f"{explored:,}", style="bold")
    console.print(table)
    console.print(f"{s.requests:,} requests in {s.seconds:.1f}s ({s.requests_per_s:.0f}/s); "
                  f"{s.events_accepted:,} events stored, {s.events_duplicate:,} duplicates, {s.n_errors:,} errors")
    for what, n in s.errors.most_common():
        console.print(f"[yellow]{n:,} × {what}[/]")
