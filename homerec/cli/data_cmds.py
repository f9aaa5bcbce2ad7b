# SPDX-License-Identifier: Apache-2.0
"""homerec generate | import | delete-user."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from homerec.cli.common import ConfigOpt, StoreOpt, console, progress_bar, settings
from homerec.errors import InputError
from homerec.pipeline.suspects import suspected_non_products
from homerec.storage import open_store
from homerec.storage.load import (
    ImportOptions,
    ImportReport,
    import_folder,
    import_interactions,
    import_items,
    import_users,
)
from homerec.synth.generate import generate as generate_data


def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder for interactions.csv, items.csv, users.csv")],
    scale: Annotated[float, typer.Option(help="1.0 = 180,483 users, 4,182 items, ~1.97M lines")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files")] = 0,
    legacy: Annotated[bool, typer.Option(help=(
        "Also write what the replaced system gave: a Personalize batch file that is a popularity "
        "fallback (zero scores), as of four weeks before the end"))] = False,
) -> None:
    """Generate realistic B2B purchase data in the AWS Personalize CSV layout."""
    with progress_bar() as bar:
        task = bar.add_task("generating", total=100)
        summary = generate_data(out_dir, scale, seed, progress=lambda _s, f: bar.update(task, completed=100 * f))
    console.print(
        f"wrote {summary.n_interactions:,} interactions of {summary.n_users_with_orders:,} ordering users "
        f"({summary.n_users:,} users, {summary.n_items:,} items) to {out_dir} in {summary.seconds:.1f}s"
    )
    if legacy:
        import datetime as dt

        from homerec.synth.legacy import write_legacy_output

        path, until = write_legacy_output(out_dir)
        day = dt.datetime.fromtimestamp(until, dt.UTC).date().isoformat()
        console.print(f"wrote the legacy system's lists (a popularity fallback as of {day}) to {path}; "
                      f"compare on the later purchases with --since {day}")


def import_data(
    folder: Annotated[Optional[Path], typer.Argument(help="Personalize-layout folder")] = None,
    interactions: Annotated[Optional[Path], typer.Option(help=(
        "An interactions file (CSV or Parquet), or a folder of Parquet files (read in batches)"))] = None,
    items: Annotated[Optional[Path], typer.Option(help="An items file")] = None,
    users: Annotated[Optional[Path], typer.Option(help="A users file")] = None,
    rejects_dir: Annotated[Path, typer.Option(help="Where rejected rows are written")] = Path("rejects"),
    encoding: Annotated[Optional[str], typer.Option(help=(
        "Text encoding of the CSV files, e.g. cp1252 (default: detected per file: UTF-8, "
        "else Windows-1252)"))] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Import interactions, items and users; bad rows go to a rejects file, the rest imports."""
    if folder is None and not (interactions or items or users):
        raise InputError("give a folder, or --interactions/--items/--users FILE")
    s = settings(config, store)
    options = ImportOptions(encoding=encoding, max_future_s=s.max_future_skew_s)
    st = open_store(s.store_url)
    reports: list[ImportReport] = []
    try:
        with progress_bar() as bar:
            task = bar.add_task("importing", total=None)
            tick = lambda done, total: bar.update(task, completed=done, total=total)  # noqa: E731
            if folder is not None:
                reports += import_folder(st, folder, rejects_dir, tick, options)
            for path, fn, kind in ((items, import_items, "items"), (users, import_users, "users"),
                                   (interactions, import_interactions, "interactions")):
                if path is not None:
                    reports.append(fn(st, path, rejects_dir / f"{kind}.rejects.csv", tick, options))
        suspects = suspected_non_products(st.interactions()) if any(r.kind == "interactions" for r in reports) else []
    finally:
        st.close()
    table = Table("file", "kind", "read", "imported", "rejected", "duplicates skipped", "seconds")
    for r in reports:
        table.add_row(r.file, r.kind, f"{r.rows_read:,}", f"{r.imported:,}", f"{r.rejected:,}",
                      f"{r.duplicates:,}", f"{r.seconds:.1f}")
    console.print(table)
    for r in reports:
        if r.encoding not in (None, "utf-8"):
            console.print(f"{r.file} was read as {r.encoding} (not UTF-8; choose with --encoding)")
        if r.rejected:
            console.print(f"[yellow]{r.rejected:,} rejected rows of {r.file} are in {r.rejects_file}[/]")
    if suspects:
        table = Table("item", "customers", "orders", "why", title="suspected non-products (never recommended "
                      "once listed in non_product_ids, or matched by non_product_id_pattern, in homerec.toml)")
        for x in suspects:
            table.add_row(x.item_id, f"{x.customers_share:.0%}", f"{x.orders_share:.0%}", "; ".join(x.reasons))
        console.print(table)


def delete_user(
    user_id: Annotated[str, typer.Argument(help="The user whose data is removed")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Delete a user's events, profile, cached lists and exposures (privacy request; see also models purge-user)."""
    st = open_store(settings(config, store).store_url)
    try:
        removed = st.delete_user(user_id)
    finally:
        st.close()
    console.print(", ".join(f"{n:,} {table}" for table, n in removed.items()) + f" removed for {user_id}")
    console.print("later cached lists and exposures for this id are refused until it has new events; "
                  f"model versions still hold it until the next retrain or `homerec models purge-user {user_id}`")
