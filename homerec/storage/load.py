# SPDX-License-Identifier: Apache-2.0
"""Bulk import of Personalize-layout CSV or Parquet files: validated, chunked and idempotent.

Bad rows never stop an import: each is reported with its line and reason in a rejects
CSV (line, reason, raw) and the rest goes in. Only a file that cannot be read at all
(missing, empty, unknown type, required column missing) raises `InputError`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from homerec.data.schema import (
    ITEM_ID,
    OPTIONAL_INTERACTION_COLUMNS,
    REQUIRED_INTERACTION_COLUMNS,
    USER_ID,
)
from homerec.errors import InputError
from homerec.storage.base import Store
from homerec.storage.validate import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    Reject,
    check_entities,
    check_interactions,
    find_columns,
    read_rows,
    write_rejects,
)

Progress = Callable[[int, int], None]
"""progress(rows_done, rows_total)."""


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


def _as_path(path: str | Path) -> Path:
    return Path(path).expanduser()


def _finish_rejects(rejects: list[Reject], source: Path, rejects_path: str | Path | None) -> str | None:
    """Write the rejects file (default: ./rejects/<stem>.rejects.csv) when there are rejects."""
    if not rejects:
        return None
    target = _as_path(rejects_path) if rejects_path else Path.cwd() / "rejects" / f"{source.stem}.rejects.csv"
    write_rejects(rejects, target)
    return str(target)


def import_interactions(
    store: Store, path: str | Path, rejects_path: str | Path | None = None, progress: Progress | None = None
) -> ImportReport:
    """Import events (USER_ID, ITEM_ID, TIMESTAMP, optional EVENT_TYPE, EVENT_VALUE, ORDER_ID, QUANTITY; any case).

    Without ORDER_ID, one customer's events at one timestamp form a basket (one order).

    Raises:
        InputError: the file cannot be read at all or lacks a required column.
    """
    start, path = time.perf_counter(), _as_path(path)
    rows = read_rows(path)
    columns = find_columns(rows, REQUIRED_INTERACTION_COLUMNS, OPTIONAL_INTERACTION_COLUMNS)
    good, rejects = check_interactions(rows, columns)
    added = store.add_interactions(good, progress=progress)
    rejects_file = _finish_rejects(rejects, path, rejects_path)
    return ImportReport(
        str(path), "interactions", rows.count, added.inserted, len(rejects), added.duplicates, rejects_file,
        time.perf_counter() - start,
    )  # fmt: skip


def _import_entities(
    store: Store, path: str | Path, id_name: str, rejects_path: str | Path | None, progress: Progress | None
) -> ImportReport:
    start, path = time.perf_counter(), _as_path(path)
    rows = read_rows(path)
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
        _finish_rejects(rejects, path, rejects_path), time.perf_counter() - start,
    )  # fmt: skip


def import_items(
    store: Store, path: str | Path, rejects_path: str | Path | None = None, progress: Progress | None = None
) -> ImportReport:
    """Import the catalog: ITEM_ID (any case) and any metadata columns, kept as strings.

    Multi-valued fields (`a|b|c`) are kept as written. A re-imported item replaces its metadata.
    """
    return _import_entities(store, path, ITEM_ID, rejects_path, progress)


def import_users(
    store: Store, path: str | Path, rejects_path: str | Path | None = None, progress: Progress | None = None
) -> ImportReport:
    """Import users: USER_ID (any case) and any metadata columns, kept as strings."""
    return _import_entities(store, path, USER_ID, rejects_path, progress)


def _dataset_file(folder: Path, stem: str) -> Path | None:
    """The folder's `<stem>.csv` or `<stem>.parquet` (names matched case-insensitively)."""
    suffixes = (*CSV_SUFFIXES, *PARQUET_SUFFIXES)
    found = sorted(
        p for p in folder.iterdir() if p.is_file() and p.stem.lower() == stem and p.suffix.lower() in suffixes
    )
    if len(found) > 1:
        raise InputError(f"{folder}: several {stem} files ({', '.join(p.name for p in found)}); keep one")
    return found[0] if found else None


def import_folder(
    store: Store, folder: str | Path, rejects_dir: str | Path | None = None, progress: Progress | None = None
) -> list[ImportReport]:
    """Import a Personalize dataset folder: interactions (required), items and users (optional).

    Files are `interactions.csv` / `items.csv` / `users.csv` or the same with `.parquet`.
    Items and users go in first, then interactions.

    Raises:
        InputError: the folder or its interactions file is missing, or a file cannot be read.
    """
    folder = _as_path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    interactions = _dataset_file(folder, "interactions")
    if interactions is None:
        raise InputError(f"{folder}: no interactions.csv or interactions.parquet")
    plan: list[tuple[Path, Callable[..., ImportReport]]] = []
    for stem, importer in (("items", import_items), ("users", import_users)):
        if (found := _dataset_file(folder, stem)) is not None:
            plan.append((found, importer))
    plan.append((interactions, import_interactions))
    reports = []
    for path, importer in plan:
        rejects = _as_path(rejects_dir) / f"{path.stem}.rejects.csv" if rejects_dir is not None else None
        reports.append(importer(store, path, rejects, progress))
    return reports

