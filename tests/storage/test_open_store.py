# SPDX-License-Identifier: Apache-2.0
"""open_store: URL forms, clear errors for bad URLs and unreachable servers, and event ids."""

import polars as pl
import pytest

from homerec.errors import ConfigError, StoreError
from homerec.storage import event_ids, open_store


@pytest.mark.parametrize("url", ["mysql://u@h/db", "redis://localhost", "postgresql+psycopg2://u@h/db"])
def test_unknown_schemes_name_the_accepted_forms(url: str):
    with pytest.raises(ConfigError, match=r"sqlite:///.*postgresql://"):
        open_store(url)


@pytest.mark.parametrize("url", ["", "homerec.db", "not a url at all"])
def test_malformed_urls(url: str):
    with pytest.raises(ConfigError, match="accepted forms"):
        open_store(url)


def test_unreachable_server_is_a_store_error_without_password():
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://someone:s3cret@127.0.0.1:1/nothing?connect_timeout=2")
    message = str(caught.value)
    assert "127.0.0.1" in message and "s3cret" not in message
    assert "\n" not in message and "Traceback" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_postgres_alias_scheme_is_accepted_up_to_connecting():
    with pytest.raises(StoreError):  # not ConfigError: the scheme was understood
        open_store("postgres://someone@127.0.0.1:1/nothing?connect_timeout=2")


def test_event_ids_are_stable_and_time_ordered():
    ids = event_ids(
        pl.Series(["u1", "u1", "u2"]),
        pl.Series(["i1", "i1", "i1"]),
        pl.Series([1_700_000_000, 1_700_000_001, 1_700_000_000]),
        pl.Series(["purchase", "purchase", "purchase"]),
    ).to_list()
    assert ids[0] == "00006553f100624669bc6597663c7d45"  # never change: re-imports rely on it
    assert ids[1].startswith("00006553f101") and ids[0] < ids[1]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
