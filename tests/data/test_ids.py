# SPDX-License-Identifier: Apache-2.0
"""IdMap keeps every id exactly, in memory and in artifacts (issue 13, reproducer 1)."""

import numpy as np
import pytest

from homerec.data.ids import IdMap

HOSTILE = ["P00001", "P00001\x00", "\x00", "", " P00001 ", "é\u2028x", "a" * 300, "\ud800"]


def test_ids_that_differ_only_in_trailing_nuls_stay_distinct():
    m = IdMap(HOSTILE)
    assert len(m) == len(HOSTILE)
    assert [m.get(i) for i in HOSTILE] == list(range(len(HOSTILE)))
    assert m.to_ids(np.arange(len(HOSTILE))) == HOSTILE


def test_a_numpy_str_array_is_not_how_ids_are_held():
    # numpy's fixed-width str dtype would drop the NUL and make the two ids equal.
    assert np.asarray(["P1", "P1\x00"], dtype=str).tolist() == ["P1", "P1"]
    assert IdMap(["P1", "P1\x00"]).ids.tolist() == ["P1", "P1\x00"]


def test_to_arrays_round_trip_keeps_every_byte(tmp_path):
    m = IdMap(HOSTILE, "user")
    np.savez(tmp_path / "ids.npz", **m.to_arrays("users"))
    with np.load(tmp_path / "ids.npz", allow_pickle=False) as z:
        back = IdMap.from_arrays({k: z[k] for k in z.files}, "users", "user")
    assert back == m and back.ids.tolist() == HOSTILE and back.kind == "user"


def test_an_empty_map_round_trips(tmp_path):
    np.savez(tmp_path / "ids.npz", **IdMap([]).to_arrays("items"))
    with np.load(tmp_path / "ids.npz", allow_pickle=False) as z:
        assert len(IdMap.from_arrays({k: z[k] for k in z.files}, "items", "item")) == 0


def test_artifacts_of_the_older_layout_still_load(tmp_path):
    np.savez(tmp_path / "ids.npz", users=np.asarray(["u1", "u2"]), items=np.asarray(["i1"]))
    with np.load(tmp_path / "ids.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    assert IdMap.from_arrays(arrays, "users", "user").ids.tolist() == ["u1", "u2"]
    assert IdMap.from_arrays(arrays, "items", "item").ids.tolist() == ["i1"]


def test_without_drops_ids_and_says_which_rows_stay():
    m, keep = IdMap(["a", "b\x00", "c"], "user").without(["b\x00", "zz"])
    assert m.ids.tolist() == ["a", "c"] and keep.tolist() == [0, 2] and m.kind == "user"


def test_duplicates_are_refused_and_extend_appends():
    with pytest.raises(ValueError, match="distinct"):
        IdMap(["a", "a"])
    m = IdMap(["a"]).extend(["a\x00", "a"])
    assert m.ids.tolist() == ["a", "a\x00"]
