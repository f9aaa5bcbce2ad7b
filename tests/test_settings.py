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


GROUP_TOML = """
[[dataset_groups]]
arn = "arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop"
store_url = "sqlite:///shop.db"
event_trackers = ["tracker-1"]
[dataset_groups.campaigns]
"arn:aws:personalize:eu-west-1:123456789012:campaign/shop" = "v3"
[dataset_groups.campaigns."arn:aws:personalize:eu-west-1:123456789012:campaign/new"]
exclude = "purchased"
metadata = false
[dataset_groups.filters]
"arn:aws:personalize:eu-west-1:123456789012:filter/bought" = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
[dataset_groups.solutions."arn:aws:personalize:eu-west-1:123456789012:solution/shop"]
models = ["als"]
"""


def test_dataset_groups_from_the_file_and_the_environment(tmp_path, monkeypatch):
    for name in ("HOMEREC_DATASET_GROUPS", "HOMEREC_CAMPAIGNS", "HOMEREC_FILTERS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "homerec.toml"
    path.write_text(GROUP_TOML)
    (group,) = load_settings(path).personalize_groups()
    assert group.name == "shop" and group.store_url == "sqlite:///shop.db" and group.event_trackers == ["tracker-1"]
    shop, new = group.campaigns.values()
    assert (shop.version, shop.exclude, shop.metadata) == ("v3", "none", True)
    assert (new.version, new.exclude, new.metadata) == ("active", "purchased", False)
    assert list(group.solutions.values())[0].models == ["als"]
    assert group.dataset_arn("ITEMS") == "arn:aws:personalize:eu-west-1:123456789012:dataset/shop/ITEMS"
    monkeypatch.setenv("HOMEREC_DATASET_GROUPS", '[{"arn": "arn:aws:personalize:us-east-1:1:dataset-group/b2b"}]')
    monkeypatch.setenv("HOMEREC_CAMPAIGNS", "arn:aws:personalize:us-east-1:1:campaign/x=v2,legacy-tracker=active")
    (env_group,) = load_settings(path).personalize_groups()  # the environment wins over the file
    assert env_group.name == "b2b" and env_group.campaigns["arn:aws:personalize:us-east-1:1:campaign/x"].version == "v2"
    assert env_group.event_trackers == ["legacy-tracker"]  # the flat map adds to the first group


def test_zero_config_is_one_default_group(monkeypatch):
    for name in ("HOMEREC_DATASET_GROUPS", "HOMEREC_CAMPAIGNS", "HOMEREC_FILTERS"):
        monkeypatch.delenv(name, raising=False)
    (group,) = load_settings().personalize_groups()
    assert group.name == "default" and not group.campaigns and group.store_url is None


@pytest.mark.parametrize("groups", [
    '[{"arn": "arn:aws:personalize:eu-west-1:1:campaign/shop"}]',  # not a dataset group
    '[{"arn": "arn:aws:personalize:eu-west-1:1:dataset-group/shop", "campaigns": {"c": {"exclude": "all"}}}]',
    '[{"arn": "arn:aws:personalize:eu-west-1:1:dataset-group/shop", "typo": 1}]',
    "not json",
])
def test_bad_dataset_groups_are_config_errors(groups, monkeypatch):
    monkeypatch.setenv("HOMEREC_DATASET_GROUPS", groups)
    with pytest.raises(ConfigError):
        load_settings()


def test_the_readme_configuration_example_is_valid(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    from homerec.serving.app import check_filters

    for name in ("HOMEREC_DATASET_GROUPS", "HOMEREC_CAMPAIGNS", "HOMEREC_FILTERS", "HOMEREC_S3_ROOT"):
        monkeypatch.delenv(name, raising=False)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[[dataset_groups]]" in b]
    (tmp_path / "homerec.toml").write_text(block)
    settings = load_settings(tmp_path / "homerec.toml")
    check_filters(settings)
    (group,) = settings.personalize_groups()
    assert group.campaigns and group.recommenders and group.filters and group.solutions and group.event_trackers
    assert str(settings.s3_root) == "/srv/s3"


def test_settings_handed_to_serve_workers_come_back_the_same(tmp_path, monkeypatch):
    """`homerec serve` hands the effective settings to its workers as HOMEREC_ variables."""
    from homerec.cli.serve_cmd import _env_value

    for name in [n for n in __import__("os").environ if n.startswith("HOMEREC_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "homerec.toml"
    path.write_text('api_keys = ["k1", "k2"]\nsigv4_keys = {AK = "S/x+y"}\n' + GROUP_TOML)
    original = load_settings(path)
    for name, value in original.model_dump(mode="json", exclude_defaults=True).items():
        monkeypatch.setenv(f"HOMEREC_{name.upper()}", _env_value(value))
    again = load_settings(config_file=None)
    assert again.dataset_groups == original.dataset_groups and again.api_keys == original.api_keys
    assert again.sigv4_keys == original.sigv4_keys
