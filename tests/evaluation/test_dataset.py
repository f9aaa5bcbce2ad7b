# SPDX-License-Identifier: Apache-2.0
"""read_folder: the Personalize layout, case-insensitive headers, bad rows and errors."""

import polars as pl
import pytest

from homerec.data.features import ItemFeatures
from homerec.errors import InputError
from homerec.evaluation.dataset import item_features, read_folder


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_case_insensitive_headers_and_dropped_rows(tmp_path):
    _write(tmp_path, "interactions.csv",
           "user_id,Item_Id,timestamp,Event_Type\n"
           "007,i11,1700000000,purchase\n"
           "008,i12,1700000100.0,view\n"
           ",i12,1700000200,purchase\n"       # null user
           "009,i13,yesterday,purchase\n"     # bad timestamp
           "009,i13,,purchase\n")             # null timestamp
    _write(tmp_path, "Items.csv", "ITEM_ID,CATEGORY\ni11,a\ni12,b\ni99,a\n")
    ds = read_folder(tmp_path)
    assert ds.dropped == 3
    assert len(ds.interactions) == 2
    assert ds.interactions.users.to_ids([0, 1]) == ["007", "008"]  # ids stay strings
    assert set(ds.interactions.items.ids.tolist()) == {"i11", "i12", "i99"}  # catalog item kept
    assert ds.interactions.ts.tolist() == [1_700_000_000, 1_700_000_100]
    assert ds.interactions.weight[1] < ds.interactions.weight[0]  # a view counts less
    assert ds.users is None and ds.items is not None
    assert ds.name == tmp_path.name
    feats = item_features(ds)
    assert isinstance(feats, ItemFeatures) and feats.matrix.shape[0] == 3


def test_parquet_and_personalize_folder_name(tmp_path):
    folder = tmp_path / "shop" / "personalize"
    folder.mkdir(parents=True)
    pl.DataFrame({"USER_ID": [1, 2], "ITEM_ID": [11, 12], "TIMESTAMP": [5, 6]}).write_parquet(
        folder / "interactions.parquet"
    )
    ds = read_folder(folder)
    assert ds.name == "shop" and ds.dropped == 0
    assert ds.interactions.items.ids.tolist() == ["11", "12"]
    assert item_features(ds) is None


def test_missing_folder_file_and_columns(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_folder(tmp_path / "nope")
    with pytest.raises(InputError, match="interactions.csv"):
        read_folder(tmp_path)
    _write(tmp_path, "interactions.csv", "USER_ID,ITEM\nu1,i1\n")
    with pytest.raises(InputError, match="ITEM_ID, TIMESTAMP"):
        read_folder(tmp_path)
    _write(tmp_path, "interactions.csv", "")
    with pytest.raises(InputError, match="empty"):
        read_folder(tmp_path)
    _write(tmp_path, "interactions.csv", "USER_ID,ITEM_ID,TIMESTAMP\n,i1,1\n")
    with pytest.raises(InputError, match="no usable rows"):
        read_folder(tmp_path)


def test_order_ids_and_quantities_are_read(tmp_path):
    _write(tmp_path / "personalize-orders", "interactions.csv",
           "USER_ID,ITEM_ID,TIMESTAMP,order_id,Quantity\n"
           "u1,i11,100,o1,2\nu1,i12,100,o2,x\nu2,i11,100,,1.5\n")
    ds = read_folder(tmp_path / "personalize-orders")
    assert ds.name == tmp_path.name  # named after the data set, not its layout folder
    data = ds.interactions
    assert ds.dropped == 1  # QUANTITY "x": rejected, as `homerec import` rejects it
    assert data.order is not None and data.order[1] == -1
    assert data.quantity.tolist() == [2.0, 1.5]
    assert len(set(data.baskets().tolist())) == 2
