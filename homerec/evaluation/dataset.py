# SPDX-License-Identifier: Apache-2.0
"""Read a data set folder in the AWS Personalize layout for offline evaluation (as `homerec import` reads it)."""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from homerec.data import schema
from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.errors import InputError
from homerec.storage.load import dataset_file, read_entities, read_events


@dataclass
class Dataset:
    """Interactions plus the optional item and user tables (id column named ITEM_ID / USER_ID)."""

    name: str
    interactions: Interactions
    items: pl.DataFrame | None
    users: pl.DataFrame | None
    dropped: int = 0
    """Interaction rows left out: those `homerec import` rejects."""


def _table(folder: Path, stem: str, id_name: str) -> pl.DataFrame | None:
    """The optional items/users table, read as `homerec import` reads it, its id column named `id_name`
    (distinct: the first row of an id wins)."""
    path = dataset_file(folder, stem)
    if path is None:
        return None
    frame = read_entities(path, id_name)
    frame = frame.rename({frame.columns[0]: id_name})
    return frame.unique(id_name, keep="first", maintain_order=True)


def read_folder(folder: str | Path) -> Dataset:
    """Read interactions (required), items and users (optional) from a Personalize layout folder.

    One reader for `homerec import` and `homerec evaluate`: files, columns and rows are found and
    checked by `homerec.storage.load` (`interactions.csv|parquet` or an `interactions/` folder of
    Parquet files; columns matched case-insensitively; USER_ID, ITEM_ID and TIMESTAMP required,
    EVENT_TYPE, EVENT_VALUE, ORDER_ID and QUANTITY optional; ids trimmed and checked by the id
    rule; TIMESTAMP whole epoch seconds, a float with no fraction accepted, milliseconds and
    fractions rejected). Rows that import would reject are left out and counted in
    `Dataset.dropped`. The item map starts with the catalog (items file), so items without
    events keep an index.

    Raises:
        InputError: missing folder, interactions file or required column, or no usable row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"data folder {folder} does not exist or is not a folder")
    path = dataset_file(folder, "interactions", subfolder=True)
    if path is None:
        raise InputError(f"{folder} has no interactions.csv, interactions.parquet or interactions/ folder")
    events, dropped = read_events(path)
    if events.height == 0:
        raise InputError(f"{path} has no usable rows ({dropped} rejected as `homerec import` would)")
    items = _table(folder, "items", schema.ITEM_ID)
    users = _table(folder, "users", schema.USER_ID)
    catalog = IdMap(items[schema.ITEM_ID].to_list(), "item") if items is not None else None
    user_map = IdMap(users[schema.USER_ID].to_list(), "user") if users is not None else None
    data = Interactions.from_frame(events, users=user_map, items=catalog)
    name = folder.resolve().name
    if name.lower().startswith("personalize"):  # personalize/ or personalize-orders/ inside a data set
        name = folder.resolve().parent.name
    return Dataset(name, data, items, users, dropped=dropped)


def item_features(ds: Dataset) -> ItemFeatures | None:
    """Features of the catalog from the items table, aligned to the interactions' item map."""
    if ds.items is None:
        return None
    return ItemFeatures.from_frame(ds.items.rename({schema.ITEM_ID: Col.item_id}), ds.interactions.items)
