# SPDX-License-Identifier: Apache-2.0
"""The `homerec` command: one sub-command per workflow; user errors print a message, not a traceback."""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from homerec.cli import (
    compare_cmd,
    data_cmds,
    experiment_cmds,
    model_cmds,
    personalize_cmds,
    schedule_cmd,
    segment_cmd,
    serve_cmd,
    simulate_cmd,
)
from homerec.cli.common import console, say
from homerec.errors import HomerecError

app = typer.Typer(help="homerec: an on-premise recommendation engine that speaks AWS Personalize.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.command()(data_cmds.generate)
app.command("import")(data_cmds.import_data)
app.command("delete-user")(data_cmds.delete_user)
app.command()(model_cmds.train)
app.command()(model_cmds.evaluate)
app.command()(model_cmds.batch)
app.command("batch-inference")(personalize_cmds.batch_inference)
app.command("personalize-job", hidden=True)(personalize_cmds.personalize_job)
app.command()(model_cmds.recommend)
app.command()(model_cmds.similar)
app.command()(segment_cmd.segments)
app.add_typer(model_cmds.models_app, name="models")
app.command()(serve_cmd.serve)
app.command("ship-exposures", hidden=True)(serve_cmd.ship_exposures)
app.add_typer(experiment_cmds.experiment_app, name="experiment")
app.command()(compare_cmd.compare)
app.command()(simulate_cmd.simulate)
app.command()(schedule_cmd.schedule)


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Working folder for the demo")] = Path("demo"),
    scale: Annotated[float, typer.Option(help="Data size (1.0 = the reference workload)")] = 0.1,
    seed: int = 0,
    serve: Annotated[bool, typer.Option(help="End by serving the API (Ctrl-C stops it)")] = True,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the demo server")] = 8000,
) -> None:
    """Generate data, import it into SQLite, train, evaluate and batch, then serve it all over HTTP."""
    from homerec.pipeline.demo import run_demo

    s = run_demo(folder, scale, seed, say)
    table = Table("model", "NDCG@10", "HR@10", "Coverage@10", "fit s", title="offline evaluation (temporal 90/10)")
    for name, m in s.evaluation.models.items():
        table.add_row(name, f"{m.metrics['NDCG@10']:.4f}", f"{m.metrics['HR@10']:.4f}",
                      f"{m.metrics['Coverage@10']:.3f}", f"{m.fit_seconds:.1f}")
    console.print(table)
    imported = sum(r.imported for r in s.imported)
    console.print(f"data: {s.generated.n_interactions:,} interactions, {s.generated.n_users:,} users, "
                  f"{s.generated.n_items:,} items; imported {imported:,} rows into {s.store_url}")
    console.print(f"model: {s.trained.version} ({', '.join(s.trained.parts)}) trained in {s.trained.seconds:.1f}s")
    console.print(f"batch: {s.batch.n_users:,} users and {s.batch.n_items:,} items in {s.batch.seconds:.1f}s "
                  f"→ {s.batch.out}; report → {s.folder / 'evaluation.html'}")
    console.print(f"sample for {s.sample_user}: " + ", ".join(f"{r.item_id} ({r.score10:.1f}, {r.reason})" for r in s.sample))
    console.print(f"[green]demo done in {s.seconds:.0f}s[/]")
    if serve:
        console.print(demo_requests(f"http://127.0.0.1:{port}", s.sample_user, s.sample[0].item_id if s.sample else "",
                                    s.folder), markup=False, highlight=False, soft_wrap=True)
        # A fresh process: forking server workers from one that trained (BLAS threads) can hang them.
        os.environ["HOMEREC_SIGV4_KEYS"] = f"{DEMO_KEY}:{DEMO_SECRET}"
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-m", "homerec.cli.main", "serve", "--store", s.store_url,
                                  "--artifacts", str((s.folder / "artifacts").resolve()), "--port", str(port)])


DEMO_KEY, DEMO_SECRET = "DEMOACCESSKEY", "demo-secret"
"""SigV4 credentials the demo server accepts (the printed boto3 example uses them)."""


def demo_requests(url: str, user: str, item: str, folder: Path) -> str:
    """Example requests against the demo server, ready to paste."""
    return f"""
Try it (the server starts below; Ctrl-C stops it):
  curl '{url}/v1/users/{user}/recommendations?num_results=5'
  curl '{url}/v1/items/{item}/similar?num_results=5'
  curl -X POST {url}/v1/events -H 'content-type: application/json' \\
       -d '{{"events": [{{"user_id": "{user}", "item_id": "{item}", "event_type": "purchase"}}]}}'
  curl '{url}/v1/users/{user}/recommendations?num_results=5'     # the purchase is reflected at once
  open {url}/dashboard                                             # models, experiments, user lookup
  homerec simulate {folder / 'data'} --url {url} --requests 500   # synthetic shoppers click and buy
  python -c "import boto3; print(boto3.client('personalize-runtime', endpoint_url='{url}', region_name='us-east-1',
      aws_access_key_id='{DEMO_KEY}', aws_secret_access_key='{DEMO_SECRET}').get_recommendations(
      campaignArn='arn:aws:personalize:us-east-1:1:campaign/demo', userId='{user}', numResults=5)['itemList'])"
"""


def main() -> None:
    """Entry point: run the app; a HomerecError becomes a one-line message and exit code 2."""
    try:
        app()
    except HomerecError as err:
        console.print(f"[red]error:[/] {escape(str(err))}")
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
