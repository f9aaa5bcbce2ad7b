# SPDX-License-Identifier: Apache-2.0
"""Reusable conformance suites: subclass one and provide its fixture."""

import polars as pl
import pytest

from homerec.data.schema import INTERACTION_FRAME_COLUMNS, SIMILAR_ITEMS, USER_RECS, Col
from homerec.errors import InputError
from homerec.storage import AddResult, CachedList, Store


def events(*rows: tuple) -> pl.DataFrame:
    """(user, item, ts[, event_type[, event_value]]) tuples as an interactions frame."""
    full = [(*r, *([None] * (5 - len(r)))) for r in rows]
    return pl.DataFrame(
        full,
        schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64,
                Col.event_type: pl.String, Col.event_value: pl.Float64},
        orient="row",
    )  # fmt: skip


def as_tuples(frame: pl.DataFrame) -> list[tuple]:
    return frame.select(INTERACTION_FRAME_COLUMNS).rows()


class StoreContract:
    """What every `Store` must do; subclasses provide a `store` fixture with an empty store."""

    def test_new_store_is_empty(self, store: Store):
        assert store.counts() == {"interactions": 0, "items": 0, "users": 0, "rec_cache": 0}
        frame = store.interactions()
        assert frame.columns == list(INTERACTION_FRAME_COLUMNS) and frame.height == 0
        assert frame.schema[Col.ts] == pl.Int64 and frame.schema[Col.event_value] == pl.Float64
        assert store.items().columns == [Col.item_id] and store.users().columns == [Col.user_id]
        assert store.history("u10").height == 0

    def test_events_round_trip_in_time_order(self, store: Store):
        added = store.add_interactions(
            events(("u10", "i12", 300, "view", 1.5), ("u10", "i11", 100, "purchase", None), ("u20", "i11", 200))
        )
        assert added == AddResult(3, 0)
        assert as_tuples(store.interactions()) == [
            ("u10", "i11", 100, "purchase", None),
            ("u20", "i11", 200, "purchase", None),  # a null event type becomes the default
            ("u10", "i12", 300, "view", 1.5),
        ]

    def test_re_adding_inserts_nothing(self, store: Store):
        frame = events(("u10", "i11", 100), ("u20", "i12", 200, "view", 2.0))
        assert store.add_interactions(frame) == AddResult(2, 0)
        assert store.add_interactions(frame) == AddResult(0, 2)
        assert store.counts()["interactions"] == 2

    def test_duplicates_within_a_frame_are_skipped(self, store: Store):
        frame = events(("u10", "i11", 100), ("u10", "i11", 100), ("u10", "i11", 100, "view"), ("u10", "i11", 101))
        assert store.add_interactions(frame) == AddResult(3, 1)
        assert store.add_interactions(events(("u10", "i11", 101), ("u30", "i11", 5))) == AddResult(1, 1)

    def test_given_event_ids_decide_identity(self, store: Store):
        frame = events(("u10", "i11", 100), ("u10", "i11", 100), ("u10", "i12", 200)).with_columns(
            pl.Series(Col.event_id, ["e1", "e2", None])
        )
        assert store.add_interactions(frame) == AddResult(3, 0)  # same fields, different given ids
        again = events(("u99", "i99", 1)).with_columns(pl.Series(Col.event_id, ["e1"]))
        assert store.add_interactions(again) == AddResult(0, 1)  # a known id, whatever its fields
        derived = events(("u10", "i12", 200))  # no id: derived from the fields, as the null above was
        assert store.add_interactions(derived) == AddResult(0, 1)

    def test_missing_columns_and_nulls_raise_input_error(self, store: Store):
        with pytest.raises(InputError, match="ts"):
            store.add_interactions(pl.DataFrame({Col.user_id: ["u10"], Col.item_id: ["i11"]}))
        with pytest.raises(InputError, match="user_id"):
            store.add_interactions(events(("u10", "i11", 1)).with_columns(pl.lit(None, pl.String).alias(Col.user_id)))

    def test_empty_frame(self, store: Store):
        assert store.add_interactions(events()) == AddResult(0, 0)

    def test_since_filters_on_timestamp(self, store: Store):
        store.add_interactions(events(("u10", "i11", 100), ("u10", "i12", 200), ("u20", "i13", 300)))
        assert store.interactions(since=200)[Col.ts].to_list() == [200, 300]
        assert store.interactions(since=301).height == 0
        assert store.interactions(since=0).height == 3

    def test_history_is_oldest_first(self, store: Store):
        store.add_interactions(
            events(("u10", "i13", 300), ("u20", "i11", 50), ("u10", "i11", 100), ("u10", "i12", 200))
        )
        history = store.history("u10")
        assert history.columns == list(INTERACTION_FRAME_COLUMNS)
        assert history[Col.item_id].to_list() == ["i11", "i12", "i13"]
        assert store.history("nobody").height == 0

    def test_awkward_ids_and_values_survive(self, store: Store):
        odd = ['comma,"quote"', "new\nline", "Café — 東京 🛒", " padded "]
        store.add_interactions(events(*((u, "i11", n, "view", 0.1 + 0.2) for n, u in enumerate(odd))))
        frame = store.interactions()
        assert frame[Col.user_id].to_list() == odd
        assert frame[Col.event_value].to_list() == pytest.approx([0.3] * 4, rel=1e-14)
        assert store.history("new\nline").height == 1

    def test_progress_runs_from_zero_to_total(self, store: Store):
        calls: list[tuple[int, int]] = []
        added = store.add_interactions(
            events(*((f"u{n}", "i11", n) for n in range(5))), progress=lambda d, t: calls.append((d, t))
        )
        assert added == AddResult(5, 0)
        assert calls[0] == (0, 5) and calls[-1] == (5, 5)
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    def test_items_round_trip_with_multi_values_and_unicode(self, store: Store):
        catalog = pl.DataFrame(
            {
                Col.item_id: ["i11", "i12"],
                "CATEGORY_L1": ["Kitchen|Food Storage", "Café — 東京"],
                "PRICE": ["12.50", None],
                "DESCRIPTION": ['airtight, "freezer-safe"\nBPA-free', "x"],
            }
        )
        assert store.upsert_items(catalog) == 2
        items = store.items()
        assert items.columns == [Col.item_id, "CATEGORY_L1", "PRICE", "DESCRIPTION"]
        assert items.rows() == catalog.rows()
        assert all(dtype == pl.String for dtype in items.schema.values())

    def test_upsert_last_write_wins_and_counts_changes(self, store: Store):
        assert store.upsert_items(pl.DataFrame({Col.item_id: ["i11", "i11"], "BRAND": ["a", "b"]})) == 1
        assert store.items().rows() == [("i11", "b")]
        assert store.upsert_items(pl.DataFrame({Col.item_id: ["i11"], "BRAND": ["b"]})) == 0  # unchanged
        assert store.upsert_items(pl.DataFrame({Col.item_id: ["i11", "i12"], "COLOR": ["red", None]})) == 2
        assert store.items().rows() == [("i11", "red"), ("i12", None)]  # metadata replaced, not merged

    def test_users_round_trip(self, store: Store):
        users = pl.DataFrame({Col.user_id: ["u20", "u10"], "SEGMENT": ["retail|b2b", None]})
        assert store.upsert_users(users) == 2
        assert store.users().rows() == [("u10", None), ("u20", "retail|b2b")]
        assert store.counts()["users"] == 2

    def test_put_and_get_recs(self, store: Store):
        rows = [("u10", [("i11", 0.9), ("i12", 0.5)]), ("u20", [])]
        assert store.put_recs(USER_RECS, rows, "v1") == 2
        cached = store.get_recs(USER_RECS, "u10")
        assert isinstance(cached, CachedList)
        assert cached.items == [("i11", 0.9), ("i12", 0.5)] and cached.model_version == "v1"
        assert cached.computed_at > 1_600_000_000
        assert store.get_recs(USER_RECS, "u20").items == []
        assert store.get_recs(USER_RECS, "u30") is None
        assert store.get_recs(SIMILAR_ITEMS, "u10") is None

    def test_put_recs_replaces_existing_keys(self, store: Store):
        store.put_recs(USER_RECS, [("u10", [("i11", 1.0)]), ("u20", [("i11", 1.0)])], "v1")
        store.put_recs(USER_RECS, iter([("u10", [("i13", 2.0), ("i12", 1.0)])]), "v2")
        assert store.get_recs(USER_RECS, "u10") [:2] == ([("i13", 2.0), ("i12", 1.0)], "v2")
        assert store.get_recs(USER_RECS, "u20").model_version == "v1"
        assert store.counts()["rec_cache"] == 2

    def test_delete_user_removes_everything_of_that_user(self, store: Store):
        store.add_interactions(events(("u10", "i11", 1), ("u10", "i12", 2), ("u20", "i11", 3)))
        store.upsert_users(pl.DataFrame({Col.user_id: ["u10", "u20"], "SEGMENT": ["a", "b"]}))
        store.put_recs(USER_RECS, [("u10", [("i13", 1.0)]), ("u20", [("i13", 1.0)])], "v1")
        store.put_recs(f"{USER_RECS}:variant-b", [("u10", [("i13", 1.0)])], "v1")
        store.put_recs(SIMILAR_ITEMS, [("u10", [("i13", 1.0)])], "v1")  # an item that happens to be called u10
        removed = store.delete_user("u10")
        assert removed == {"interactions": 2, "users": 1, "rec_cache": 2}
        assert store.history("u10").height == 0
        assert store.get_recs(USER_RECS, "u10") is None
        assert store.get_recs(f"{USER_RECS}:variant-b", "u10") is None
        assert store.get_recs(SIMILAR_ITEMS, "u10") is not None
        assert store.users()[Col.user_id].to_list() == ["u20"]
        assert as_tuples(store.interactions()) == [("u20", "i11", 3, "purchase", None)]
        assert store.delete_user("u10") == {"interactions": 0, "users": 0, "rec_cache": 0}

    def test_counts(self, store: Store):
        store.add_interactions(events(("u10", "i11", 1), ("u20", "i11", 2)))
        store.upsert_items(pl.DataFrame({Col.item_id: ["i11", "i12", "i13"]}))
        store.put_recs(SIMILAR_ITEMS, [("i11", [("i12", 0.5)])], "v1")
        assert store.counts() == {"interactions": 2, "items": 3, "users": 0, "rec_cache": 1}
