# SPDX-License-Identifier: Apache-2.0
"""Reusable conformance suites: subclass one and provide its fixture."""

from types import SimpleNamespace

import polars as pl
import pytest

from homerec.data.schema import (
    ATTRIBUTABLE_EVENT_COLUMNS,
    EXPOSURE_FRAME_COLUMNS,
    INTERACTION_FRAME_COLUMNS,
    SIMILAR_ITEMS,
    USER_RECS,
    Col,
)
from homerec.errors import InputError
from homerec.storage import AddResult, CachedList, Store, open_store
from homerec.storage import sql as sql_module
from homerec.storage.base import ExperimentRow


def events(*rows: tuple) -> pl.DataFrame:
    """(user, item, ts[, event_type[, event_value]]) tuples as an interactions frame."""
    full = [(*r, *([None] * (5 - len(r)))) for r in rows]
    return pl.DataFrame(
        full,
        schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64,
                Col.event_type: pl.String, Col.event_value: pl.Float64},
        orient="row",
    )  # fmt: skip


CORE_COLUMNS = (Col.user_id, Col.item_id, Col.ts, Col.event_type, Col.event_value)
"""The interaction columns every event has (order id and quantity are optional)."""


def as_tuples(frame: pl.DataFrame) -> list[tuple]:
    return frame.select(CORE_COLUMNS).rows()


def exposures(*rows: tuple) -> pl.DataFrame:
    """(recommendation_id, experiment, variant, user_id, items, ts, served) tuples as an exposure frame."""
    return pl.DataFrame(
        list(rows),
        schema={Col.recommendation_id: pl.String, Col.experiment: pl.String, Col.variant: pl.String,
                Col.user_id: pl.String, Col.ranked: pl.List(pl.String), Col.ts: pl.Int64, Col.served: pl.Boolean},
        orient="row",
    )  # fmt: skip


def linked_events(*rows: tuple) -> pl.DataFrame:
    """(user, item, ts, event_type, event_id, recommendation_id) tuples as an interactions frame."""
    return pl.DataFrame(
        list(rows),
        schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64, Col.event_type: pl.String,
                Col.event_id: pl.String, Col.recommendation_id: pl.String},
        orient="row",
    )  # fmt: skip


V1_STORE_SQL = (
    "CREATE TABLE interactions (event_id VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL,"
    " ts BIGINT NOT NULL, event_type VARCHAR NOT NULL, event_value FLOAT)",
    "CREATE TABLE items (item_id VARCHAR PRIMARY KEY, metadata TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE TABLE users (user_id VARCHAR PRIMARY KEY, metadata TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE TABLE rec_cache (namespace VARCHAR, key VARCHAR, items TEXT NOT NULL, model_version VARCHAR NOT NULL,"
    " computed_at BIGINT NOT NULL, PRIMARY KEY (namespace, key))",
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
    "INSERT INTO interactions VALUES ('e1', 'u10', 'i11', 100, 'purchase', NULL)",
)
"""A store as homerec with schema version 1 left it (tables written out by hand), with one event."""


def check_v1_store_is_migrated(url: str) -> None:
    """Open the version-1 store at `url` twice: upgraded in place on the first, data kept, new tables
    and columns usable."""
    for n in range(2):  # the second opening finds the current version and changes nothing
        store = open_store(url)
        try:
            assert store.interactions().row(0) == ("u10", "i11", 100, "purchase", None, None, None)
            if n == 0:  # version 3: lines keep their order and quantity
                store.add_interactions(events(("u10", "i13", 150)).with_columns(
                    pl.lit("o1").alias(Col.order_id), pl.lit(12.0).alias(Col.quantity)))
            assert store.history("u10").filter(pl.col(Col.item_id) == "i13").select(
                Col.order_id, Col.quantity).row(0) == ("o1", 12.0)
            store.put_experiment("exp", "{}", "running")
            store.add_exposures(exposures(("r1", "exp", "control", "u10", ["i11"], 100, True)))
            store.add_interactions(linked_events(("u10", "i12", 200, "click", "e2", "r1")))
            assert store.attributable_events(0)[Col.recommendation_id].to_list() == [None, None, "r1"]
            assert store.exposures("exp").height == 1 and len(store.experiments()) == 1
        finally:
            store.close()


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

    def test_order_ids_and_quantities_round_trip(self, store: Store):
        frame = events(("u10", "i11", 100), ("u10", "i12", 100), ("u20", "i11", 200)).with_columns(
            pl.Series(Col.order_id, ["o1", "o1", None]), pl.Series(Col.quantity, [40.0, None, 2.5]))
        assert store.add_interactions(frame) == AddResult(3, 0)
        got = store.interactions().select(Col.user_id, Col.item_id, Col.order_id, Col.quantity).sort(Col.user_id, Col.item_id)
        assert got.rows() == [("u10", "i11", "o1", 40.0), ("u10", "i12", "o1", None), ("u20", "i11", None, 2.5)]
        assert store.history("u10")[Col.order_id].to_list() == ["o1", "o1"]
        assert store.add_interactions(frame) == AddResult(0, 3)

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
        assert removed == {"interactions": 2, "users": 1, "rec_cache": 2, "exposures": 0, "event_links": 0}
        assert store.history("u10").height == 0
        assert store.get_recs(USER_RECS, "u10") is None
        assert store.get_recs(f"{USER_RECS}:variant-b", "u10") is None
        assert store.get_recs(SIMILAR_ITEMS, "u10") is not None
        assert store.users()[Col.user_id].to_list() == ["u20"]
        assert as_tuples(store.interactions()) == [("u20", "i11", 3, "purchase", None)]
        assert store.delete_user("u10") == {
            "interactions": 0, "users": 0, "rec_cache": 0, "exposures": 0, "event_links": 0
        }  # fmt: skip

    def test_counts(self, store: Store):
        store.add_interactions(events(("u10", "i11", 1), ("u20", "i11", 2)))
        store.upsert_items(pl.DataFrame({Col.item_id: ["i11", "i12", "i13"]}))
        store.put_recs(SIMILAR_ITEMS, [("i11", [("i12", 0.5)])], "v1")
        assert store.counts() == {"interactions": 2, "items": 3, "users": 0, "rec_cache": 1}

    # -- A/B experiment log ----------------------------------------------------------------------
    def test_experiments_upsert_keeps_created_at(self, store: Store, monkeypatch: pytest.MonkeyPatch):
        clock = [1_000]
        monkeypatch.setattr(sql_module, "time", SimpleNamespace(time=lambda: clock[0]))
        assert store.experiments() == []
        store.put_experiment("zeta", '{"v": 1}', "running")
        clock[0] = 2_000
        store.put_experiment("alpha", "{}", "running")
        clock[0] = 3_000
        store.put_experiment("zeta", '{"v": 2}', "rolled_back")
        assert store.experiments() == [
            ExperimentRow("zeta", '{"v": 2}', "rolled_back", 1_000, 3_000),
            ExperimentRow("alpha", "{}", "running", 2_000, 2_000),
        ]

    def test_exposures_round_trip(self, store: Store):
        odd = ["Café — 東京 🛒", 'comma,"quote"', "new\nline"]
        frame = exposures(
            ("r2", "exp", "candidate", "u20", ["i13"], 200, False),
            ("r1", "exp", "control", "u10", ["i11", "i12"], 100, True),
            ("r3", "exp", "control", "u10", [], 300, True),
            ("r4", "exp", "control", "u30", odd, 300, True),
            ("r9", "other", "control", "u10", ["i11"], 150, True),
        )
        assert store.add_exposures(frame) == 5
        got = store.exposures("exp")
        assert got.columns == list(EXPOSURE_FRAME_COLUMNS)
        assert got.schema[Col.ranked] == pl.List(pl.String) and got.schema[Col.served] == pl.Boolean
        assert got.rows() == [frame.row(1), frame.row(0), frame.row(2), frame.row(3)]  # in time order
        assert store.exposures("exp", since=250)[Col.recommendation_id].to_list() == ["r3", "r4"]
        assert store.exposures("nothing").height == 0 and store.exposures("nothing").columns == got.columns

    def test_exposures_are_idempotent_on_recommendation_id(self, store: Store):
        frame = exposures(("r1", "exp", "control", "u10", ["i11"], 100, True))
        assert store.add_exposures(frame) == 1
        again = exposures(("r1", "exp", "candidate", "u99", ["i99"], 999, False), ("r2", "exp", "control", "u10", [], 5, True),
                          ("r2", "exp", "control", "u10", [], 5, True))  # fmt: skip
        assert store.add_exposures(again) == 1
        assert store.exposures("exp").rows() == [again.row(1), frame.row(0)]
        assert store.add_exposures(exposures()) == 0

    def test_bad_exposures_raise_input_error(self, store: Store):
        good = exposures(("r1", "exp", "control", "u10", ["i11"], 100, True))
        with pytest.raises(InputError, match="served"):
            store.add_exposures(good.drop(Col.served))
        with pytest.raises(InputError, match="40"):
            store.add_exposures(good.with_columns(pl.lit("r" * 41).alias(Col.recommendation_id)))
        with pytest.raises(InputError, match="user_id"):
            store.add_exposures(good.with_columns(pl.lit(None, pl.String).alias(Col.user_id)))
        with pytest.raises(InputError, match="null item"):
            store.add_exposures(good.with_columns(pl.Series(Col.ranked, [["i1", None]])))
        assert store.exposures("exp").height == 0

    def test_a_few_thousand_exposures(self, store: Store):
        """Past the bulk threshold of every backend (PostgreSQL's COPY at 1,000 rows)."""
        n = 3_000
        frame = exposures(*((f"r{k}", "exp", f"v{k % 3}", f"u{k % 97}", [f"i{k}", "i0"], k, k % 2 == 0) for k in range(n)))
        assert store.add_exposures(frame) == n
        assert store.exposures("exp").equals(frame)

    def test_events_link_to_recommendations(self, store: Store):
        added = store.add_interactions(linked_events(
            ("u10", "i11", 100, "click", "e1", "r1"),
            ("u10", "i12", 200, "purchase", "e2", "r1"),
            ("u20", "i11", 300, "click", "e3", None),
            ("u20", "i13", 400, "click", "e4", "r" * 41),  # too long to name an exposure: not linked
        ))  # fmt: skip
        assert added == AddResult(4, 0)
        store.add_interactions(events(("u30", "i11", 500)))  # a frame without the column
        # An event already stored keeps its link, whatever a retry says.
        assert store.add_interactions(linked_events(("u10", "i11", 100, "click", "e1", "r7"))) == AddResult(0, 1)
        got = store.attributable_events(since=0)
        assert got.columns == list(ATTRIBUTABLE_EVENT_COLUMNS)
        assert got.select(Col.event_id, Col.recommendation_id).rows()[:4] == [
            ("e1", "r1"), ("e2", "r1"), ("e3", None), ("e4", None)
        ]  # fmt: skip
        assert got.row(4)[:5] == ("u30", "i11", 500, "purchase", None) and got[Col.recommendation_id][4] is None
        assert store.attributable_events(since=200)[Col.event_id].to_list() == ["e2", "e3", "e4", got[Col.event_id][4]]
        assert store.interactions().columns == list(INTERACTION_FRAME_COLUMNS)

    def test_delete_user_removes_exposures_and_links(self, store: Store):
        store.add_exposures(exposures(("r1", "exp", "control", "u10", ["i11"], 100, True),
                                      ("r2", "exp", "control", "u20", ["i11"], 100, True)))  # fmt: skip
        store.add_interactions(linked_events(("u10", "i11", 110, "click", "e1", "r1"),
                                             ("u20", "i11", 120, "click", "e2", "r2"),
                                             ("u20", "i12", 130, "click", "e3", "r1")))  # fmt: skip
        removed = store.delete_user("u10")
        assert removed == {"interactions": 1, "users": 0, "rec_cache": 0, "exposures": 1, "event_links": 2}
        assert store.exposures("exp")[Col.user_id].to_list() == ["u20"]
        links = store.attributable_events(since=0).select(Col.event_id, Col.recommendation_id).rows()
        assert links == [("e2", "r2"), ("e3", None)]  # u20's event that named u10's list is unlinked

    def test_cache_freshness(self, store: Store, monkeypatch: pytest.MonkeyPatch):
        assert store.cache_freshness() == []
        clock = [1_000]
        monkeypatch.setattr(sql_module, "time", SimpleNamespace(time=lambda: clock[0]))
        store.put_recs(USER_RECS, [("u10", [("i11", 1.0)]), ("u20", [])], "v1")
        clock[0] = 2_000
        store.put_recs(USER_RECS, [("u30", [("i11", 1.0)])], "v2")
        store.put_recs(SIMILAR_ITEMS, [("i11", [("i12", 0.5)])], "v2")
        assert store.cache_freshness() == [
            {"namespace": SIMILAR_ITEMS, "rows": 1, "model_versions": ["v2"], "oldest": 2_000, "newest": 2_000},
            {"namespace": USER_RECS, "rows": 3, "model_versions": ["v1", "v2"], "oldest": 1_000, "newest": 2_000},
        ]

    def test_cached_lists_keep_the_time_their_data_was_read(self, store: Store):
        store.put_recs(USER_RECS, [("u10", [("i11", 1.0)])], "v1", computed_at=1_234)
        cached = store.get_recs(USER_RECS, "u10")
        assert cached is not None and cached.computed_at == 1_234
        store.put_recs(USER_RECS, [("u10", [("i12", 2.0)])], "v1")  # default: now
        assert store.get_recs(USER_RECS, "u10").computed_at > 1_700_000_000
