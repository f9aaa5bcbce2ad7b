# SPDX-License-Identifier: Apache-2.0
"""Read a data set folder in the AWS Personalize layout for offline evaluation."""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from homerec.data import schema
from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.errors import InputError

SUFFIXES = (".csv", ".parquet")


@dataclass
class Dataset:
    """Interactions plus the optional item and user tables (id column named ITEM_ID / USER_ID)."""

    name: str
    interactions: Interactions
    items: pl.DataFrame | None
    users: pl.DataFrame | None
    dropped: int = 0
    """Interaction rows dropped for a null id or a non-numeric timestamp."""


def _find(folder: Path, stem: str) -> Path | None:
    """`<stem>.csv` or `<stem>.parquet` in `folder`, file names matched case-insensitively."""
    for suffix in SUFFIXES:
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.name.lower() == stem + suffix:
                return p
    return None


def _read(path: Path, required: tuple[str, ...]) -> pl.DataFrame:
    """Read a CSV (every column as text) or Parquet file; upper-case the Personalize columns."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.NoDataError:
        raise InputError(f"{path} is empty") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    known = set(schema.REQUIRED_INTERACTION_COLUMNS + schema.OPTIONAL_INTERACTION_COLUMNS)
    names = [c.lstrip("\ufeff").strip() for c in frame.columns]
    names = [n.upper() if n.upper() in known else n for n in names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{path} has duplicate columns (names are case-insensitive): {', '.join(dupes)}")
    frame = frame.rename(dict(zip(frame.columns, names)))
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path} lacks required column(s) {', '.join(missing)}; it has: {', '.join(frame.columns)}"
        )
    return frame


def _clean_id(column: str) -> pl.Expr:
    """Ids as trimmed strings; empty ones become null."""
    s = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def _epoch_seconds(dtype: pl.DataType) -> pl.Expr:
    """TIMESTAMP as Int64 epoch seconds (fractions floored); anything non-numeric becomes null."""
    col = pl.col(schema.TIMESTAMP)
    if isinstance(dtype, (pl.Datetime, pl.Date)):
        return col.dt.epoch("s")
    num = col.cast(pl.Float64, strict=False) if dtype.is_numeric() else (
        col.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    )
    return pl.when(num.is_finite()).then(num.floor()).otherwise(None).cast(pl.Int64)


def _table(folder: Path, stem: str, id_column: str) -> pl.DataFrame | None:
    """The optional items/users table with clean, distinct, non-null ids (first row wins)."""
    path = _find(folder, stem)
    if path is None:
        return None
    frame = _read(path, (id_column,))
    frame = frame.with_columns(_clean_id(id_column)).filter(pl.col(id_column).is_not_null())
    return frame.unique(id_column, keep="first", maintain_order=True)


def read_folder(folder: str | Path) -> Dataset:
    """Read interactions.csv|parquet (required), items and users (optional) from a folder.

    Column names are matched case-insensitively; USER_ID, ITEM_ID and TIMESTAMP (epoch
    seconds) are required; EVENT_TYPE, ORDER_ID and QUANTITY are optional. Ids are read as strings. Rows with a
    null id or a non-numeric timestamp are dropped and counted in ``Dataset.dropped``. The
    item map starts with the catalog (items file), so items without events keep an index.

    Raises:
        InputError: missing folder, interactions file or required column, or no usable row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"data folder {folder} does not exist or is not a folder")
    path = _find(folder, "interactions")
    if path is None:
        raise InputError(f"{folder} has no interactions.csv or interactions.parquet")
    raw = _read(path, schema.REQUIRED_INTERACTION_COLUMNS)
    cols = [
        _clean_id(schema.USER_ID).alias(Col.user_id),
        _clean_id(schema.ITEM_ID).alias(Col.item_id),
        _epoch_seconds(raw.schema[schema.TIMESTAMP]).alias(Col.ts),
    ]
    if schema.EVENT_TYPE in raw.columns:
        cols.append(pl.col(schema.EVENT_TYPE).cast(pl.String).str.strip_chars().alias(Col.event_type))
    if schema.ORDER_ID in raw.columns:
        cols.append(_clean_id(schema.ORDER_ID).alias(Col.order_id))
    if schema.QUANTITY in raw.columns:
        cols.append(pl.col(schema.QUANTITY).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
                    .alias(Col.quantity))
    frame = raw.select(cols)
    clean = frame.drop_nulls([Col.user_id, Col.item_id, Col.ts])
    if clean.height == 0:
        raise InputError(f"{path} has no usable rows ({raw.height} read, all with a null id or bad timestamp)")
    items = _table(folder, "items", schema.ITEM_ID)
    users = _table(folder, "users", schema.USER_ID)
    catalog = IdMap(items[schema.ITEM_ID].to_list(), "item") if items is not None else None
    user_map = IdMap(users[schema.USER_ID].to_list(), "user") if users is not None else None
    data = Interactions.from_frame(clean, users=user_map, items=catalog)
    name = folder.resolve().name
    if name.lower().startswith("personalize"):  # personalize/ or personalize-orders/ inside a data set
        name = folder.resolve().parent.name
    return Dataset(name, data, items, users, dropped=raw.height - clean.height)


def item_features(ds: Dataset) -> ItemFeatures | None:
    """Features of the catalog from the items table, aligned to the interactions' item map."""
    if ds.items is None:
        return None
    return ItemFeatures.from_frame(ds.items.rename({schema.ITEM_ID: Col.item_id}), ds.interactions.items)
