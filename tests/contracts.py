# SPDX-License-Identifier: Apache-2.0
"""Reusable conformance suites: subclass one and provide its fixture."""

import threading
import time
from types import SimpleNamespace

import polars as pl
import pytest
import sqlalchemy as sa

from homerec.data.schema import (
    ATTRIBUTABLE_EVENT_COLUMNS,
    EXPOSURE_FRAME_COLUMNS,
    INTERACTION_FRAME_COLUMNS,
    SIMILAR_ITEMS,
    USER_RECS,
    Change,
    Col,
)
from homerec.errors import InputError
from homerec.storage import AddResult, CachedList, Store, open_store
from homerec.storage import bulk
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
    """(recommendation_id, experiment, variant, user_id, items, ts, served[, placement]) tuples as an exposure frame."""
    return pl.DataFrame(
        [(*r, None) if len(r) == 7 else r for r in rows],
        schema={Col.recommendation_id: pl.String, Col.experiment: pl.String, Col.variant: pl.String,
                Col.user_id: pl.String, Col.ranked: pl.List(pl.String), Col.ts: pl.Int64, Col.served: pl.Boolean,
                Col.placement: pl.String},
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


def spy(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[tuple]:
    """Record the arguments of every call of `module.name` (which still runs)."""
    calls: list[tuple] = []
    real = getattr(module, name)

    def recorded(*args: object) -> object:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(module, name, recorded)
    return calls


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


def detailed_events(*rows: tuple) -> pl.DataFrame:
    """Events as PutEvents stores them: (user_id, item_id, ts, event_id, session_id, impression)."""
    return pl.DataFrame(
        rows, orient="row",
        schema={Col.user_id: pl.String, Col.item_id: pl.String, Col.ts: pl.Int64, Col.event_id: pl.String,
                Col.session_id: pl.String, Col.impression: pl.String},
    ).with_columns(pl.lit("click").alias(Col.event_type), pl.lit('{"page": "home"}').alias(Col.properties),
                   pl.lit("email").alias(Col.attribution))


def check_v1_store_is_migrated(url: str) -> None:
    """Open the version-1 store at `url` twice: upgraded in place on the first, data kept, new tables
    and columns usable."""
    for n in range(2):  # the second opening finds the current version and changes nothing
        store = open_store(url)
        try:
            assert store.interactions().row(0) == ("u10", "i11", 100, "purchase", None, None, None)
            if n == 0:  # version 6: lines keep their order and quantity
                store.add_interactions(events(("u10", "i13", 150)).with_columns(
                    pl.lit("o1").alias(Col.order_id), pl.lit(12.0).alias(Col.quantity)))
            assert store.history("u10").filter(pl.col(Col.item_id) == "i13").select(
                Col.order_id, Col.quantity).row(0) == ("o1", 12.0)
            store.put_experiment("exp", "{}", "running")
            store.add_exposures(exposures(("r1", "exp", "control", "u10", ["i11"], 100, True)))
            store.add_interactions(linked_events(("u10", "i12", 200 + n, "click", f"e2{n}", "r1")))
            assert store.attributable_events(0)[Col.recommendation_id].to_list()[:3] == [None, None, "r1"]
            assert store.exposures("exp").height == 1 and len(store.experiments()) == 1
            store.put_recs(USER_RECS, [("u10", [("i11", 1.0)])], "v1", feed_seq=store.change_position())
            assert store.cached_lists(USER_RECS)[Col.feed_seq].to_list() == [store.change_position() - 1]
            # version 5: events keep what PutEvents sends; events without an item; control-plane records
            store.add_interactions(detailed_events(("s9", "i11", 300 + n, f"e3{n}", "s9", "i11|i12")))
            assert store.join_session("s9", "u10") == 1 and store.impressions().height == 2 * (n + 1)
            store.add_context_events(pl.DataFrame({Col.event_id: [f"c{n}"], Col.user_id: ["u10"], Col.ts: [5],
                                                   Col.event_type: ["search"]}))
            assert store.context_events().height == n + 1
            store.put_resource(f"arn:f{n}", "filter", "shop", "ACTIVE", {"n": n})
            assert [r.doc for r in store.resources("filter")] == [{"n": m} for m in range(n + 1)]
            # version 7: exposures carry their placement (older rows: none)
            store.add_exposures(exposures((f"p{n}", "", "", "u10", ["i12"], 400 + n, True, "home")))
            assert store.placement_exposures()[Col.recommendation_id].to_list() == [f"p{m}" for m in range(n + 1)]
            assert store.exposures("exp")[Col.placement].to_list() == [None]
            assert store.shown_counts("u10", since=400) == {"i12": n + 1}
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
        odd = ['comma,"quote"', "semi;colon", "Café — 東京 🛒", " padded "]
        store.add_interactions(events(*((u, "i11", n, "view", 0.1 + 0.2) for n, u in enumerate(odd))))
        frame = store.interactions()
        assert frame[Col.user_id].to_list() == odd
        assert frame[Col.event_value].to_list() == pytest.approx([0.3] * 4, rel=1e-14)
        assert store.history("semi;colon").height == 1 and store.history(" padded ").height == 1

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

    def test_ids_breaking_the_id_rule_are_refused(self, store: Store):
        for bad in ("P1\x00", "\x00", "x" * 257, "new\nline", ""):
            with pytest.raises(InputError):
                store.add_interactions(events(("u10", bad, 1)))
            with pytest.raises(InputError):
                store.add_interactions(events((bad, "i11", 1)))
            with pytest.raises(InputError):
                store.upsert_items(pl.DataFrame({Col.item_id: [bad], "BRAND": ["b"]}))
            with pytest.raises(InputError):
                store.upsert_users(pl.DataFrame({Col.user_id: [bad]}))
        with pytest.raises(InputError):
            store.add_interactions(events(("u10", "i11", 1, "view\x00")))
        assert store.counts() == {"interactions": 0, "items": 0, "users": 0, "rec_cache": 0}

    def test_reads_by_an_id_that_cannot_be_stored_find_nothing(self, store: Store):
        store.add_interactions(events(("u10", "i11", 1)))
        store.put_recs(USER_RECS, [("u10", [("i11", 1.0)]), ("u1\x00", [("i11", 1.0)])], "v1")
        for bad in ("u10\x00", "\x00readyz", "x" * 300):  # PostgreSQL would refuse a NUL parameter
            assert store.history(bad).height == 0 and store.last_event_ts(bad) is None
            assert store.user_items(bad) == ([], None) and store.get_recs(USER_RECS, bad) is None
            assert set(store.delete_user(bad).values()) == {0}
        assert store.get_recs(USER_RECS, "u10") is not None and store.counts()["rec_cache"] == 1

    @pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1.7976931348623157e308])
    def test_event_values_must_be_finite(self, store: Store, value: float):
        with pytest.raises(InputError, match="finite"):
            store.add_interactions(events(("u10", "i11", 1, "view", value)))
        assert store.counts()["interactions"] == 0

    def test_stored_rows_breaking_the_rules_are_skipped_on_read(self, store: Store, caplog: pytest.LogCaptureFixture):
        store.add_interactions(events(("u10", "i11", 1, "view", 2.0), ("u20", "i11", 5)))
        t = sql_module.tables.interactions
        rows = [("bad1", "u30", "i11", 2, "purchase", float("inf")), ("bad2", "u30", "i11", 3, "view", -1e308),
                ("bad3", "u" * 300, "i11", 4, "view", None)]
        with store._engine.begin() as conn:  # as an older homerec (or a hand-written INSERT) left them
            conn.execute(sa.insert(t), [dict(zip((Col.event_id, *INTERACTION_FRAME_COLUMNS), r)) for r in rows])
        with caplog.at_level("WARNING"):
            frame = store.interactions()
        assert as_tuples(frame) == [("u10", "i11", 1, "view", 2.0), ("u20", "i11", 5, "purchase", None)]
        assert "skipped 1 stored events whose ids" in caplog.text and "and 2 whose event_value" in caplog.text
        assert store.interactions(since=5).height == 1

    def test_a_deleted_user_stays_deleted_until_new_events(self, store: Store):
        store.add_interactions(events(("u10", "i11", 1), ("u20", "i11", 2)))
        store.delete_user("u10")
        # A batch or a serving process that read the user before the deletion writes late.
        assert store.put_recs(USER_RECS, [("u10", [("i11", 1.0)]), ("u20", [("i11", 1.0)])], "v1") == 1
        assert store.put_recs(f"{USER_RECS}:b", [("u10", [("i11", 1.0)])], "v1") == 0
        assert store.put_recs(SIMILAR_ITEMS, [("u10", [("i11", 1.0)])], "v1") == 1  # an item called u10
        late = exposures(("r1", "exp", "control", "u10", ["i11"], 3, True), ("r2", "exp", "control", "u20", [], 3, True))
        assert store.add_exposures(late) == 1
        assert store.exposures("exp")[Col.user_id].to_list() == ["u20"]
        assert store.get_recs(USER_RECS, "u10") is None
        # The customer comes back: a new event lifts the tombstone.
        store.add_interactions(events(("u10", "i12", 10)))
        assert store.put_recs(USER_RECS, [("u10", [("i11", 1.0)])], "v1") == 1
        assert store.add_exposures(exposures(("r3", "exp", "control", "u10", ["i11"], 11, True))) == 1

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

    def test_placement_exposures_and_shown_counts(self, store: Store):
        frame = exposures(
            ("r1", "", "", "u10", ["i11", "i12"], 100, True, "home"),
            ("r2", "exp", "control", "u10", ["i11"], 200, True, "cart"),
            ("r3", "exp", "candidate", "u10", ["i13"], 210, False, "cart"),  # shadow: never shown
            ("r4", "exp", "control", "u20", ["i11"], 220, True),  # no placement
            ("r5", "", "", "u10", ["i12", "i14"], 50, True, "home"),
        )
        assert store.add_exposures(frame) == 5
        placed = store.placement_exposures()
        assert placed[Col.recommendation_id].to_list() == ["r5", "r1", "r2", "r3"]
        assert placed[Col.placement].to_list() == ["home", "home", "cart", "cart"]
        assert store.placement_exposures(since=150)[Col.recommendation_id].to_list() == ["r2", "r3"]
        assert store.exposures("exp")[Col.placement].to_list() == ["cart", "cart", None]
        assert store.shown_counts("u10", since=0) == {"i11": 2, "i12": 2, "i14": 1}
        assert store.shown_counts("u10", since=100) == {"i11": 2, "i12": 1}
        assert store.shown_counts("u99", since=0) == {}

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

    def test_every_write_that_changes_answers_goes_to_the_feed_in_order(self, store: Store):
        assert store.change_position() == 0 and store.changes(0) == []
        follower = store.feed()
        try:
            assert follower.wait(0, 0.01) == []
            store.add_interactions(events(("u10", "i11", 100), ("u20", "i11", 100), ("u10", "i12", 200)))
            store.add_interactions(events(("u10", "i11", 100)))  # nothing new: no change
            store.upsert_items(pl.DataFrame({Col.item_id: ["i11"], "CATEGORY": ["a"]}))
            store.upsert_items(pl.DataFrame({Col.item_id: ["i11"], "CATEGORY": ["a"]}))  # unchanged
            store.upsert_users(pl.DataFrame({Col.user_id: ["u30"], "TIER": ["gold"]}))
            store.put_recs(USER_RECS, [("u10", [("i13", 1.0)])], "v1", feed_seq=3)
            store.delete_user("u20")
            got = [(c.kind, c.key) for c in store.changes(0)]
            assert got == [(Change.events, "u10"), (Change.events, "u20"), (Change.items, "i11"),
                           (Change.users, "u30"), (Change.recs, USER_RECS), (Change.deleted, "u20")]
            seqs = [c.seq for c in store.changes(0)]
            assert seqs == sorted(seqs) and store.change_position() == seqs[-1]
            assert [c.seq for c in follower.wait(seqs[2], 1.0)] == seqs[3:]
            assert store.changes(seqs[-1]) == [] and follower.wait(seqs[-1], 0.05) == []
            assert store.cached_lists(USER_RECS).row(0, named=True)[Col.feed_seq] == 3
        finally:
            follower.close()

    def test_a_feed_wakes_when_another_connection_commits(self, store: Store):
        follower = store.feed()
        try:
            follower.wait(0, 0.01)
            timer = threading.Timer(0.3, store.add_interactions, [events(("u10", "i11", 100))])
            timer.start()
            started = time.monotonic()
            got = follower.wait(0, 5.0)
            waited = time.monotonic() - started
            timer.join()
            assert [(c.kind, c.key) for c in got] == [(Change.events, "u10")]
            assert 0.2 < waited < 4.0  # woken by the commit, not by the timeout
        finally:
            follower.close()

    def test_pruning_keeps_what_cached_lists_need(self, store: Store):
        store.add_interactions(events(("u10", "i11", 100), ("u20", "i11", 200)))
        store.add_interactions(events(("u30", "i11", 300)))
        position = store.change_position()
        store.put_recs(USER_RECS, [("u10", [("i11", 1.0)])], "v1", feed_seq=position - 1)
        assert store.prune_changes(older_than_s=3600) == 0  # too recent
        assert store.prune_changes(older_than_s=-10) == 2  # everything up to the list's position
        assert [c.key for c in store.changes(0)] == ["u30", USER_RECS]
        store.delete_user("u10")  # the list goes: nothing needs the feed's past any more
        assert store.prune_changes(older_than_s=-10) == 3 and store.changes(0) == []

    def test_cached_lists_keep_the_time_their_data_was_read(self, store: Store):
        store.put_recs(USER_RECS, [("u10", [("i11", 1.0)])], "v1", computed_at=1_234)
        cached = store.get_recs(USER_RECS, "u10")
        assert cached is not None and cached.computed_at == 1_234
        store.put_recs(USER_RECS, [("u10", [("i12", 2.0)])], "v1")  # default: now
        assert store.get_recs(USER_RECS, "u10").computed_at > 1_700_000_000

    # -- bulk loads (homerec.storage.bulk) -----------------------------------------------------
    def test_bulk_load_stages_batches_and_merges_them_idempotently(self, store: Store):
        first = events(("u10", "i11", 300), ("u20", "i11", 100), ("u10", "i12", 200, "view", 0.5))
        second = linked_events(("u10", "i11", 300, "purchase", None, None),  # the same event again: derived id
                               ("u30", "i13", 50, "click", "e1", "r1"), ("u30", "i13", 60, "click", "e2", "r" * 41))
        progress: list[tuple[int, int]] = []
        assert store.load_interactions(iter([first, second]), progress=lambda d, t: progress.append((d, t))) == AddResult(5, 1)
        assert progress[0][0] == 0 and progress[-1] == (6, 6) and progress == sorted(progress)
        assert as_tuples(store.interactions()) == [
            ("u30", "i13", 50, "click", None), ("u30", "i13", 60, "click", None), ("u20", "i11", 100, "purchase", None),
            ("u10", "i12", 200, "view", 0.5), ("u10", "i11", 300, "purchase", None),
        ]  # fmt: skip
        links = store.attributable_events(0).filter(pl.col(Col.recommendation_id).is_not_null())
        assert links.select(Col.event_id, Col.recommendation_id).rows() == [("e1", "r1")]  # r * 41 names no exposure
        assert sorted(c.key for c in store.changes(0)) == ["u10", "u20", "u30"]  # one change per user
        position = store.change_position()
        assert store.load_interactions([second, first]) == AddResult(0, 6)  # a re-import adds nothing
        assert store.change_position() == position and store.counts()["interactions"] == 5
        assert store.history("u10")[Col.item_id].to_list() == ["i12", "i11"]

    def test_bulk_load_writes_one_change_per_user_per_transaction(self, store: Store, monkeypatch: pytest.MonkeyPatch):
        store.add_interactions(events(("u99", "i11", 1)))  # not empty: merged in chunks, indexes kept
        monkeypatch.setattr(sql_module, "CHUNK_ROWS", 2)
        rebuilt = spy(monkeypatch, bulk, "create_indexes")
        frame = events(*((u, "i11", ts) for ts, u in enumerate(["u10", "u20", "u10", "u10", "u30"], start=10)))
        progress: list[tuple[int, int]] = []
        assert store.load_interactions([frame.head(3), frame.tail(2)], lambda d, t: progress.append((d, t))) == AddResult(5, 0)
        assert rebuilt == [] and progress[-3:] == [(2, 5), (4, 5), (5, 5)]
        # positions 1-2, 3-4 (two batches reach into it), 5: a transaction each, every user of each in the feed
        assert [c.key for c in store.changes(0)][1:] == ["u10", "u20", "u10", "u30"]

    def test_bulk_load_into_an_empty_table_builds_the_indexes_after_the_rows(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 3)
        rebuilt = spy(monkeypatch, bulk, "create_indexes")
        declared = _index_names(store)
        assert {ix.name for ix in sql_module.tables.interactions.indexes} <= declared
        assert store.load_interactions([events(("u10", "i11", 1))]) == AddResult(1, 0)
        assert rebuilt == []  # too small a load to rebuild for
        store.delete_user("u10")
        frame = events(*((f"u{n % 3}", f"i{n}", n) for n in range(40)), ("u10", "i11", 99))
        assert store.load_interactions([frame]) == AddResult(41, 0)
        assert len(rebuilt) == 1  # empty table: one transaction, indexes built after the rows
        assert _index_names(store) == declared
        assert store.history("u1")[Col.ts].to_list() == list(range(1, 40, 3))
        assert store.put_recs(USER_RECS, [("u10", [("i11", 1.0)])], "v1") == 1  # its new events lifted the tombstone
        assert {c.key for c in store.changes(0) if c.kind == Change.events} == {"u10", "u0", "u1", "u2"}
        assert store.load_interactions([frame.with_columns(pl.col(Col.ts) + 100)]) == AddResult(41, 0)
        assert len(rebuilt) == 1  # as many rows as the load brings: not a small table any more

    def test_a_failed_bulk_load_stores_nothing_and_leaves_no_stage(self, store: Store):
        good = events(("u10", "i11", 1), ("u20", "i12", 2))
        with pytest.raises(InputError, match="user_id"):
            store.load_interactions([good, events(("u10\x01", "i11", 3))])
        with pytest.raises(InputError, match="finite"):
            store.load_interactions(iter([good, events(("u10", "i11", 3, "view", float("nan")))]))
        assert store.counts()["interactions"] == 0 and store.changes(0) == []
        assert store.load_interactions([good]) == AddResult(2, 0)  # the stage of the failed load is gone

    def test_a_bulk_load_that_fails_while_rebuilding_keeps_the_indexes(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
        declared = _index_names(store)

        def crash(_conn: object) -> None:
            raise RuntimeError("killed while building the index")

        monkeypatch.setattr(bulk, "create_indexes", crash)
        with pytest.raises(RuntimeError, match="killed"):
            store.load_interactions([events(("u10", "i11", 1), ("u20", "i12", 2))])
        assert _index_names(store) == declared  # dropped, then rolled back
        assert store.counts()["interactions"] == 0 and store.changes(0) == []

    # -- version 5: what PutEvents sends besides the interaction -----------------------------------
    def test_event_details_are_kept(self, store: Store):
        store.add_interactions(detailed_events(("u10", "i11", 100, "e1", "s1", "i11|i12|i13")))
        shown = store.impressions()
        assert shown.select(Col.item_id, Col.chosen).rows() == [("i11", True), ("i12", False), ("i13", False)]
        assert store.history("u10").height == 1

    def test_context_events_and_their_deletion(self, store: Store):
        frame = pl.DataFrame({Col.event_id: ["c1", "c2", "c1"], Col.user_id: ["u10", "u20", "u10"], Col.ts: [1, 2, 1],
                              Col.event_type: ["search", "view", "search"], Col.impression: ["i11|i12", None, "i11|i12"],
                              Col.properties: ['{"q": "gloves"}', None, '{"q": "gloves"}']})
        assert store.add_context_events(frame) == AddResult(2, 1)
        assert store.context_events(user_id="u10")[Col.properties].to_list() == ['{"q": "gloves"}']
        assert store.impressions()[Col.chosen].to_list() == [False, False]
        assert store.delete_user("u10")["interactions"] == 1
        assert store.context_events()[Col.user_id].to_list() == ["u20"]
        with pytest.raises(InputError):
            store.add_context_events(frame.drop(Col.event_type))

    def test_a_joined_session_moves_its_anonymous_events_to_the_user(self, store: Store):
        store.add_interactions(detailed_events(("s1", "i11", 100, "e1", "s1", None), ("s1", "i12", 101, "e2", "s1", None),
                                               ("u20", "i13", 102, "e3", "s1", None)))  # fmt: skip
        store.add_context_events(pl.DataFrame({Col.event_id: ["c1"], Col.user_id: ["s1"], Col.ts: [99],
                                               Col.event_type: ["view"], Col.session_id: ["s1"]}))
        before = store.change_position()
        assert store.join_session("s1", "u10") == 3
        assert store.history("u10")[Col.item_id].to_list() == ["i11", "i12"] and store.history("s1").height == 0
        assert store.history("u20").height == 1  # another user's event in that session stays theirs
        assert {(c.kind, c.key) for c in store.changes(before)} == {("events", "u10"), ("events", "s1")}
        assert store.join_session("s1", "u10") == 0 and store.join_session("s1", "s1") == 0

    def test_resources_round_trip(self, store: Store):
        store.put_resource("arn:a", "filter", "shop", "ACTIVE", {"filterExpression": "EXCLUDE ItemID WHERE x"})
        store.put_resource("arn:b", "filter", "other", "ACTIVE", {})
        store.put_resource("arn:a", "filter", "shop", "DELETE PENDING", {"filterExpression": "y"})
        row = store.resource("arn:a")
        assert row is not None and row.status == "DELETE PENDING" and row.doc == {"filterExpression": "y"}
        assert [r.arn for r in store.resources("filter")] == ["arn:a", "arn:b"]
        assert [r.arn for r in store.resources("filter", "other")] == ["arn:b"]
        assert store.delete_resource("arn:a") and not store.delete_resource("arn:a")
        assert store.resource("arn:a") is None and store.resource("\x00") is None


def _index_names(store: Store) -> set[str]:
    """The indexes the interactions table has in the database."""
    return {ix["name"] for ix in sa.inspect(store._engine).get_indexes("interactions")}
