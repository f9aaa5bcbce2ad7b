# SPDX-License-Identifier: Apache-2.0
"""Import files that broke the engine (issue 13, reproducer 8): each bad line is rejected alone."""

import time
from pathlib import Path

import polars as pl
import pytest

from homerec.errors import InputError
from homerec.models.registry import Registry
from homerec.pipeline.train import train
from homerec.storage import Store, import_interactions, import_items, open_store

HEADER = b"USER_ID,ITEM_ID,TIMESTAMP\n"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path}/store.db")
    yield s
    s.close()


def rejects(report) -> list[tuple[int, str]]:
    if report.rejects_file is None:
        return []
    return [(int(line), reason) for line, reason, _ in pl.read_csv(report.rejects_file, infer_schema=False).rows()]


def test_ids_are_trimmed_bounded_and_free_of_control_characters(store: Store, tmp_path: Path):
    long_id = "L" * 20_000
    path = tmp_path / "i.csv"
    path.write_bytes(HEADER + b" WS1 ,i1,5\nWS1,i2,6\n" + long_id.encode() + b",i3,7\nu\x01x,i4,8\n"
                     + b"u2,P1\x00,9\nu2,\tP2\t,10\n")
    report = import_interactions(store, path, tmp_path / "rej.csv")
    assert report.imported == 3 and report.rejected == 3
    assert rejects(report) == [(4, "USER_ID is longer than 256 characters"), (5, "USER_ID holds a control character"),
                               (6, "ITEM_ID holds a control character")]
    frame = store.interactions()
    assert frame["user_id"].to_list() == ["WS1", "WS1", "u2"]  # " WS1 " and WS1 are one customer
    assert frame["item_id"].to_list() == ["i1", "i2", "P2"]


def test_item_ids_follow_the_same_rule(store: Store, tmp_path: Path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"ITEM_ID,BRAND\n P1 ,a\nP2\x00,b\n" + b"x" * 300 + b",c\n")
    report = import_items(store, path, tmp_path / "rej.csv")
    assert report.imported == 1 and rejects(report) == [(3, "ITEM_ID holds a control character"),
                                                          (4, "ITEM_ID is longer than 256 characters")]
    assert store.items()["item_id"].to_list() == ["P1"]


def test_a_latin1_file_is_detected_not_refused(store: Store, tmp_path: Path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER + b"u1,caf\xe9,5\nu2,na\xefve,6\n")
    report = import_interactions(store, path)
    assert report.imported == 2 and report.rejected == 0 and report.encoding == "cp1252"
    assert store.interactions()["item_id"].to_list() == ["café", "naïve"]


def test_the_encoding_can_be_chosen(store: Store, tmp_path: Path):
    from homerec.storage.load import ImportOptions

    path = tmp_path / "greek.csv"
    path.write_bytes(HEADER + b"u1,\xe1\xe2,5\n")
    report = import_interactions(store, path, options=ImportOptions(encoding="iso8859-7"))
    assert report.encoding == "iso8859-7" and store.interactions()["item_id"].to_list() == ["αβ"]
    with pytest.raises(InputError, match="unknown encoding"):
        import_interactions(store, path, options=ImportOptions(encoding="klingon"))
    with pytest.raises(InputError, match="is not ascii text"):
        import_interactions(store, path, options=ImportOptions(encoding="ascii"))


def test_one_stray_byte_in_a_utf8_file_rejects_its_line_only(store: Store, tmp_path: Path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(HEADER + "u1,café,5\n".encode() + b"u2,caf\xe9,6\nu3,i3,7\n")
    report = import_interactions(store, path, tmp_path / "rej.csv")
    assert report.encoding == "utf-8" and report.imported == 2
    assert [line for line, _ in rejects(report)] == [3] and "--encoding" in rejects(report)[0][1]
    assert store.interactions()["item_id"].to_list() == ["café", "i3"]


@pytest.mark.parametrize("bad_line", [b'u1,"i1,100', b'u1,i1,"100', b'"u1,i1,100'])
def test_an_unterminated_quote_rejects_its_line_only(store: Store, tmp_path: Path, bad_line: bytes):
    path = tmp_path / "quote.csv"
    tail = b"".join(b"u%d,i%d,%d\n" % (n, n, 200 + n) for n in range(2, 50)) + b'u50,"i50",300\nu51,i51,301\n'
    path.write_bytes(HEADER + bad_line + b"\n" + tail)
    report = import_interactions(store, path, tmp_path / "rej.csv")
    assert rejects(report) == [(2, "unterminated quote: the quoted value never closes on this line")]
    assert report.imported == 50 and report.rows_read == 51
    assert store.interactions()["user_id"].to_list()[-2:] == ["u50", "u51"]


def test_quoted_values_may_still_hold_newlines(store: Store, tmp_path: Path):
    path = tmp_path / "items.csv"
    path.write_bytes(b'ITEM_ID,DESCRIPTION\ni1,"line one\nline ""two"""\ni2,"x\ny\nz"\ni3,plain\n')
    report = import_items(store, path)
    assert report.imported == 3 and report.rejected == 0
    assert store.items()["DESCRIPTION"].to_list() == ['line one\nline "two"', "x\ny\nz", "plain"]


def test_events_far_in_the_future_are_rejected_and_do_not_move_trained_until(store: Store, tmp_path: Path):
    from homerec.storage.load import ImportOptions

    now = int(time.time())
    lines = [f"u{n % 7},i{n % 5},{now - 86_400 * 30 + n * 3600}" for n in range(200)]
    path = tmp_path / "future.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP\n" + "\n".join(lines) + f"\nu1,i1,{4_070_908_800}\nu1,i2,{now + 600}\n")
    report = import_interactions(store, path, tmp_path / "rej.csv")
    assert rejects(report) == [(202, "TIMESTAMP is more than 86400 s in the future (setting max_future_skew_s)")]
    version = train(store, Registry(tmp_path / "artifacts"), models=["popularity"]).version
    trained_until = Registry(tmp_path / "artifacts").info(version).meta["trained_until"]
    assert trained_until == now + 600  # within the allowed skew; 2099 never counted
    strict = import_interactions(store, path, tmp_path / "rej2.csv", options=ImportOptions(max_future_s=0))
    assert [line for line, _ in rejects(strict)] == [202, 203]


def test_the_largest_double_is_not_an_event_value(store: Store, tmp_path: Path):
    path = tmp_path / "values.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\nu1,i1,5,1.7976931348623157e308\nu1,i2,6,inf\nu1,i3,7,2.5\n")
    report = import_interactions(store, path, tmp_path / "rej.csv")
    assert [line for line, _ in rejects(report)] == [2, 3] and report.imported == 1
    assert store.interactions()["event_value"].to_list() == [2.5]


def test_a_parquet_struct_column_is_refused_with_a_message(store: Store, tmp_path: Path):
    path = tmp_path / "items.parquet"
    pl.DataFrame({"ITEM_ID": ["i1"], "DIMENSIONS": [{"w": 1, "h": 2}]}).write_parquet(path)
    with pytest.raises(InputError, match=r"DIMENSIONS \(Struct.*flatten"):
        import_items(store, path)
    nested = tmp_path / "nested.parquet"
    pl.DataFrame({"ITEM_ID": ["i1"], "TAGS": [[["a"], ["b"]]]}).write_parquet(nested)
    with pytest.raises(InputError, match="TAGS"):
        import_items(store, nested)
    flat = tmp_path / "flat.parquet"
    pl.DataFrame({"ITEM_ID": ["i1"], "TAGS": [["a", "b"]]}).write_parquet(flat)
    assert import_items(store, flat).imported == 1 and store.items()["TAGS"].to_list() == ["a|b"]
    assert store.counts()["items"] == 1
