# SPDX-License-Identifier: Apache-2.0
"""homerec train | evaluate | batch | recommend | similar | models list/promote/rollback."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from homerec.cli.common import ArtifactsOpt, CacheOpt, ConfigOpt, StoreOpt, console, named_progress, say, settings
from homerec.cli.spark_cmds import EngineOpt, SparkMasterOpt, SparkWorkDirOpt, batch_spark, train_spark, use_spark

from homerec.evaluation.report import format_table, write_html
from homerec.data.schema import SIMILAR_ITEMS, USER_RECS
from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.pipeline.evaluate import run_evaluation
from homerec.pipeline.quality import breadth_of, rule_of
from homerec.pipeline.replicas import announce_active, share_lists
from homerec.pipeline.train import train as train_models
from homerec.storage import open_store

models_app = typer.Typer(help="List, promote and roll back model versions.", no_args_is_help=True)


def _names(models: str | None) -> list[str] | None:
    return [m.strip() for m in models.split(",") if m.strip()] if models else None


def train(
    models: Annotated[Optional[str], typer.Option(help="Comma-separated parts (default: all); one name trains it alone")] = None,
    tune: Annotated[bool, typer.Option(help="Also search each part's hyper-parameters on the validation split")] = False,
    until: Annotated[Optional[str], typer.Option(help=(
        "Train on events before this DATE only (YYYY-MM-DD, ISO date-time or epoch s), "
        "e.g. to compare on later purchases"))] = None,
    activate: Annotated[bool, typer.Option(help="Make the new version the active one")] = True,
    engine: EngineOpt = "local", spark_master: SparkMasterOpt = None, spark_work_dir: SparkWorkDirOpt = None,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Train the hybrid and its parts on the store's data and register a new version (active by default).

    With --engine spark, ALS trains on Spark and registers the same kind of version.
    """
    from homerec.pipeline.compare import parse_since

    s = settings(config, store, artifacts)
    cutoff = parse_since(until, "--until") if until is not None else None
    if use_spark(engine):
        report = train_spark(s, spark_master, spark_work_dir, _names(models), tune, activate, cutoff, say)
    else:
        st = open_store(s.store_url)
        try:
            report = train_models(st, Registry(s.artifact_dir), _names(models), tune, s.event_weights,
                                  activate=activate, progress=say, until=cutoff, breadth=breadth_of(s),
                                  rule=rule_of(s))
        finally:
            st.close()
    console.print(f"[green]registered {report.version}{'' if activate else ' (not active)'}[/] "
                  f"({report.model}: {', '.join(report.parts)}) "
                  f"on {report.n_interactions:,} interactions in {report.seconds:.1f}s")
    if activate:
        announce_active(s, report.version)
    for name, reason in report.skipped.items():
        console.print(f"[yellow]{name} skipped:[/] {reason}")
    for name, note in report.notes.items():
        console.print(f"[yellow]{name}:[/] {note}")
    if report.decision:
        console.print(f"blend: {report.decision['reason']}")
    if report.non_products:
        console.print(f"{report.non_products:,} non-products by the configured rule are never recommended")
    if report.companions:
        console.print("with " + ", ".join(f"{n} ({s:.1f}s)" for n, s in report.companions.items()))
    if report.validation_ndcg:
        table = Table("model", "validation NDCG@10", "blend weights (by history length)")
        for name, v in report.validation_ndcg.items():
            table.add_row(name, f"{v:.4f}", ", ".join(f"{w:g}" for w in report.weights.get(name, [])))
        console.print(table)


def evaluate(
    folder: Annotated[Path, typer.Argument(help="Personalize-layout folder")],
    k: Annotated[int, typer.Option(min=1, max=500)] = 10,
    models: Annotated[Optional[str], typer.Option(help="Comma-separated models (default: all and the hybrid)")] = None,
    tune: Annotated[bool, typer.Option(help="Search every model's hyper-parameters on validation")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the metrics as JSON")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Write an HTML report with plots (and the accuracy/breadth curve)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the shared offline protocol (temporal 90/10 split) for every model and the hybrid.

    The blend and popularity mixes are tuned under the configured breadth constraint
    (`blend_max_item_share`, `blend_min_coverage_ratio`); non-product rules apply too.
    """
    s = settings(config)
    result = run_evaluation(folder, k, _names(models), tune, progress=say, breadth=breadth_of(s), rule=rule_of(s))
    rows = format_table(result)
    table = Table(*rows[0], title=f"{result.dataset}: {result.n_eval_users:,} evaluation users")
    for row in rows[1:]:
        table.add_row(*row)
    console.print(table)
    if json_out:
        json_out.write_text(json.dumps(result.to_json(), indent=2))
        console.print(f"wrote {json_out}")
    if html:
        write_html(result, html)
        console.print(f"wrote {html}")


def batch(
    out: Annotated[Optional[Path], typer.Option(help="Output file (default: refresh the serving cache only)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="personalize (JSON lines) or csv")] = "personalize",
    k: Annotated[int, typer.Option(min=1, max=500)] = 10,
    users: Annotated[Optional[Path], typer.Option(help="File with one user id a line (default: all users)")] = None,
    similar_items: Annotated[bool, typer.Option(help="Also write top-k similar items for every item")] = False,
    include_seen: Annotated[bool, typer.Option(help=(
        "Buy-again lists: re-orders (due dates, suggested quantities) and discoveries, as of the newest "
        "event; written to the file only, not to the serving cache"))] = False,
    engine: EngineOpt = "local", spark_master: SparkMasterOpt = None, spark_work_dir: SparkWorkDirOpt = None,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, cache: CacheOpt = None, config: ConfigOpt = None,
) -> None:
    """Precompute top-k lists with the active model into the store's cache, and a file with --out (users scored on
    Spark with --engine spark). With a shared cache (--cache), replicas switch to the new lists at once."""
    s = settings(config, store, artifacts, cache)
    if use_spark(engine):
        with named_progress() as tick:
            r = batch_spark(s, spark_master, spark_work_dir, out, fmt, k, users, similar_items, include_seen, tick)
    else:
        st = open_store(s.store_url)
        try:
            with named_progress() as tick:
                r = run_batch(st, Registry(s.artifact_dir), out, fmt, k, users, similar_items, include_seen,
                              s.batch_chunk, s.threads, s.event_weights, tick)
        finally:
            st.close()
    console.print(f"wrote top-{k} for {r.n_users:,} users ({r.n_fallback_users:,} on the popularity fallback)"
                  + (f" and {r.n_items:,} items" if r.n_items else "") + f" with {r.version} to "
                  + (f"{r.out} and " if r.out is not None else "") + f"the cache in {r.seconds:.1f}s")
    namespaces = ([] if include_seen else [USER_RECS]) + ([SIMILAR_ITEMS] if similar_items else [])
    for pointer in share_lists(s, namespaces):
        console.print(f"shared cache: {pointer.namespace} lists switched to generation {pointer.generation} "
                      f"({pointer.rows:,} lists)")


def recommend(
    user_id: Annotated[str, typer.Argument()],
    k: Annotated[int, typer.Option(min=1, max=500)] = 10,
    include_seen: Annotated[bool, typer.Option(help="The buy-again list: re-orders and discoveries")] = False,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Show a user's recommendations from the active model and their stored history."""
    s = settings(config, store, artifacts)
    st = open_store(s.store_url)
    try:
        events = st.history(user_id)
        # As of the newest event in the store (events after the user's last one are few to read).
        since = int(events["ts"].max()) if events.height else None
        now = int(st.interactions(since=since)["ts"].max() or 0) + 1 if include_seen else 0
    finally:
        st.close()
    registry = Registry(s.artifact_dir)
    model = registry.load()
    if include_seen:
        recs = registry.load_part("reorder", discovery=model).recommend(user_id, events, now=now, k=k)
    else:
        recs = model.recommend(user_id, k, history=events["item_id"].to_list())
    table = Table("rank", "item", "score", "0-10", "reason", "units", title=f"{user_id} ({events.height} events)")
    for i, r in enumerate(recs, 1):
        units = "" if r.quantity is None else f"{r.quantity:g}"
        table.add_row(str(i), r.item_id, f"{r.score:.4f}", f"{r.score10:.1f}", r.reason, units)
    console.print(table)


def similar(
    item_id: Annotated[str, typer.Argument()],
    k: Annotated[int, typer.Option(min=1, max=500)] = 10,
    artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Show the items most similar to one item according to the active model."""
    model = Registry(settings(config, None, artifacts).artifact_dir).load()
    table = Table("rank", "item", "score", "0-10", title=f"similar to {item_id}")
    for i, r in enumerate(model.similar_items(item_id, k), 1):
        table.add_row(str(i), r.item_id, f"{r.score:.4f}", f"{r.score10:.1f}")
    console.print(table)


@models_app.command("list")
def list_models(artifacts: ArtifactsOpt = None, config: ConfigOpt = None) -> None:
    """Registered versions with their validation metrics; * marks the active one."""
    reg = Registry(settings(config, None, artifacts).artifact_dir)
    table = Table("", "version", "model", "created", "interactions", "validation NDCG@10", "train s")
    import datetime as dt

    for info in reg.list_versions():
        m = info.meta
        ndcg = (m.get("validation_ndcg") or {}).get("hybrid")
        table.add_row("*" if info.active else "", info.version, m.get("model", "?"),
                      dt.datetime.fromtimestamp(m.get("created_at", 0), dt.UTC).strftime("%Y-%m-%d %H:%M"),
                      f"{m.get('n_interactions', 0):,}", f"{ndcg:.4f}" if ndcg is not None else "",
                      str(m.get("train_seconds", "")))
    console.print(table)


@models_app.command()
def promote(version: str, store: StoreOpt = None, artifacts: ArtifactsOpt = None, cache: CacheOpt = None,
            config: ConfigOpt = None) -> None:
    """Make VERSION the active model; running servers and replicas switch to it within seconds."""
    s = settings(config, store, artifacts, cache)
    Registry(s.artifact_dir).promote(version)
    announce_active(s, version)
    console.print(f"{version} is active")


@models_app.command("purge-user")
def purge_user(
    user_id: Annotated[str, typer.Argument(help="The user to remove from every kept model version")],
    artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Rewrite every model version without a user (their id and learned vectors); pair it with delete-user."""
    from homerec.pipeline.purge import purge_user as purge

    report = purge(Registry(settings(config, None, artifacts).artifact_dir), user_id)
    if report.rewritten:
        console.print(f"{user_id} removed from {', '.join(report.rewritten)}; running servers drop it from memory "
                      "at their next model load (POST /v1/admin/reload?force=true, or a restart)")
    else:
        console.print(f"no model version knows {user_id}")


@models_app.command()
def rollback(store: StoreOpt = None, artifacts: ArtifactsOpt = None, cache: CacheOpt = None,
             config: ConfigOpt = None) -> None:
    """Re-activate the previously active version; running servers and replicas switch to it within seconds."""
    s = settings(config, store, artifacts, cache)
    version = Registry(s.artifact_dir).rollback()
    announce_active(s, version)
    console.print(f"rolled back: {version} is active")


