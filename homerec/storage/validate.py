# SPDX-License-Identifier: Apache-2.0
"""Import files read as strings with their line numbers, and vectorised row validation.

Every value is read as a string so that nothing is lost to type inference (ids such as
"00123" stay as they are); validation then runs as polars expressions over whole columns,
and only the rejected rows are ever touched one by one. Ids follow `homerec.data.rules`
(trimmed, then at most 256 characters and no control character); event values are finite;
an event later than now plus the allowed clock skew is rejected (it would move a model's
`trained_until` past every real event and switch off fold-in for everyone).
"""

import time
from pathlib import Path

import polars as pl

from homerec.data.rules import DEFAULT_FUTURE_SKEW_S, MAX_ABS_VALUE, bad_value, id_checks, trimmed
from homerec.data.schema import EVENT_TYPE, EVENT_VALUE, ITEM_ID, ORDER_ID, QUANTITY, TIMESTAMP, USER_ID, Col
from homerec.errors import InputError
from homerec.storage.csvfile import read_csv
from homerec.storage.parquetfile import PARQUET_SUFFIXES, read_parquet
from homerec.storage.rawrows import RawRows, Reject

CSV_SUFFIXES = (".csv",)
MAX_TIMESTAMP = 4_102_444_800
"""2100-01-01 in epoch seconds; later values are almost surely milliseconds."""


def read_rows(path: Path, encoding: str | None = None) -> RawRows:
    """Read a CSV or Parquet file as strings, by suffix; quoted CSV values may hold newlines.

    Args:
        encoding: the CSV file's text encoding (default: detected, see `homerec.storage.csvfile`).

    Raises:
        InputError: the file is missing, empty, of an unknown type or unreadable, or a
            Parquet column holds structs or nested lists.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return read_csv(path, encoding)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path)
    raise InputError(f"{path}: unknown file type {suffix!r}; use .csv or .parquet")


def match_columns(
    path: Path, names: list[str], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, str]:
    """Match wanted column names case-insensitively among a file's `names`: wanted name → name in the file.

    Raises:
        InputError: a required column is missing.
    """
    by_lower = {name.lower(): name for name in names}
    found = {want: by_lower[want.lower()] for want in (*required, *optional) if want.lower() in by_lower}
    missing = [want for want in required if want not in found]
    if missing:
        raise InputError(
            f"{path}: missing required column(s) {', '.join(missing)} (found: {', '.join(names) or 'none'})"
        )
    return found


def find_columns(rows: RawRows, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    """`match_columns` for a file read into `rows`."""
    return match_columns(rows.path, rows.frame.columns, required, optional)


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


def check_interactions(
    rows: RawRows, columns: dict[str, str], max_future_s: int = DEFAULT_FUTURE_SKEW_S, now: int | None = None,
) -> tuple[pl.DataFrame, list[Reject]]:
    """Split rows into valid events (frame in `INTERACTION_FRAME_COLUMNS`) and rejects.

    Args:
        max_future_s: events later than `now` plus this many seconds are rejected.
        now: the current time (epoch seconds; default: the clock).
    """
    latest = (int(time.time()) if now is None else now) + max_future_s
    frame = rows.frame.select(
        trimmed(_text(columns, USER_ID)).alias(Col.user_id),
        trimmed(_text(columns, ITEM_ID)).alias(Col.item_id),
        _text(columns, TIMESTAMP).str.strip_chars().alias("_ts"),
        trimmed(_text(columns, EVENT_TYPE)).alias(Col.event_type),
        _text(columns, EVENT_VALUE).str.strip_chars().alias("_value"),
        trimmed(_text(columns, ORDER_ID)).alias(Col.order_id),
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
            *id_checks(pl.col(Col.user_id), USER_ID),
            *id_checks(pl.col(Col.item_id), ITEM_ID),
            *id_checks(pl.col(Col.event_type), EVENT_TYPE)[1:],  # an empty event type is the default
            (pl.col("_ts") == "", f"empty {TIMESTAMP}"),
            ((pl.col("_ts") != "") & ts.is_null(), f"{TIMESTAMP} is not a whole number of seconds"),
            (ts < 0, f"{TIMESTAMP} is negative"),
            (ts > MAX_TIMESTAMP, f"{TIMESTAMP} is after 2100: expected epoch seconds, not milliseconds"),
            ((ts > latest) & (ts <= MAX_TIMESTAMP),
             f"{TIMESTAMP} is more than {max_future_s} s in the future (setting max_future_skew_s)"),
            ((value_text != "") & value.is_null(), f"{EVENT_VALUE} is not a number"),
            ((value_text != "") & bad_value(value), f"{EVENT_VALUE} is not a finite number within ±{MAX_ABS_VALUE:g}"),
            *id_checks(pl.col(Col.order_id), ORDER_ID)[1:],  # an empty order id is none
            ((quantity_text != "") & quantity.is_null(), f"{QUANTITY} is not a number"),
            ((quantity_text != "") & bad_value(quantity), f"{QUANTITY} is not a finite number within ±{MAX_ABS_VALUE:g}"),
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
        trimmed(_text(columns, id_name)).alias(target),
        *(pl.when(pl.col(f) != "").then(pl.col(f)).alias(f) for f in fields),
    )
    checked = _reasons(frame, id_checks(pl.col(target), id_name))
    good = checked.filter(pl.col("_reason") == "").drop("_reason")
    return good, _rejects(rows, checked)


def write_rejects(rejects: list[Reject], path: Path, files: list[str] | None = None) -> None:
    """Write rejects as CSV with the columns line, reason, raw (creating the folder).

    Args:
        files: the file of each reject, for imports that read several files: then the
            first column is `file`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {
        "line": ([r.line for r in rejects], pl.Int64),
        "reason": ([r.reason for r in rejects], pl.String),
        "raw": ([r.raw for r in rejects], pl.String),
    }
    if files is not None:
        columns = {"file": (files, pl.String), **columns}
    pl.DataFrame({k: v for k, (v, _) in columns.items()}, schema={k: t for k, (_, t) in columns.items()}).write_csv(path)
