# SPDX-License-Identifier: Apache-2.0
"""Reading import Parquet: one file whole, or a folder of files in record batches.

Every column becomes text, as CSV columns are: a `TIMESTAMP` of a date or time type
becomes epoch seconds (the instant in UTC, whatever the column's time zone), a list of
scalars becomes `a|b|c`. Columns of structs or of nested lists are refused with a message
before anything is read. A row's line is its row number in its file (first row = 1).

A folder (event histories too large for one CSV: an export split into parts, or a Hive-
style tree such as `year=2024/part-0.parquet`) is every `*.parquet` / `*.pq` file under
it, in path order. Every file's schema is checked first; then each file is read one
record batch at a time, only the wanted columns, so memory stays bounded by a batch.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from homerec.data.schema import MULTI_VALUE_SEP, TIMESTAMP
from homerec.errors import InputError
from homerec.storage.rawrows import RawRows

PARQUET_SUFFIXES = (".parquet", ".pq")
BATCH_ROWS = 500_000
"""Rows per record batch read from a folder's files."""


def _scalar(dtype: pl.DataType) -> bool:
    return not isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Object)


def check_scalar(path: Path, schema: pl.Schema) -> None:
    """Refuse columns of structs or nested lists (a list of scalars is fine).

    Raises:
        InputError: naming the columns and their types.
    """
    nested = [f"{name} ({dtype})" for name, dtype in schema.items()
              if not (_scalar(dtype) or (isinstance(dtype, pl.List | pl.Array) and _scalar(dtype.inner)))]
    if nested:
        raise InputError(f"{path}: columns of structs or nested lists cannot be imported: {', '.join(nested)}; "
                         "flatten them into scalar columns (a list of scalars becomes a|b|c)")


def as_text(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as a String column (see the module docstring).

    Raises:
        InputError: a column cannot be written as text.
    """
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if name.upper() == TIMESTAMP and isinstance(dtype, pl.Datetime | pl.Date):
            column = column.dt.epoch("s")
        elif isinstance(dtype, pl.Array):
            column = column.arr.eval(pl.element().cast(pl.String)).arr.join(MULTI_VALUE_SEP)
        elif isinstance(dtype, pl.List):
            column = column.list.eval(pl.element().cast(pl.String)).list.join(MULTI_VALUE_SEP)
        columns.append(column.cast(pl.String).alias(name))
    try:
        return frame.select(columns)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: a column cannot be read as text: {exc}") from None


def _rows(path: Path, frame: pl.DataFrame, first_row: int) -> RawRows:
    n = frame.height
    return RawRows(path, as_text(path, frame), np.arange(first_row, first_row + n), np.ones(n, dtype=np.int64), [])


def read_parquet(path: Path) -> RawRows:
    """A whole Parquet file as text columns.

    Raises:
        InputError: the file cannot be read as Parquet or holds nested columns.
    """
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several unrelated types for unreadable files
        raise InputError(f"{path}: cannot be read as Parquet: {exc}") from None
    check_scalar(path, frame.schema)
    return _rows(path, frame, 1)


def folder_files(folder: Path) -> list[Path]:
    """The Parquet files under `folder` (any depth), in path order.

    Raises:
        InputError: there are none.
    """
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: a folder of events must hold .parquet files (found none)")
    return files


def file_schema(path: Path) -> pl.Schema:
    """A Parquet file's columns and types, read from its footer only.

    Raises:
        InputError: the file cannot be read as Parquet or holds nested columns.
    """
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # as in read_parquet
        raise InputError(f"{path}: cannot be read as Parquet: {exc}") from None
    check_scalar(path, pl.Schema(schema))
    return pl.Schema(schema)


def read_batches(path: Path, columns: list[str], batch_rows: int = BATCH_ROWS) -> Iterator[RawRows]:
    """The file's `columns`, one record batch of at most `batch_rows` rows at a time.

    Raises:
        InputError: the file cannot be read as Parquet.
    """
    first_row = 1
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)
        while (batch := next(batches, None)) is not None:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            rows = _rows(path, frame, first_row)
            first_row += frame.height
            yield rows  # (outside the try, an error of the consumer is never this file's)
    except (OSError, ValueError) as exc:  # pyarrow's errors (ArrowException) derive from these
        raise InputError(f"{path}: cannot be read as Parquet: {exc}") from None
