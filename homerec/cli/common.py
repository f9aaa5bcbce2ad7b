# SPDX-License-Identifier: Apache-2.0
"""Shared CLI pieces: the console, settings and store options, progress bars."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from homerec.settings import Settings, load_settings

console = Console(stderr=False)

StoreOpt = Annotated[Optional[str], typer.Option("--store", help="Store URL: sqlite:///PATH or postgresql://…")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="TOML settings file (default ./homerec.toml)")]
ArtifactsOpt = Annotated[Optional[Path], typer.Option("--artifacts", help="Model registry folder")]
CacheOpt = Annotated[Optional[str], typer.Option(
    "--cache", help="Shared cache of serving replicas: redis://HOST:PORT/DB (homerec[redis])")]


def settings(config: Path | None = None, store: str | None = None, artifacts: Path | None = None,
             cache: str | None = None) -> Settings:
    """Settings with the command's explicit options on top."""
    return load_settings(config, store_url=store, artifact_dir=artifacts, cache_url=cache)


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A rich progress bar that disappears when done."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        yield bar


@contextmanager
def named_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar with one task per name; yields `tick(name, done, total)`."""
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def tick(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        yield tick


def say(message: str) -> None:
    """A progress line."""
    console.print(f"[dim]…[/] {message}")
