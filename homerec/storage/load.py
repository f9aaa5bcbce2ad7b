# SPDX-License-Identifier: Apache-2.0
"""Bulk import of Personalize-layout CSV or Parquet files: validated, chunked and idempotent.

Bad rows never stop an import: each is reported with its line and reason in a rejects
CSV (line, reason, raw; with a first column `file` for a folder of files) and the rest
goes in. Only a file that cannot be read at all (missing, empty, unknown type, required
column missing, a Parquet column of structs) raises `InputError`. `ImportOptions` says
how to read (the CSV encoding) and what to accept (how far in the future an event may be
dated). Events go in through the store's bulk path (`Store.load_interactions`); a folder
of Parquet files is read one record batch at a time (`homerec.storage.parquetfile`).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from homerec.data.rules import DEFAULT_FUTURE_SKEW_S
from homerec.data.schema import (
    ITEM_ID,
    OPTIONAL_INTERACTION_COLUMNS,
    REQUIRED_INTERACTION_COLUMNS,
    USER_ID,
)
from homerec.errors import InputError
from homerec.storage.base import Store
from homerec.storage.parquetfile import PARQUET_SUFFIXES, file_schema, folder_files, read_batches
from homerec.storage.rawrows import RawRows
from homerec.storage.validate import (
    CSV_SUFFIXES,
    Reject,
    check_entities,
    check_interactions,
    find_columns,
    match_columns,
    read_rows,
    write_rejects,
)

Progress = Callable[[int, int], None]
"""progress(rows_done, rows_total)."""


@dataclass(frozen=True)
class ImportOptions:
    """How import files are read and what they may hold.

    Attributes:
        encoding: the CSV files' text encoding (None: detected per file; see
            `homerec.storage.csvfile`).
        max_future_s: events dated later than now plus this many seconds are rejected.
    """

    encoding: str | None = None
    max_future_s: int = DEFAULT_FUTURE_SKEW_S


@dataclass
class ImportReport:
    """What one file import did.

    `rows_read == imported + rejected + duplicates`. For items and users, `imported` counts
    rows inserted or changed, `duplicates` rows already stored unchanged or repeated in the file.
    """

    file: str
    kind: str
    rows_read: int
    imported: int
    rejected: int
    duplicates: int
    rejects_file: str | None
    seconds: float
    encoding: str | None = field(default=None)
    """The encoding a CSV file was read in (detected or given); None for Parquet."""


def _as_path(path: str | Path) -> Path:
    return Path(path).expanduser()


def _finish_rejects(
    rejects: list[Reject], source: Path, rejects_path: str | Path | None, files: list[str] | None = None
) -> str | None:
    """Write the rejects file (default: ./rejects/<stem>.rejects.csv) when there are rejects."""
    if not rejects:
        return None
    target = _as_path(rejects_path) if rejects_path else Path.cwd() / "rejects" / f"{source.stem}.rejects.csv"
    write_rejects(rejects, target, files)
    return str(target)


def _event_files(path: Path, encoding: str | None) -> Iterator[RawRows]:
    """An events file read whole, or a folder's Parquet files in record batches (every schema checked first)."""
    if not path.is_dir():
        yield read_rows(path, encoding)
        return
    wanted = {}
    for part in folder_files(path):  # a bad file stops the import before anything is stored
        names = list(file_schema(part))
        wanted[part] = list(match_columns(part, names, REQUIRED_INTERACTION_COLUMNS, OPTIONAL_INTERACTION_COLUMNS).values())
    for part, columns in wanted.items():
        yield from read_batches(part, columns)


@dataclass
class _Tally:
    """What reading an events import found besides its valid rows."""

    read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """The file of each reject, relative to the imported folder."""
    encoding: str | None = None


def _valid_events(path: Path, options: ImportOptions, tally: _Tally) -> Iterator[pl.DataFrame]:
    for rows in _event_files(path, options.encoding):
        columns = find_columns(rows, REQUIRED_INTERACTION_COLUMNS, OPTIONAL_INTERACTION_COLUMNS)
        good, rejects = check_interactions(rows, columns, options.max_future_s)
        tally.read, tally.encoding = tally.read + rows.count, rows.encoding
        tally.rejects += rejects
        if path.is_dir():
            tally.files += [rows.path.relative_to(path).as_posix()] * len(rejects)
        batch = [good]
        del rows, good  # neither the file's text nor the batch stays here while the store stages it
        yield batch.pop()


def import_interactions(
    store: Store, path: str | Path, rejects_path: str | Path | None = None, progress: Progress | None = None,
    options: ImportOptions = ImportOptions(),
) -> ImportReport:
    """Import events (USER_ID, ITEM_ID, TIMESTAMP, optional EVENT_TYPE, EVENT_VALUE, ORDER_ID, QUANTITY; any case).

    Without ORDER_ID, one customer's events at one timestamp form a basket (one order).

    `path` is a CSV or Parquet file, or a folder of Parquet files (see
    `homerec.storage.parquetfile`); the rejects of a folder name their file.

    Raises:
        InputError: a file cannot be read at all or lacks a required column (nothing is stored then).
    """
    start, path, tally = time.perf_counter(), _as_path(path), _Tally()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    added = store.load_interactions(_valid_events(path, options, tally), progress)
    rejects_file = _finish_rejects(tally.rejects, path, rejects_path, tally.files if path.is_dir() else None)
    return ImportReport(
        str(path), "interactions", tally.read, added.inserted, len(tally.rejects), added.duplicates, rejects_file,
        time.perf_counter() - start, tally.encoding,
    )  # fmt: skip


def read_events(path: str | Path, options: ImportOptions = ImportOptions()) -> tuple[pl.DataFrame, int]:
    """The valid events of a file or Parquet folder, read and checked as `homerec import` reads them
    (`homerec evaluate` reads data sets so), and how many rows were rejected."""
    tally = _Tally()
    frames = list(_valid_events(_as_path(path), options, tally))
    return pl.concat(frames, how="vertical_relaxed"), len(tally.rejects)


def read_entities(path: str | Path, id_name: str, options: ImportOptions = ImportOptions()) -> pl.DataFrame:
    """The valid rows of an items (`ITEM_ID`) or users (`USER_ID`) file as `homerec import` reads them:
    the id column (`item_id` / `user_id`) and every metadata column as text, "" read as null."""
    rows = read_rows(_as_path(path), options.encoding)
    return check_entities(rows, id_name, find_columns(rows, (id_name,)))[0]


def _import_entities(
    store: Store, path: str | Path, id_name: str, rejects_path: str | Path | None, progress: Progress | None,
    options: ImportOptions,
) -> ImportReport:
    start, path = time.perf_counter(), _as_path(path)
    rows = read_rows(path, options.encoding)
    good, rejects = check_entities(rows, id_name, find_columns(rows, (id_name,)))
    if progress:
        progress(0, good.height)
    upsert = store.upsert_items if id_name == ITEM_ID else store.upsert_users
    changed = upsert(good) if good.height else 0
    if progress:
        progress(good.height, good.height)
    kind = "items" if id_name == ITEM_ID else "users"
    return ImportReport(
        str(path), kind, rows.count, changed, len(rejects), good.height - changed,
        _finish_rejects(rejects, path, rejects_path), time.perf_counter() - start, rows.encoding,
    )  # fmt: skip


def import_items(
    store: Store, path: str | Path, rejects_path: str | Path | None = None, progress: Progress | None = None,
    options: ImportOptions = ImportOptions(),
) -> ImportReport:
    """Import the catalog: ITEM_ID (any case) and any metadata columns, kept as strings.

    Multi-valued fields (`a|b|c`) are kept as written. A re-imported item replaces its metadata.
    """
    return _import_entities(store, path, ITEM_ID, rejects_path, progress, options)


def import_users(
    store: Store, path: str | Path, rejects_path: str | Path | None = None, progress: Progress | None = None,
    options: ImportOptions = ImportOptions(),
) -> ImportReport:
    """Import users: USER_ID (any case) and any metadata columns, kept as strings."""
    return _import_entities(store, path, USER_ID, rejects_path, progress, options)


def dataset_file(folder: Path, stem: str, subfolder: bool = False) -> Path | None:
    """The folder's `<stem>.csv` or `<stem>.parquet`, or with `subfolder` a folder `<stem>` (any case)."""
    suffixes = (*CSV_SUFFIXES, *PARQUET_SUFFIXES)
    found = sorted(
        p for p in folder.iterdir()
        if (p.is_file() and p.stem.lower() == stem and p.suffix.lower() in suffixes)
        or (subfolder and p.is_dir() and p.name.lower() == stem)
    )
    if len(found) > 1:
        raise InputError(f"{folder}: several {stem} files ({', '.join(p.name for p in found)}); keep one")
    return found[0] if found else None


def import_folder(
    store: Store, folder: str | Path, rejects_dir: str | Path | None = None, progress: Progress | None = None,
    options: ImportOptions = ImportOptions(),
) -> list[ImportReport]:
    """Import a Personalize dataset folder: interactions (required), items and users (optional).

    Files are `interactions.csv` / `items.csv` / `users.csv` or the same with `.parquet`;
    events may also be a folder `interactions/` of Parquet files. Items and users go in
    first, then interactions.

    Raises:
        InputError: the folder or its interactions file is missing, or a file cannot be read.
    """
    folder = _as_path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    interactions = dataset_file(folder, "interactions", subfolder=True)
    if interactions is None:
        raise InputError(f"{folder}: no interactions.csv, interactions.parquet or interactions/ folder")
    plan: list[tuple[Path, Callable[..., ImportReport]]] = []
    for stem, importer in (("items", import_items), ("users", import_users)):
        if (found := dataset_file(folder, stem)) is not None:
            plan.append((found, importer))
    plan.append((interactions, import_interactions))
    reports = []
    for path, importer in plan:
        rejects = _as_path(rejects_dir) / f"{path.stem}.rejects.csv" if rejects_dir is not None else None
        reports.append(importer(store, path, rejects, progress, options))
    return reports

