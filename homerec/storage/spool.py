# SPDX-License-Identifier: Apache-2.0
"""The exposure spool: served lists handed from serving workers to the process that stores them.

A serving worker must not spend its CPU on inserting exposures into the store. Instead it
writes what it buffered about once a second as one Arrow IPC file in a spool folder (one
`write_spool` call: building the columns and one write), and a separate, lower-priority
process (`homerec ship-exposures`, started by `homerec serve`) moves the files into the store
with `ship`. A worker killed mid-way loses at most the exposures of its last second; a
shipper killed mid-way loses nothing (a file is deleted only after its rows committed, and
re-inserting a file skips the recommendation ids already stored).
"""

import logging
import os
import socket
import time
from itertools import count
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from homerec.storage.base import Store
from homerec.storage.experiment_log import EXPOSURE_SCHEMA

log = logging.getLogger(__name__)

SUFFIX = ".arrow"
_sequence = count()


def write_spool(folder: Path, frame: pl.DataFrame) -> Path:
    """Write exposures (`EXPOSURE_SCHEMA`) as one new file in `folder`, atomically (temp file + rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{socket.gethostname()}-{os.getpid()}-{next(_sequence)}"
    final, partial = folder / f"{name}{SUFFIX}", folder / f".{name}.partial"
    table = frame.select(list(EXPOSURE_SCHEMA)).cast(EXPOSURE_SCHEMA).to_arrow()
    with pa.OSFile(str(partial), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(partial, final)
    return final


def read_spool(path: Path) -> pl.DataFrame:
    """One spool file's exposures."""
    with pa.memory_map(str(path), "r") as source:
        table = ipc.open_file(source).read_all()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def spool_files(folder: Path) -> list[Path]:
    """The complete spool files in `folder`, oldest first (partial ones are skipped)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))


def ship(store: Store, folder: Path) -> int:
    """Move every complete spool file's exposures into the store; returns rows inserted.

    A file the store refuses for a transient reason stays for the next call; a file that is
    not a readable spool file is renamed `*.bad` and logged, so it cannot block the others.
    """
    inserted = 0
    for path in spool_files(folder):
        try:
            frame = read_spool(path)
        except (OSError, pa.ArrowException) as err:
            log.error("exposure spool file %s is unreadable (%s): set aside as .bad", path.name, err)
            path.rename(path.with_suffix(".bad"))
            continue
        inserted += store.add_exposures(frame)  # a StoreError propagates: the file is kept
        path.unlink()
    return inserted
