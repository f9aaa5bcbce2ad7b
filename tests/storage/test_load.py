# SPDX-License-Identifier: Apache-2.0
"""Bulk import: validation with exact lines and reasons, rejects files, idempotence, folders."""

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from homerec.data.schema import Col
from homerec.errors import InputError
from homerec.storage import Store, import_folder, import_interactions, import_items, import_users, open_store

BAD_CSV = """\
USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE
u10,i11,1700000000,purchase,1.5
u10,i12,1700000001
,i12,1700000002,view,
u20,,1700000003,view,
u20,i11,abc,view,
u20,i11,-5,view,
u20,i11,1700000004,view,lots
u20,i13,1700000005.0,,
u30,i11,1700000006,view,2,extra

u30,i12,1700000007,view,
u40,i11,,view,
u40,i11,1700000000000,view,
 ,i11,1.5,view,nan
"""

EXPECTED_REJECTS = [
    (3, "wrong number of fields: expected 5, found 3", "u10,i12,1700000001"),
    (4, "empty USER_ID", ",i12,1700000002,view,"),
    (5, "empty ITEM_ID", "u20,,1700000003,view,"),
    (6, "TIMESTAMP is not a whole number of seconds", "u20,i11,abc,view,"),
    (7, "TIMESTAMP is negative", "u20,i11,-5,view,"),
    (8, "EVENT_VALUE is not a number", "u20,i11,1700000004,view,lots"),
    (10, "wrong number of fields: expected 5, found 6", "u30,i11,1700000006,view,2,extra"),
    (13, "empty TIMESTAMP", "u40,i11,,view,"),
    (14, "TIMESTAMP is after 2100: expected epoch seconds, not milliseconds", "u40,i11,1700000000000,view,"),
    (15, "empty USER_ID; TIMESTAMP is not a whole number of seconds; EVENT_VALUE is not a finite number within ±1e+300",
     " ,i11,1.5,view,nan"),
]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path}/store.db")
    yield s
    s.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_rows_are_rejected_with_line_and_reason(store: Store, tmp_path: Path):
    source = write(tmp_path / "events.csv", BAD_CSV)
    report = import_interactions(store, source, rejects_path=tmp_path / "out" / "rejects.csv")
    assert (report.kind, report.file, report.rows_read) == ("interactions", str(source), 13)  # blank line skipped
    assert (report.imported, report.rejected, report.duplicates) == (3, 10, 0)
    assert report.rejects_file == str(tmp_path / "out" / "rejects.csv")
    rejects = pl.read_csv(report.rejects_file, infer_schema=False)
    assert rejects.columns == ["line", "reason", "raw"]
    got = [(int(line), reason, raw or "") for line, reason, raw in rejects.rows()]
    assert got == EXPECTED_REJECTS
    assert store.interactions().select(Col.user_id, Col.item_id, Col.ts, Col.event_type, Col.event_value).rows() == [
        ("u10", "i11", 1700000000, "purchase", 1.5),
        ("u20", "i13", 1700000005, "purchase", None),
        ("u30", "i12", 1700000007, "view", None),
    ]


def test_default_rejects_file_is_in_cwd_rejects_folder(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    report = import_interactions(store, write(tmp_path / "events.csv", BAD_CSV))
    assert Path(report.rejects_file) == tmp_path / "rejects" / "events.rejects.csv"
    assert Path(report.rejects_file).is_file()


def test_clean_file_writes_no_rejects_and_reimport_adds_nothing(store: Store, tmp_path: Path):
    source = write(tmp_path / "events.csv", "USER_ID,ITEM_ID,TIMESTAMP\n007,i11,1\n007,i11,1\n008,i12,2\n")
    calls: list[tuple[int, int]] = []
    first = import_interactions(store, source, progress=lambda d, t: calls.append((d, t)))
    assert (first.imported, first.duplicates, first.rejected, first.rejects_file) == (2, 1, 0, None)
    assert calls[-1] == (3, 3)  # every valid row went through the bulk path, the duplicate too
    again = import_interactions(store, source)
    assert (again.rows_read, again.imported, again.duplicates) == (3, 0, 3)
    assert store.interactions()[Col.user_id].to_list() == ["007", "008"]  # ids stay strings


def test_headers_match_case_insensitively_and_extra_columns_are_ignored(store: Store, tmp_path: Path):
    source = write(tmp_path / "e.csv", "user_id,Item_Id,TimeStamp,event_TYPE,Extra\nu10,i11,5,View,x\n")
    assert import_interactions(store, source).imported == 1
    assert store.history("u10").row(0) == ("u10", "i11", 5, "View", None, None, None)


def test_parquet_input_with_datetime_timestamps_and_row_numbers(store: Store, tmp_path: Path):
    when = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)  # 1_700_000_000
    frame = pl.DataFrame(
        {"USER_ID": ["u10", None, "u20"], "ITEM_ID": ["i11", "i12", "i13"], "TIMESTAMP": [when] * 3,
         "EVENT_VALUE": [1.0, 2.0, None]}
    )  # fmt: skip
    frame.write_parquet(tmp_path / "events.parquet")
    report = import_interactions(store, tmp_path / "events.parquet", rejects_path=tmp_path / "r.csv")
    assert (report.imported, report.rejected) == (2, 1)
    assert pl.read_csv(tmp_path / "r.csv").row(0)[:2] == (2, "empty USER_ID")  # 2nd row of the file
    assert store.interactions()[Col.ts].to_list() == [1_700_000_000] * 2


def test_items_keep_multi_values_and_line_numbers_count_quoted_newlines(store: Store, tmp_path: Path):
    source = write(
        tmp_path / "items.csv",
        'ITEM_ID,CATEGORY,DESCRIPTION\ni11,Kitchen|Food Storage,"airtight\nfreezer-safe"\n,Garden,x\ni12,,Café\n',
    )
    report = import_items(store, source, rejects_path=tmp_path / "r.csv")
    assert (report.kind, report.rows_read, report.imported, report.rejected) == ("items", 3, 2, 1)
    assert pl.read_csv(tmp_path / "r.csv").rows() == [(4, "empty ITEM_ID", ",Garden,x")]
    assert store.items().rows() == [
        ("i11", "Kitchen|Food Storage", "airtight\nfreezer-safe"),
        ("i12", None, "Café"),
    ]
    again = import_items(store, source, rejects_path=tmp_path / "r.csv")
    assert (again.imported, again.duplicates) == (0, 2)


def test_users_import(store: Store, tmp_path: Path):
    source = write(tmp_path / "users.csv", "User_Id,SEGMENT\nu10,b2b|retail\nu20,\n")
    assert import_users(store, source).imported == 2
    assert store.users().rows() == [("u10", "b2b|retail"), ("u20", None)]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("nocol.csv", "USER_ID,ITEM_ID\nu1,i1\n", "missing required column.*TIMESTAMP"),
        ("empty.csv", "", "empty"),
        ("blank.csv", "\n\n", "empty"),
        ("dup.csv", "USER_ID,user_id,ITEM_ID,TIMESTAMP\n", "repeats"),
        ("events.json", "{}", "unknown file type"),
    ],
)
def test_unreadable_files_raise_input_error_naming_the_file(
    store: Store, tmp_path: Path, name: str, text: str, message: str
):
    with pytest.raises(InputError, match=message) as caught:
        import_interactions(store, write(tmp_path / name, text))
    assert name in str(caught.value)


def test_missing_file_and_header_only_file(store: Store, tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        import_interactions(store, tmp_path / "absent.csv")
    report = import_interactions(store, write(tmp_path / "h.csv", "USER_ID,ITEM_ID,TIMESTAMP\n"))
    assert (report.rows_read, report.imported) == (0, 0)


def test_folder_import(store: Store, tmp_path: Path):
    data = tmp_path / "export"
    data.mkdir()
    write(data / "Interactions.csv", "USER_ID,ITEM_ID,TIMESTAMP\nu10,i11,1\nu20,i12,2\n,i12,3\n")
    write(data / "items.csv", "ITEM_ID,GENRES\ni11,a|b\ni12,c\n")
    pl.DataFrame({"USER_ID": ["u10"], "AGE": [42]}).write_parquet(data / "users.parquet")
    reports = import_folder(store, data, rejects_dir=tmp_path / "rejects")
    assert [(r.kind, r.imported, r.rejected) for r in reports] == [
        ("items", 2, 0),
        ("users", 1, 0),
        ("interactions", 2, 1),
    ]
    assert reports[2].rejects_file == str(tmp_path / "rejects" / "Interactions.rejects.csv")
    assert store.users().rows() == [("u10", "42")]
    assert store.counts() == {"interactions": 2, "items": 2, "users": 1, "rec_cache": 0}


def test_folder_without_interactions_or_with_two_is_an_input_error(store: Store, tmp_path: Path):
    with pytest.raises(InputError, match="no such folder"):
        import_folder(store, tmp_path / "absent")
    write(tmp_path / "items.csv", "ITEM_ID\ni1\n")
    with pytest.raises(InputError, match="interactions"):
        import_folder(store, tmp_path)
    write(tmp_path / "interactions.csv", "USER_ID,ITEM_ID,TIMESTAMP\n")
    pl.DataFrame({"USER_ID": ["u1"]}).write_parquet(tmp_path / "interactions.parquet")
    with pytest.raises(InputError, match="several"):
        import_folder(store, tmp_path)
    assert store.counts()["items"] == 0  # nothing imported before the check failed


def test_a_folder_of_parquet_files_is_read_in_batches_with_rejects_naming_their_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from homerec.storage import parquetfile

    batches: list[int] = []

    def two_rows_a_batch(path: Path, columns: list[str]):
        for rows in parquetfile.read_batches(path, columns, batch_rows=2):
            batches.append(rows.frame.height)
            yield rows

    monkeypatch.setattr("homerec.storage.load.read_batches", two_rows_a_batch)
    when = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)  # 1_700_000_000
    events = tmp_path / "events"
    (events / "year=2023").mkdir(parents=True)
    pl.DataFrame({"user_id": ["u10", "u20", "", "u30", "u10"], "ITEM_ID": ["i11", "i12", "i13", "i11", "i11"],
                  "TIMESTAMP": [when] * 5, "NOTES": ["x"] * 5}).write_parquet(events / "year=2023" / "part-0.parquet")
    pl.DataFrame({"USER_ID": ["u40", "u50\x00"], "ITEM_ID": ["i11", "i12"], "TIMESTAMP": [1_700_000_100, 5],
                  "EVENT_VALUE": [1.5, 2.0]}).write_parquet(events / "part-1.pq")  # fmt: skip
    report = import_interactions(store, events, rejects_path=tmp_path / "r.csv")
    assert batches == [2, 2, 2, 1]  # part-1.pq, then year=2023/part-0.parquet: path order, 2 rows a batch
    assert (report.rows_read, report.imported, report.rejected, report.duplicates) == (7, 4, 2, 1)
    rejects = pl.read_csv(tmp_path / "r.csv")
    assert rejects.columns == ["file", "line", "reason", "raw"]
    assert rejects.select("file", "line", "reason").rows() == [
        ("part-1.pq", 2, "USER_ID holds a control character"), ("year=2023/part-0.parquet", 3, "empty USER_ID"),
    ]  # fmt: skip
    assert store.interactions().select(Col.user_id, Col.ts).rows() == [
        ("u10", 1_700_000_000), ("u20", 1_700_000_000), ("u30", 1_700_000_000), ("u40", 1_700_000_100),
    ]  # fmt: skip
    again = import_interactions(store, events, rejects_path=tmp_path / "r.csv")
    assert (again.imported, again.duplicates) == (0, 5)


def test_a_parquet_folder_with_a_bad_file_stores_nothing(store: Store, tmp_path: Path):
    events = tmp_path / "events"
    events.mkdir()
    with pytest.raises(InputError, match="must hold .parquet files"):
        import_interactions(store, events)
    pl.DataFrame({"USER_ID": ["u10"], "ITEM_ID": ["i11"], "TIMESTAMP": [1]}).write_parquet(events / "a.parquet")
    (events / "b.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"b\.parquet: cannot be read as Parquet"):
        import_interactions(store, events)
    pl.DataFrame({"USER_ID": ["u10"], "ITEM_ID": ["i11"], "TIMESTAMP": [2], "DIMS": [{"w": 1}]}).write_parquet(
        events / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: columns of structs.*DIMS"):
        import_interactions(store, events)
    pl.DataFrame({"USER_ID": ["u10"], "TIMESTAMP": [2]}).write_parquet(events / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: missing required column\(s\) ITEM_ID"):
        import_interactions(store, events)
    assert store.counts()["interactions"] == 0


def test_a_dataset_folder_may_hold_its_events_as_a_folder_of_parquet_files(store: Store, tmp_path: Path):
    data = tmp_path / "export"
    (data / "Interactions").mkdir(parents=True)
    pl.DataFrame({"USER_ID": ["u10"], "ITEM_ID": ["i11"], "TIMESTAMP": [1]}).write_parquet(
        data / "Interactions" / "part-0.parquet")
    reports = import_folder(store, data, rejects_dir=tmp_path / "rejects")
    assert [(r.kind, r.imported) for r in reports] == [("interactions", 1)]
    write(data / "interactions.csv", "USER_ID,ITEM_ID,TIMESTAMP\nu10,i11,1\n")
    with pytest.raises(InputError, match="several interactions"):
        import_folder(store, data)
