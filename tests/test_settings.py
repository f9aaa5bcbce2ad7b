# SPDX-License-Identifier: Apache-2.0
"""Settings: defaults, file, environment and explicit overrides, in that order of priority."""

import pytest

from homerec.errors import ConfigError
from homerec.settings import load_settings


def test_priority_file_then_env_then_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOMEREC_CONFIG", raising=False)
    assert load_settings().store_url == "sqlite:///homerec.db"
    (tmp_path / "homerec.toml").write_text('store_url = "sqlite:///file.db"\nk = 20\n')
    assert load_settings().store_url == "sqlite:///file.db"
    monkeypatch.setenv("HOMEREC_STORE_URL", "sqlite:///env.db")
    s = load_settings()
    assert (s.store_url, s.k) == ("sqlite:///env.db", 20)
    assert load_settings(store_url="sqlite:///cli.db").store_url == "sqlite:///cli.db"


def test_bad_settings_are_config_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("k = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    (tmp_path / "unknown.toml").write_text("colour = 'red'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(tmp_path / "unknown.toml")


def test_the_shared_cache_comes_from_the_file_the_environment_or_the_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOMEREC_CONFIG", raising=False)
    monkeypatch.delenv("HOMEREC_CACHE_URL", raising=False)
    assert load_settings().cache_url is None
    (tmp_path / "homerec.toml").write_text('cache_url = "redis://file:6379/1"\n')
    assert load_settings().cache_url == "redis://file:6379/1"
    monkeypatch.setenv("HOMEREC_CACHE_URL", "redis://env:6379/2")
    assert load_settings().cache_url == "redis://env:6379/2"
    assert load_settings(cache_url="rediss://cli:6380/0").cache_url == "rediss://cli:6380/0"
    monkeypatch.setenv("HOMEREC_CACHE_URL", "")  # set but empty: none
    (tmp_path / "homerec.toml").unlink()
    assert load_settings().cache_url is None


def test_a_cache_url_that_is_not_redis_is_refused_without_its_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOMEREC_CACHE_URL", raising=False)
    with pytest.raises(ConfigError, match="redis://HOST:PORT/DB") as err:
        load_settings(cache_url="memcached://user:s3cret@host:11211")
    assert "s3cret" not in str(err.value) and "***" in str(err.value)
