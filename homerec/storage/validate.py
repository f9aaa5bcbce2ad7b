# SPDX-License-Identifier: Apache-2.0
"""Import files read as strings with their line numbers, and vectorised row validation.

Every value is read as a string so that nothing is lost to type inference (ids such as
"00123" stay as they are); validation then runs as polars expressions over whole columns,
and only the rejected rows are ever touched one by one.
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from homerec.data.schema import (
    EVENT_TYPE,
    EVENT_VALUE,
    ITEM_ID,
    MULTI_VALUE_SEP,
    ORDER_ID,
    QUANTITY,
    TIMESTAMP,
    USER_ID,
    Col,
)
from homerec.errors import InputError

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
MAX_TIMESTAMP = 4_102_444_800
"""2100-01-01 in epoch seconds; later values are almost surely milliseconds."""


class Reject(NamedTuple):
    """A row that was not imported: where it is, why, and its text."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class RawRows:
    """An import file read as string columns.

    Attributes:
        path: the file.
        frame: one String column per header name as spelled in the file; blank lines removed.
        lines: line of each row of `frame`: the physical CSV line (header = 1), or the
            Parquet row number (first row = 1).
        spans: physical lines each row covers (more than 1 when a quoted value has newlines).
        malformed: CSV lines that could not be split into the header's fields.
    """

    path: Path
    frame: pl.DataFrame
    lines: np.ndarray
    spans: np.ndarray
    malformed: list[Reject]

    @property
    def count(self) -> int:
        """Data rows read, well-formed or not."""
        return self.frame.height + len(self.malformed)

    def raw(self, positions: np.ndarray) -> list[str]:
        """The text of the rows at `positions` of `frame`: the file's own lines for CSV."""
        if self.path.suffix.lower() not in CSV_SUFFIXES:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(self.frame[positions].rows())
            return out.getvalue().splitlines()
        data = self.path.read_bytes()
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        ends = np.append(ends, len(data))
        starts = np.concatenate([[0], ends[:-1] + 1])
        texts = []
        for line, span in zip(self.lines[positions], self.spans[positions], strict=True):
            chunk = data[starts[line - 1] : ends[line + span - 2]]
            texts.append(chunk.decode("utf-8", errors="replace").replace("\r\n", "\n").rstrip("\r"))
        return texts


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        names = next(csv.reader(f), [])
    if not any(name.strip() for name in names):
        raise InputError(f"{path}: the file is empty (no header line)")
    return names


def _read_csv(path: Path) -> RawRows:
    names = _header(path)
    if len({n.lower() for n in names}) < len(names):
        raise InputError(f"{path}: the header repeats a column name: {', '.join(names)}")

    def parse(threads: bool) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
        invalid: list[pacsv.InvalidRow] = []

        def skip(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=threads, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=skip
            ),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
        return table, invalid

    try:
        table, invalid = parse(threads=True)
        if any(row.number is None for row in invalid):  # numbers are only known single-threaded
            table, invalid = parse(threads=False)
    except (pa.ArrowException, OSError) as exc:
        hint = "; save it as UTF-8" if "UTF8" in str(exc) else ""
        raise InputError(f"{path}: cannot be read as CSV: {exc}{hint}") from None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    invalid.sort(key=lambda row: row.number)

    # Record numbers count the header as 1; a record spans 1 + (newlines inside it) lines.
    total = frame.height + len(invalid)
    is_bad = np.zeros(total, dtype=bool)
    is_bad[np.array([row.number for row in invalid], dtype=np.int64) - 2] = True
    extra = np.zeros(total, dtype=np.int64)
    if frame.width and frame.select(pl.any_horizontal(pl.all().str.contains("\n", literal=True).any())).item():
        newlines = pl.sum_horizontal(pl.all().str.count_matches("\n", literal=True))
        extra[~is_bad] = frame.select(newlines).to_series().to_numpy()
    extra[is_bad] = [row.text.count("\n") for row in invalid]
    lines = np.arange(2, total + 2) + np.concatenate([[0], np.cumsum(extra)[:-1]]).astype(np.int64)
    malformed = [
        Reject(int(line), f"wrong number of fields: expected {r.expected_columns}, found {r.actual_columns}", r.text)
        for line, r in zip(lines[is_bad], invalid, strict=True)
    ]
    blank = frame.select(pl.all_horizontal(pl.all() == "")).to_series().to_numpy() if frame.width else None
    keep = np.ones(frame.height, dtype=bool) if blank is None else ~blank
    return RawRows(path, frame.filter(keep), lines[~is_bad][keep], (extra[~is_bad] + 1)[keep], malformed)


def _read_parquet(path: Path) -> RawRows:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several unrelated types for unreadable files
        raise InputError(f"{path}: cannot be read as Parquet: {exc}") from None
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if name.upper() == TIMESTAMP and isinstance(dtype, pl.Datetime | pl.Date):
            column = column.dt.epoch("s")  # the instant in UTC, whatever the column's time zone
        elif isinstance(dtype, pl.List):
            column = column.list.eval(pl.element().cast(pl.String)).list.join(MULTI_VALUE_SEP)
        columns.append(column.cast(pl.String).alias(name))
    try:
        frame = frame.select(columns)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: a column cannot be read as text: {exc}") from None
    n = frame.height
    return RawRows(path, frame, np.arange(1, n + 1), np.ones(n, dtype=np.int64), [])


def read_rows(path: Path) -> RawRows:
    """Read a CSV or Parquet file as strings, by suffix; quoted CSV values may hold newlines.

    Raises:
        InputError: the file is missing, empty, of an unknown type or unreadable.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    raise InputError(f"{path}: unknown file type {suffix!r}; use .csv or .parquet")


def find_columns(rows: RawRows, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    """Match wanted column names case-insensitively: wanted name → name in the file.

    Raises:
        InputError: a required column is missing.
    """
    by_lower = {name.lower(): name for name in rows.frame.columns}
    found = {want: by_lower[want.lower()] for want in (*required, *optional) if want.lower() in by_lower}
    missing = [want for want in required if want not in found]
    if missing:
        raise InputError(
            f"{rows.path}: missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(rows.frame.columns) or 'none'})"
        )
    return found


def _rejects(rows: RawRows, checked: pl.DataFrame) -> list[Reject]:
    bad = checked.with_row_index("_pos").filter(pl.col("_reason") != "")
    positions = bad["_pos"].to_numpy()
    texts = rows.raw(positions) if len(positions) else []
    found = [
        Reject(int(line), reason, text)
        for line, reason, text in zip(rows.lines[positions], bad["_reason"], texts, strict=True)
    ]
    return sorted(rows.malformed + found)


def _text(columns: dict[str, str], name: str) -> pl.Expr:
    return pl.col(columns[name]).fill_null("") if name in columns else pl.lit("")


def _reasons(frame: pl.DataFrame, checks: list[tuple[pl.Expr, str]]) -> pl.DataFrame:
    """`frame` with a `_reason` column: the failed checks joined by "; ", "" when all pass."""
    failed = pl.any_horizontal([condition.fill_null(False) for condition, _ in checks])
    reason = pl.concat_str(
        [pl.when(condition).then(pl.lit(message)) for condition, message in checks], separator="; ", ignore_nulls=True
    )
    frame = frame.with_columns(failed.alias("_failed"))
    if not frame["_failed"].any():  # the common case: no string work at all
        return frame.with_columns(pl.lit("").alias("_reason")).drop("_failed")
    return frame.with_columns(pl.when("_failed").then(reason).otherwise(pl.lit("")).alias("_reason")).drop("_failed")


def check_interactions(rows: RawRows, columns: dict[str, str]) -> tuple[pl.DataFrame, list[Reject]]:
    """Split rows into valid events (frame in `INTERACTION_FRAME_COLUMNS`) and rejects."""
    frame = rows.frame.select(
        _text(columns, USER_ID).alias(Col.user_id),
        _text(columns, ITEM_ID).alias(Col.item_id),
        _text(columns, TIMESTAMP).str.strip_chars().alias("_ts"),
        _text(columns, EVENT_TYPE).str.strip_chars().alias(Col.event_type),
        _text(columns, EVENT_VALUE).str.strip_chars().alias("_value"),
        _text(columns, ORDER_ID).str.strip_chars().alias(Col.order_id),
        _text(columns, QUANTITY).str.strip_chars().alias("_quantity"),
    ).with_columns(
        pl.col("_ts").str.to_integer(strict=False).alias(Col.ts),
        pl.col("_value").cast(pl.Float64, strict=False).alias(Col.event_value),
        pl.col("_quantity").cast(pl.Float64, strict=False).alias(Col.quantity),
    )
    if frame.select(pl.col(Col.ts).is_null() & (pl.col("_ts") != "")).to_series().any():
        # Whole numbers written as floats ("1700000000.0"), for those rows only.
        as_float = pl.col("_ts").cast(pl.Float64, strict=False)
        whole = as_float.is_finite() & (as_float.floor() == as_float) & (as_float.abs() < 2.0**62)
        frame = frame.with_columns(pl.col(Col.ts).fill_null(pl.when(whole).then(as_float.cast(pl.Int64))))
    ts, value_text, value = pl.col(Col.ts), pl.col("_value"), pl.col(Col.event_value)
    quantity_text, quantity = pl.col("_quantity"), pl.col(Col.quantity)
    checked = _reasons(
        frame,
        [
            (pl.col(Col.user_id).str.strip_chars() == "", f"empty {USER_ID}"),
            (pl.col(Col.item_id).str.strip_chars() == "", f"empty {ITEM_ID}"),
            (pl.col("_ts") == "", f"empty {TIMESTAMP}"),
            ((pl.col("_ts") != "") & ts.is_null(), f"{TIMESTAMP} is not a whole number of seconds"),
            (ts < 0, f"{TIMESTAMP} is negative"),
            (ts > MAX_TIMESTAMP, f"{TIMESTAMP} is after 2100: expected epoch seconds, not milliseconds"),
            ((value_text != "") & (value.is_null() | ~value.is_finite()), f"{EVENT_VALUE} is not a number"),
            ((quantity_text != "") & (quantity.is_null() | ~quantity.is_finite()), f"{QUANTITY} is not a number"),
            (quantity < 0, f"{QUANTITY} is negative"),
        ],
    )
    good = checked.filter(pl.col("_reason") == "").select(
        Col.user_id,
        Col.item_id,
        Col.ts,
        pl.when(pl.col(Col.event_type) != "").then(pl.col(Col.event_type)).alias(Col.event_type),
        pl.when(value_text != "").then(value).alias(Col.event_value),
        pl.when(pl.col(Col.order_id) != "").then(pl.col(Col.order_id)).alias(Col.order_id),
        pl.when(quantity_text != "").then(quantity).alias(Col.quantity),
    )
    return good, _rejects(rows, checked)


def check_entities(rows: RawRows, id_name: str, columns: dict[str, str]) -> tuple[pl.DataFrame, list[Reject]]:
    """Split item or user rows into valid ones (id + metadata columns, "" as null) and rejects."""
    id_column = columns[id_name]
    target = Col.item_id if id_name == ITEM_ID else Col.user_id
    fields = [c for c in rows.frame.columns if c != id_column]
    frame = rows.frame.select(
        _text(columns, id_name).alias(target),
        *(pl.when(pl.col(f) != "").then(pl.col(f)).alias(f) for f in fields),
    )
    checked = _reasons(frame, [(pl.col(target).str.strip_chars() == "", f"empty {id_name}")])
    good = checked.filter(pl.col("_reason") == "").drop("_reason")
    return good, _rejects(rows, checked)


def write_rejects(rejects: list[Reject], path: Path) -> None:
    """Write rejects as CSV with the columns line, reason, raw (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "line": [r.line for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
        },
        schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String},
    ).write_csv(path)
